"""``explainer.sampler`` reaches every path that draws Kernel SHAP's masks: explain (plain and estimators), the
screen (and a saved screen's validity), and the bench's frontier, whose LIME cells keep LIME's own masks."""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.config import parse_config
from proxyx.errors import DataError
from proxyx.explain import instance_seed
from proxyx.explainers import make_explainer
from proxyx.perturb import Segments
from proxyx.pipeline import run_explain
from proxyx.screen import run_screen


def config(tmp_path, sampler, **explainer):
    return parse_config({
        "seed": 1, "oracle": "local/vader", "proxies": ["local/tfidf-lr"],
        "dataset": {"name": "fine_foods", "split": "test", "limit": 3, "max_words": 25},
        "task": {"labels": ["great", "other"]},
        "explainer": {"method": "kernel_shap", "samples": 64, "sampler": sampler, **explainer},
        "screen": {"enabled": True, "min_instances": 2, "max_instances": 3, "tau": 0.1},
        "cache_dir": str(tmp_path / "cache"), "max_usd": None})


def oracle_masks(report, x, sampler) -> int:
    """The distinct masks the sampler draws for instance ``x`` at the config's budget."""
    masks = make_explainer("kernel_shap", samples=64, seed=instance_seed(1, x.id), sampler=sampler).sample_masks(
        len(Segments(x.text)))
    return len({m.tobytes() for m in np.asarray(masks, dtype=bool)})


@pytest.mark.parametrize("estimator", [{}, {"estimator": "prior", "oracle_samples": 16}], ids=["plain", "prior"])
def test_explain_draws_the_configured_sampler(tmp_path, estimator):
    kernel = run_explain(config(tmp_path, "kernel", **estimator))
    leverage = run_explain(config(tmp_path, "leverage", **estimator))
    assert [e.status for e in leverage.instances] == ["ok"] * 3
    differs = [a.attribution != b.attribution for a, b in zip(kernel.instances, leverage.instances)]
    assert any(differs)  # other masks, other answers
    if not estimator:  # the plain explanation answered exactly the leverage sampler's masks
        for e in leverage.instances:
            assert e.n_evals == oracle_masks(leverage, e, "leverage")


def test_a_screen_made_with_one_sampler_is_refused_for_the_other(tmp_path):
    screen = run_screen(config(tmp_path, "kernel"))
    with pytest.raises(DataError, match="explainer.sampler"):
        run_explain(config(tmp_path, "leverage"), screen=screen)

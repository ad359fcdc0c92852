"""Adding an explainer is one class: Banzhaf values, defined here alone, work plain and with every estimator.

The Banzhaf value of a unit is its marginal contribution averaged over all
coalitions of the other units, each equally likely. By the same regression
as LIME's: the coefficients of an unweighted least-squares fit with an
intercept over uniformly random coalitions estimate them, and over every
coalition they are them exactly (the centred design is orthogonal). So the
class below declares uniform masks, unit weights and LIME's surrogate
without its ridge, registers itself through the public registry, and is
checked on real reviews with a VADER oracle and a TF-IDF proxy (their first
10 words: the exact values cost 2**10 oracle answers each). A config names it
too, by ``python:`` (the CLI imports and registers it, nothing else does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from proxyx.bench.run import grid_configs
from proxyx.cache import CallCache
from proxyx.config import parse_config
from proxyx.data import load_split
from proxyx.errors import ConfigError, DataError
from proxyx.explain import attribute, informed_attribute
from proxyx.explainers import (ESTIMATORS, EXPLAINERS, Explainer, InterceptSurrogate, make_explainer,
                               register_explainer)
from proxyx.explainers.masks import CHUNK, MaskSet, all_coalitions, max_rounds
from proxyx.ledger import Ledger
from proxyx.models import build_model
from proxyx.perturb import Segments
from proxyx.scorer import Scorer


class BanzhafExplainer(Explainer):
    """Banzhaf values by regression: uniformly random coalitions, unweighted least squares with an intercept."""

    method = "banzhaf"
    surrogate = InterceptSurrogate  # alpha = 0: plain least squares

    def _sample(self, n_units: int, rng: np.random.Generator) -> np.ndarray:
        rows = MaskSet(n_units, self.samples)
        rows.add(np.ones(n_units, dtype=bool))  # row 0: the full text, as every explainer's
        for _ in range(max_rounds(self.samples)):
            if rows.full:
                break
            rows.add_many(rng.random((CHUNK, n_units)) < 0.5)
        return rows.to_array()

    def kernel(self, masks: np.ndarray) -> np.ndarray:
        return np.ones(len(masks))


N, n = 400, 40  # the proxy's budget and the oracle's
REVIEWS, WORDS = 4, 10


@pytest.fixture(scope="module")
def banzhaf():
    register_explainer(BanzhafExplainer)
    yield BanzhafExplainer
    EXPLAINERS.pop("banzhaf")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A VADER oracle and a TF-IDF proxy through one cache and one ledger, and the first words of a few reviews
    (those whose words move VADER: on many, VADER finds no sentiment in the first words)."""
    try:
        texts = [Segments(" ".join(x.text.split()[:WORDS])) for x in load_split("fine_foods", "test")[:20]]
        train = load_split("fine_foods", "train")
    except DataError as e:  # not installed: skip, saying why
        pytest.skip(str(e))
    cfg = parse_config({"oracle": "local/vader", "proxies": ["local/tfidf-lr"], "max_usd": None,
                        "cache_dir": str(tmp_path_factory.mktemp("cache"))})
    cache, ledger = CallCache(cfg.cache_dir), Ledger()
    oracle = Scorer(build_model(cfg.oracle, cfg.task), cache=cache, ledger=ledger, role="oracle")
    proxy = Scorer(build_model(cfg.proxies[0], cfg.task, train=train), cache=cache, ledger=ledger, role="proxy")
    moving = [s for s in texts if abs(np.subtract(*oracle([s.full, ""], "explain")[:, target_of(oracle, s)])) >= 0.2]
    reviews = moving[:REVIEWS]
    assert [len(segments) for segments in reviews] == [WORDS] * REVIEWS
    yield oracle, proxy, reviews
    cache.close()


def target_of(scorer: Scorer, segments: Segments) -> int:
    return int(np.argmax(scorer([segments.full], "explain")[0]))


def answers_on_every_coalition(scorer: Scorer, segments: Segments, target: int) -> tuple[np.ndarray, np.ndarray]:
    masks = all_coalitions(len(segments))
    return masks, scorer(segments.render_many(masks), "explain")[:, target]


def exact_banzhaf(scorer: Scorer, segments: Segments, target: int) -> np.ndarray:
    """By the definition: per unit, the mean answer over the coalitions with it minus over those without."""
    masks, y = answers_on_every_coalition(scorer, segments, target)
    return np.array([y[masks[:, i]].mean() - y[~masks[:, i]].mean() for i in range(len(segments))])


def test_registered_it_is_made_by_name_and_refused_twice(banzhaf):
    assert isinstance(make_explainer("banzhaf", samples=10, seed=1), banzhaf)
    with pytest.raises(ValueError, match="already registered"):
        register_explainer(type("OtherBanzhaf", (BanzhafExplainer,), {}))


def test_over_every_coalition_the_regression_is_the_banzhaf_values(banzhaf, models):
    oracle, _, reviews = models
    for segments in reviews:
        target = target_of(oracle, segments)
        attr = attribute(oracle, segments, target, method="banzhaf", samples=2 ** len(segments), seed=0,
                         purpose="explain")
        assert attr.method == "banzhaf" and attr.n_evals == 2 ** len(segments)
        np.testing.assert_allclose(attr.values, exact_banzhaf(oracle, segments, target), rtol=0, atol=1e-10)
        _, y = answers_on_every_coalition(oracle, segments, target)
        assert attr.base_value + attr.values.sum() / 2 == pytest.approx(y.mean(), abs=1e-10)  # the intercept


def explain_all(oracle, proxy, reviews, estimator):
    """Per review: the estimate, the oracle alone at n, the oracle alone at N, the exact values, the record."""
    out = []
    for segments in reviews:
        target = target_of(oracle, segments)
        how = dict(method="banzhaf", seed=3, purpose="explain")
        if estimator == "plain":
            estimate, info, alone = attribute(oracle, segments, target, samples=n, **how), None, None
        else:
            estimate, info, alone = informed_attribute(oracle, proxy, segments, target, samples=N, oracle_samples=n,
                                                       estimator=estimator, **how)
        at_n = attribute(oracle, segments, target, samples=n, **how)
        at_big_n = attribute(oracle, segments, target, samples=N, **how)
        out.append((estimate, info, alone, at_n, at_big_n, exact_banzhaf(oracle, segments, target)))
    return out


def error(values, exact) -> float:
    return float(np.linalg.norm(values - exact))


@pytest.mark.parametrize("estimator", [pytest.param(e, id=e) for e in ("plain", *ESTIMATORS)])
def test_every_estimator_explains_with_it(banzhaf, models, estimator):
    """With a real proxy: the oracle alone at n is the plain explainer at n, the oracle is asked n masks, and
    the estimate is on average no worse than the oracle alone (beyond noise)."""
    oracle, proxy, reviews = models
    results = explain_all(oracle, proxy, reviews, estimator)
    for estimate, info, alone, at_n, _, exact in results:
        assert estimate.method == "banzhaf" and estimate.values.shape == exact.shape
        assert np.isfinite(estimate.values).all()
        if estimator == "plain":
            continue
        np.testing.assert_array_equal(alone.values, at_n.values)
        assert alone.base_value == at_n.base_value
        assert info.oracle_calls == n and info.proxy_calls >= N
    errors = np.array([error(r[0].values, r[-1]) for r in results])
    alone = np.array([error(r[3].values, r[-1]) for r in results])
    assert errors.mean() <= 1.1 * alone.mean(), (errors, alone)


@pytest.mark.parametrize("estimator", [pytest.param(e, id=e) for e in ESTIMATORS])
def test_with_the_oracle_as_proxy_each_estimator_is_about_the_oracle_at_N(banzhaf, models, estimator):
    """A proxy that is the oracle: the estimate comes close to the oracle's own explanation at N, so much
    nearer the exact values than the oracle alone at n."""
    oracle, _, reviews = models
    results = explain_all(oracle, oracle, reviews, estimator)
    errors = np.array([error(r[0].values, r[-1]) for r in results])
    at_n = np.array([error(r[3].values, r[-1]) for r in results])
    at_big_n = np.array([error(r[4].values, r[-1]) for r in results])
    gap = np.array([error(r[0].values, r[4].values) for r in results])
    assert at_big_n.mean() < 0.5 * at_n.mean(), (at_big_n, at_n)  # the budget N is worth having
    assert gap.mean() < 0.05 * at_n.mean(), (gap, at_n)
    assert errors.mean() < 0.6 * at_n.mean(), (errors, at_n)


#: this class, as a config names it (``tests/`` on ``PYTHONPATH``: ``explainers`` is this package)
BY_PYTHON = f"python:{__name__}:BanzhafExplainer"


def test_a_config_names_it_by_python_and_the_cli_explains_with_it(tmp_path, fine_foods):
    """A fresh ``python -m proxyx`` imports the class from the config alone, and explains plain and with an
    estimator (a VADER oracle, a TF-IDF proxy, two short reviews)."""
    config = {"oracle": "local/vader", "proxies": ["local/tfidf-lr"], "dataset": {"limit": 2, "max_words": 20},
              "explainer": {"method": BY_PYTHON, "samples": 128, "estimator": "prior", "oracle_samples": 32},
              "cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "report.json")}
    path = tmp_path / "banzhaf.yaml"
    path.write_text(yaml.safe_dump(config))
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), *sys.path])}
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(path), "-q", "--no-html"], capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["explainer"]["method"] == BY_PYTHON and report["summary"]["explained"] == 2
    assert [(e["status"], e["explainer"]) for e in report["instances"]] == [("ok", BY_PYTHON)] * 2
    assert all(len(e["attribution"]) == len(e["units"]) for e in report["instances"])


@pytest.mark.parametrize("method, needle", [
    pytest.param(f"python:{__name__}:N", "'N' is not a subclass of proxyx's Explainer", id="not-a-class"),
    pytest.param("python:no_such_module_xyz:Banzhaf", "cannot import 'no_such_module_xyz'", id="no-module"),
    pytest.param("banzahf", "unknown explainer 'banzahf'; use one of: .*lime, or python:", id="typo"),
])
def test_a_method_that_names_no_explainer_is_one_line(method, needle):
    with pytest.raises(ConfigError, match="explainer.method: .*" + needle) as info:
        parse_config({"oracle": "local/vader", "explainer": {"method": method}})
    assert "\n" not in str(info.value)


def test_a_bench_grid_names_it_and_gives_it_its_own_sampler():
    """``bench.methods`` takes it too; Kernel SHAP's cells draw with ``explainer.sampler``, its cells with its own
    (``Explainer.sampler_for``: what the class says, not a test on the method's name)."""
    config = parse_config({"oracle": "local/vader", "explainer": {"method": "kernel_shap", "sampler": "leverage"},
                           "bench": {"methods": ["kernel_shap", BY_PYTHON], "samples": [64]}})
    grid = grid_configs(config)
    assert {m: c.explainer.sampler for (m, _), c in grid.items()} == {"kernel_shap": "leverage", BY_PYTHON: "kernel"}

"""The free baseline: every estimate carries the oracle alone at the same n, scored like it.

Real runs: VADER is the oracle, TF-IDF + logistic regression the proxy, real
fine-food reviews; a constant ``python:`` proxy is the useless one.
"""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.config import parse_config
from proxyx.fidelity import evaluation_masks, heldout_masks
from proxyx.perturb import Segments
from proxyx.pipeline import run_explain
from proxyx.stats import paired_t
from proxyx.view.story import story

N, ORACLE_N = 300, 40


def config(tmp_path, *, method="kernel_shap", estimator="control_variate", proxies=("local/tfidf-lr",),
           samples=N, fidelity=True, reference=False, **extra):
    informed = {"oracle_samples": ORACLE_N} if estimator != "plain" else {}
    return parse_config({
        "seed": 3, "oracle": "local/vader", "proxies": list(proxies),
        "dataset": {"name": "fine_foods", "split": "test", "limit": 6, "max_words": 30},
        "task": {"labels": ["great", "other"]},
        "explainer": {"method": method, "samples": samples, "estimator": estimator, **informed},
        "fidelity": {"enabled": fidelity, "reference": reference, "heldout_samples": 60},
        "cache_dir": str(tmp_path / "cache"), "max_usd": None, **extra})


def oracle_rows(report, purpose):
    return [r for r in report.ledger if r.role == "oracle" and r.purpose == purpose]


@pytest.mark.parametrize("method", [pytest.param("lime", id="lime"), pytest.param("kernel_shap", id="kernel_shap")])
def test_the_baseline_is_the_plain_explainer_at_n_and_costs_no_oracle_call(tmp_path, fine_foods, method):
    informed = run_explain(config(tmp_path / "a", method=method, fidelity=False))
    plain = run_explain(config(tmp_path / "b", method=method, estimator="plain", proxies=(), samples=ORACLE_N,
                               fidelity=False))
    assert [e.role for e in plain.instances] == ["oracle"] * 6
    for e, alone in zip(informed.instances, plain.instances, strict=True):
        assert e.role == "estimator" and e.baseline.samples == ORACLE_N
        # same masks, same answers, the same fit in closed form: equal up to rounding
        np.testing.assert_allclose(e.baseline.attribution, alone.attribution, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(e.baseline.base_value, alone.base_value, rtol=1e-9, atol=1e-12)
        assert e.baseline.q_estimate is None and e.fidelity is None  # nothing scored without fidelity.enabled
    # The baseline asked the oracle nothing: its calls are the estimator's n masks and the labels, as plain at n
    assert {r.purpose for r in informed.ledger if r.role == "oracle"} == {"gate", "explain"}
    for purpose in ("gate", "explain"):
        ours, theirs = oracle_rows(informed, purpose), oracle_rows(plain, purpose)
        assert sum(r.cost.nominal.calls for r in ours) == sum(r.cost.nominal.calls for r in theirs) > 0
    assert sum(r.cost.nominal.calls for r in oracle_rows(informed, "explain")) == sum(
        e.estimator.oracle_calls for e in informed.instances)
    assert informed.baseline.aopc is None and informed.baseline.instances == 6
    assert story(informed)[0].startswith("Each control variate explanation also carries the oracle alone")


def test_the_baseline_is_scored_like_the_estimate_with_or_without_the_reference(tmp_path, fine_foods):
    alone = run_explain(config(tmp_path / "a"))
    full = run_explain(config(tmp_path / "b", reference=True))
    assert all(e.oracle_attribution is None and e.fidelity is None for e in alone.instances)
    assert alone.crr.estimated and not full.crr.estimated
    for a, f in zip(alone.instances, full.instances, strict=True):
        assert a.baseline == f.baseline  # the reference at N changes neither explanation nor their scores
        # the estimate's scores are the ones its comparison with the oracle at N uses
        assert f.baseline.q_estimate == f.fidelity.q_proxy
        assert f.baseline.local_fidelity_estimate == f.fidelity.local_fidelity_proxy
        assert a.baseline.q_baseline.k == a.baseline.q_estimate.k  # same deletion scheme
    # one batch scores the estimate and the baseline: each distinct text is asked, and counted, once
    (evaluate,) = oracle_rows(alone, "evaluate")
    assert evaluate.cost.nominal.calls == sum(len(scoring_texts(e, heldout=60)) for e in alone.instances)


def scoring_texts(e, *, heldout: int) -> set[str]:
    """The texts scoring an instance's estimate and baseline asks the oracle about."""
    segments = Segments(e.text)
    masks = [evaluation_masks(np.array(v), 0.2, seed=e.seed) for v in (e.attribution, e.baseline.attribution)]
    masks.append(heldout_masks(e.explainer, len(e.units), samples=heldout, seed=e.seed))
    return {t for m in masks for t in segments.render_many(m)}


def test_the_summary_pairs_the_instances(tmp_path, fine_foods):
    report = run_explain(config(tmp_path))
    b = report.baseline
    assert (b.estimator, b.oracle_samples, b.instances) == ("control_variate", ORACLE_N, 6)
    rows = [e.baseline for e in report.instances]
    for paired, est, base in ((b.aopc, [r.q_estimate.aopc for r in rows], [r.q_baseline.aopc for r in rows]),
                              (b.local_fidelity, [r.local_fidelity_estimate for r in rows],
                               [r.local_fidelity_baseline for r in rows])):
        iv = paired_t(est, base)
        assert (paired.n, paired.difference, paired.low, paired.high) == (iv.n, iv.estimate, iv.low, iv.high)
        expected = "better" if iv.low > 0 else "worse" if iv.high < 0 else "no_difference"
        assert paired.verdict == expected
    first = story(report)[0]
    assert first.startswith("With the proxy, the control variate estimator's explanations score AOPC")
    assert f"the oracle alone at the same {ORACLE_N} calls per instance" in first and "95% CI" in first


def test_a_useless_proxy_is_said_not_to_help(tmp_path, fine_foods, monkeypatch):
    (tmp_path / "flat_proxy.py").write_text("import numpy as np\n\ndef half(texts):\n"
                                            "    return np.full((len(texts), 2), 0.5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = run_explain(config(tmp_path, proxies=({"model": "python:flat_proxy:half", "alias": "flat"},)))
    b = report.baseline
    assert b.identical == b.instances == 6  # a constant carries no information: the estimate is the baseline
    assert b.aopc.difference == 0 and b.aopc.verdict == "no_difference"
    assert story(report)[0].endswith("no measurable difference on these instances, so the proxy did not help here.")

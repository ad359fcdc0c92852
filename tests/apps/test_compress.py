import numpy as np
import pytest

from proxyx.apps import CompressReport, run_compress
from proxyx.apps.compress import nested_masks, removal_counts
from proxyx.apps.curves import best_point, order_by
from proxyx.apps.results import CurvePoint
from proxyx.session import open_session


@pytest.mark.parametrize("n, unit, steps, expected", [
    pytest.param(4, "demonstration", 10, [0, 1, 2, 3, 4], id="one-demonstration-a-step"),
    pytest.param(20, "word", 4, [0, 5, 10, 15, 20], id="quarters"),
    pytest.param(3, "word", 10, [0, 1, 2, 3], id="fewer-units-than-steps"),
])
def test_removal_counts(n, unit, steps, expected):
    assert removal_counts(n, unit, steps) == expected


def test_nested_masks_remove_a_growing_prefix_of_the_order():
    order = [2, 0, 3, 1]
    masks = nested_masks(order, [0, 1, 2, 4])
    assert [m.tolist() for m in masks] == [[True] * 4, [True, True, False, True], [False, True, False, True],
                                           [False] * 4]
    for before, after in zip(masks, masks[1:]):
        assert not np.any(after & ~before)  # each step keeps a subset of the previous one


def test_order_by_puts_least_important_first_ties_in_unit_order():
    assert order_by([0.3, -0.1, 0.3, 0.0]) == [1, 3, 0, 2]


def _points(accs, fracs=None):
    fracs = fracs or [i / (len(accs) - 1) for i in range(len(accs))]
    return [CurvePoint(removed_units=i, prompt_tokens=100 - int(100 * f), removed_fraction=f, accuracy=a)
            for i, (a, f) in enumerate(zip(accs, fracs))]


@pytest.mark.parametrize("accs, keep, expected", [
    pytest.param([0.8, 0.78, 0.75, 0.6, 0.5], 0.9, 2, id="monotone"),
    pytest.param([0.8, 0.7, 0.6, 0.75, 0.5], 0.9, 3, id="recovers-after-a-dip"),
    pytest.param([0.8, 0.72, 0.71], 0.9, 1, id="exactly-at-the-threshold-counts"),
    pytest.param([0.8, 0.5, 0.4], 0.9, 0, id="nothing-can-go"),
    pytest.param([0.5, 0.6, 0.7], 0.9, 2, id="removal-helps"),
])
def test_best_point_reads_the_threshold(accs, keep, expected):
    points = _points(accs)
    assert best_point(points, accs[0], keep).removed_units == expected


def test_run_compress_end_to_end(app_config, tmp_path):
    cfg = app_config()
    report = run_compress(cfg, out_dir=tmp_path / "run")
    n = len(report.demonstrations)
    assert report.units == [s.text for s in report.demonstrations]
    methods = [c.method for c in report.curves]
    assert methods.count("random") == 3 and "oracle" in methods and "proxy:incontext-b8" in methods
    for c in report.curves:
        assert [p.removed_units for p in c.points] == list(range(n + 1))
        fracs = [p.removed_fraction for p in c.points]
        assert fracs[0] == 0 and all(b > a for a, b in zip(fracs, fracs[1:]))  # monotone bookkeeping
        assert c.points[0].accuracy == report.base_accuracy
        assert sorted(c.order) == list(range(n))
        assert c.best.accuracy >= report.keep * report.base_accuracy
        assert c.best == best_point(c.points, report.base_accuracy, report.keep)
    rand = report.method("random")
    assert rand.interval.values == [c.best.removed_fraction for c in report.curves if c.method == "random"]
    assert report.proxy_vs_oracle["proxy:incontext-b8"] == pytest.approx(
        report.method("proxy:incontext-b8").removed_fraction / report.method("oracle").removed_fraction)
    prompt = (tmp_path / "run" / "prompt.oracle.txt").read_text()
    assert prompt.endswith("Review: {text}\nSentiment:")
    oracle = next(c for c in report.curves if c.method == "oracle")
    assert sum(s.text in prompt for s in report.demonstrations) == n - oracle.best.removed_units
    assert (tmp_path / "run" / "compress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = CompressReport.load(tmp_path / "run" / "compress.json")
    assert loaded.summary == report.summary

    again = run_compress(cfg, out_dir=tmp_path / "run2")
    assert sum(row.cost.paid.nano_usd for row in again.ledger) == 0
    for a, b in zip(again.summary, report.summary):
        assert (a.method, a.removed_fraction, a.accuracy) == (b.method, b.removed_fraction, b.accuracy)
        assert a.cost is None or (a.cost.nominal.calls, a.cost.nominal.nano_usd) == (b.cost.nominal.calls, b.cost.nominal.nano_usd)


def test_word_units_compress(app_config, tmp_path):
    cfg = app_config(compress={"unit": "word", "steps": 4, "validation": 2, "test": 10, "methods": ["random", "oracle"],
                                  "random_seeds": 2})
    report = run_compress(cfg, out_dir=tmp_path / "w")
    n_words = sum(len(s.text.split()) for s in report.demonstrations)
    assert len(report.units) == n_words
    oracle = next(c for c in report.curves if c.method == "oracle")
    assert [p.removed_units for p in oracle.points] == removal_counts(n_words, "word", 4)
    assert oracle.points[-1].removed_fraction > 0.5


def test_informed_ranking_uses_few_oracle_answers(app_config, tmp_path):
    cfg = app_config(explainer={"method": "kernel_shap", "samples": 64, "estimator": "prior", "oracle_samples": 16},
                     compress={"methods": ["oracle", "informed"], "validation": 3, "test": 10})
    report = run_compress(cfg, out_dir=tmp_path / "i")
    informed = report.method("informed:incontext-b8")
    oracle = report.method("oracle")
    n = report.n_validation
    assert oracle.oracle_cost.nominal.calls == n * 64 + n  # every subset of 6 demonstrations, plus the labels
    assert informed.oracle_cost.nominal.calls == n * 16 + n  # 16 oracle answers per instance
    assert informed.cost.nominal.calls > informed.oracle_cost.nominal.calls  # and the proxy's
    assert "informed:incontext-b8" in report.proxy_vs_oracle
    # the oracle alone at the same 16 answers: the informed route's free baseline, ranked from them
    alone = report.method("oracle_at_n")
    assert alone.oracle_cost == informed.oracle_cost and alone.cost == alone.oracle_cost
    (a,) = [c for c in report.curves if c.method == "oracle_at_n"]
    assert a.order == order_by(baseline_values(cfg, report).mean(axis=0))


def baseline_values(cfg, report) -> np.ndarray:
    """The plain explainer at oracle_samples on each validation instance, asked afresh (from the cache)."""
    from proxyx.apps.demos import demonstrations, instances, with_shots
    from proxyx.apps.scoring import explain_all, open_prompt_session, probabilities

    shots = demonstrations(cfg)
    task, unit = with_shots(cfg.task, shots), cfg.compress.unit
    validation, _ = instances(cfg, shots, cfg.compress.validation, cfg.compress.test)
    plain = cfg.model_copy(update={"explainer": cfg.explainer.model_copy(update={"samples": 16})})
    session = open_prompt_session(cfg, task, unit)
    try:
        full = np.ones(len(session.segments("")), dtype=bool)
        labels = probabilities(session.oracle, task, unit, validation, [full], "predict")[0].argmax(axis=1)
        return explain_all(session, session.oracle, validation, labels.tolist(), config=plain).values
    finally:
        session.close()


INPUT = {"oracle": "local/tfidf-lr", "proxies": ["local/vader"], "dataset": {"max_words": 200},
         "explainer": {"method": "kernel_shap", "samples": 32, "estimator": "prior", "oracle_samples": 8},
         "compress": {"target": "input", "unit": "sentence", "min_units": 5, "test": 8, "steps": 4,
                      "methods": ["random", "proxy", "informed", "oracle"], "random_seeds": 2}}


def test_input_target_compresses_each_input_by_its_own_explanation(app_config, tmp_path):
    cfg = app_config(**INPUT)
    report = run_compress(cfg, out_dir=tmp_path / "in")
    assert report.target == "input" and report.n_test == len(report.inputs) == 8
    assert [c.method for c in report.curves] == ["oracle", "proxy:local/vader", "informed:local/vader", "oracle_at_n",
                                                "random", "random"]
    for x in report.inputs:
        assert len(x.units) >= 5
        assert all(sorted(o) == list(range(len(x.units))) for o in x.orders.values())
    session = open_session(cfg)  # the same oracle, asked again (from the cache) on the compressed inputs
    try:
        labels = list(cfg.task.labels)
        for c in report.curves:
            fracs = [p.removed_fraction for p in c.points]
            assert len(fracs) == 5 and fracs[0] == 0 and fracs[-1] == 1
            assert all(b >= a for a, b in zip(fracs, fracs[1:]))  # each step removes a superset
            assert c.points[0].accuracy == report.base_accuracy
            key = "random:" + str(c.seed) if c.method == "random" else c.method
            step = c.points.index(c.best)
            texts = [" ".join(u for i, u in enumerate(x.units)
                              if i not in x.orders[key][:round(step * len(x.units) / 4)]) for x in report.inputs]
            pred = session.oracle(texts, "check").argmax(axis=1)
            assert c.best.accuracy == pytest.approx(np.mean([labels[p] == x.label for p, x in zip(pred, report.inputs)]))
        assert sum(r.cost.paid.calls for r in session.ledger.rows()) == 0
    finally:
        session.close()
    informed, oracle = report.method("informed:local/vader"), report.method("oracle")
    assert informed.oracle_cost.nominal.calls == 8 * 8 + 8  # 8 oracle answers per input, and its label
    assert oracle.oracle_cost.nominal.calls > informed.oracle_cost.nominal.calls
    assert -1 <= report.method("proxy:local/vader").spearman_to_oracle <= 1
    assert CompressReport.load(tmp_path / "in" / "compress.json").inputs == report.inputs
    again = run_compress(cfg, out_dir=tmp_path / "in2")
    assert sum(row.cost.paid.nano_usd for row in again.ledger) == 0
    assert [(m.method, m.removed_fraction) for m in again.summary] == [(m.method, m.removed_fraction)
                                                                       for m in report.summary]

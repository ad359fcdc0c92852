"""Cost and fidelity accounting bugs of issue 19 §1, each pinned by a test that failed before its fix.

Real local models: VADER as the oracle, VADER under another name, TF-IDF
and a lexicon function (``python:user_models:lexicon``) as proxies.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from proxyx.bench.run import run_bench
from proxyx.bench.summary import pipeline_entry
from proxyx.config import UNSET, apply_overrides, parse_config
from proxyx.errors import ConfigError
from proxyx.pipeline import run_explain
from proxyx.results import InstanceResult
from proxyx.screen import run_screen, screen_validity
from proxyx.session import open_session

USER_MODELS = Path(__file__).parent / "models"  # python:user_models:lexicon

#: the oracle pays $1 per million word tokens; the proxies are free
PRICED = {"input_per_mtok": 1.0}
FREE = {"input_per_mtok": 0.0}


def settings(tmp_path: Path, **blocks) -> dict:
    base = {"oracle": {"model": "local/vader", "price": PRICED},
            "proxies": [{"model": "local/vader", "alias": "vader-twin", "price": FREE}],
            "dataset": {"name": "fine_foods", "limit": 3, "max_words": 30},
            "explainer": {"method": "lime", "samples": 24},
            "screen": {"min_instances": 2, "max_instances": 3},
            "cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "report.json")}
    return {**base, **blocks}


def cached_calls(tmp_path: Path) -> int:
    path = tmp_path / "cache" / "calls.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]


# ----------------------------------------------------------------------------- 1. the oracle's label in the CRR


@pytest.mark.parametrize("proxies", [
    pytest.param([{"model": "local/tfidf-lr", "price": FREE}], id="tfidf-proxy"),
    pytest.param([], id="oracle-alone"),
])
def test_the_crr_in_dollars_counts_the_oracles_label(tmp_path, fine_foods, proxies):
    """Free proxies and an oracle priced per token: CRR in dollars is CRR in oracle tokens, exactly."""
    config = parse_config(settings(tmp_path, proxies=proxies, fidelity={"enabled": True, "heldout_samples": 10}))
    report = run_explain(config)
    assert report.status == "complete"
    for e in report.instances:
        c = e.cost
        assert c.with_proxy.nominal.nano_usd == c.with_proxy_oracle.nominal.nano_usd  # only the oracle is paid
        assert c.with_proxy.nominal.calls >= c.with_proxy_oracle.nominal.calls
        assert c.with_proxy_oracle.nominal.calls >= 1  # the oracle's label, at least
    assert report.crr.usd == pytest.approx(report.crr.tokens, rel=1e-12)


# ----------------------------------------------------------------------------- 2. bench


def bench_settings(tmp_path: Path, bench: dict) -> dict:
    return settings(tmp_path, explainer={"method": "lime", "samples": 24, "estimator": "control_variate",
                                         "oracle_samples": 16}, bench=bench)


def test_overrides_can_unset_a_field(tmp_path):
    config = parse_config(bench_settings(tmp_path, {}))
    plain = apply_overrides(config, **{"explainer.estimator": "plain", "explainer.oracle_samples": UNSET})
    assert (plain.explainer.estimator, plain.explainer.oracle_samples) == ("plain", None)
    assert apply_overrides(config, **{"explainer.oracle_samples": None}).explainer.oracle_samples == 16  # None keeps


def test_bench_on_an_estimator_config_runs_the_grid_plain(tmp_path):
    """A budget below the config's oracle_samples used to raise after the larger budget was paid."""
    config = parse_config(bench_settings(tmp_path, {"proxies": ["vader-twin"], "methods": ["lime"],
                                                    "samples": [24, 8]}))
    report = run_bench(config)
    assert report.status == "complete" and len(report.cells) == 2
    for cell in report.cells:
        assert {d.explained_by for d in cell.instances_detail} <= {"vader-twin", "local/vader"}
        assert cell.proxy_only.fidelity.n == cell.proxy_only.explained_by_proxy  # proxy-explained instances only


@pytest.mark.parametrize("bench, needle", [
    pytest.param({"samples": [24], "oracle_ladder": [8, 16], "oracle_samples": [8, 48], "proxy_samples": 32},
                 "bench.oracle_samples", id="oracle-above-proxy-samples"),
])
def test_every_budget_of_a_bench_is_checked_before_anything_is_paid(tmp_path, bench, needle):
    config = parse_config(bench_settings(tmp_path, {"proxies": ["vader-twin"], "methods": ["lime"], **bench}))
    with pytest.raises(ConfigError, match=needle):
        run_bench(config)
    assert cached_calls(tmp_path) == 0


def entry(role: str | None) -> InstanceResult:
    return InstanceResult(id="x", text="t", role=role)


def test_pipeline_entry_handles_every_role_and_refuses_others():
    proxy, oracle = entry("proxy"), entry("oracle")
    assert pipeline_entry(proxy, oracle, accepted=True) is proxy
    assert pipeline_entry(proxy, oracle, accepted=False) is oracle
    for role in ("estimator", None):
        with pytest.raises(ValueError, match="role"):
            pipeline_entry(entry(role), oracle, accepted=True)


# ----------------------------------------------------------------------------- 3. a saved screen


def validity(config: dict):
    session = open_session(parse_config(config))
    try:
        return screen_validity(session)
    finally:
        session.close()


@pytest.mark.parametrize("change, needle", [
    pytest.param({"explainer": {"method": "lime", "samples": 24, "unit": "sentence"}}, "explainer.unit", id="unit"),
    pytest.param({"fidelity": {"k_fraction": 0.5}}, "fidelity.k_fraction", id="k_fraction"),
    pytest.param({"screen": {"metric": "local_fidelity"}, "fidelity": {"heldout_samples": 50}},
                 "fidelity.heldout_samples", id="heldout-local-fidelity"),
])
def test_a_saved_screen_is_refused_for_a_run_it_was_not_made_for(tmp_path, change, needle):
    made = settings(tmp_path, screen={"metric": change.get("screen", {}).get("metric", "aopc")})
    why = validity(made).mismatch(validity({**made, **change}), ["vader-twin"])
    assert needle in (why or "")


def test_held_out_masks_do_not_matter_to_an_aopc_screen(tmp_path):
    made = validity(settings(tmp_path))
    assert made.mismatch(validity(settings(tmp_path, fidelity={"heldout_samples": 50})), ["vader-twin"]) is None


def test_a_saved_screen_an_estimator_does_not_use_is_not_charged(tmp_path, fine_foods):
    estimator = {"method": "lime", "samples": 24, "estimator": "control_variate", "oracle_samples": 16}
    screen = run_screen(parse_config(settings(tmp_path)))
    assert screen.cost.nominal.calls > 0
    config = parse_config(settings(tmp_path, explainer=estimator))
    used = run_explain(config, screen=screen)
    alone = run_explain(config)
    assert used.screen is None and used.crr.screen is None
    assert used.crr == alone.crr
    assert any("not used" in n for n in used.notes)


# ----------------------------------------------------------------------------- 4. undefined local fidelity

#: three texts with words of the lexicon (a local fidelity) and two without (the oracle is constant on them)
TEXTS = ["A great and tasty snack, the best I have had.", "Stale, bland and awful, a waste of money.",
         "Plain crackers in a brown box with a blue label.", "Delicious and perfect, my favorite tea.",
         "Arrived on a Tuesday in a cardboard carton."]


def test_an_undefined_local_fidelity_stays_undefined_in_the_screen(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(USER_MODELS))
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    config = parse_config(settings(
        tmp_path, oracle="python:user_models:lexicon",
        proxies=[{"model": "python:user_models:lexicon", "alias": "lexicon-twin"}],
        dataset={"path": str(data), "limit": 1}, explainer={"method": "kernel_shap", "samples": 32},
        screen={"metric": "local_fidelity", "min_instances": 5, "max_instances": 5},
        fidelity={"heldout_samples": 20}))
    (p,) = run_screen(config).proxies
    undefined = [i for i in p.instances if i.local_fidelity_oracle is None]
    assert undefined and all(i.d is None for i in undefined)
    assert p.undefined == len(undefined) and p.n == len(p.instances) - len(undefined)
    assert all(i.d is not None for i in p.instances if i.local_fidelity_oracle is not None)

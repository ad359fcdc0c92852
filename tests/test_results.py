"""Typed results: arithmetic, saving and loading, what a screening result is valid for, the generated schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from proxyx.errors import DataError
from proxyx.results import (BenchReport, Comparison, Cost, ExplainReport, ExplainSummary, InstanceCost, InstanceResult,
                            LedgerRow, OracleLabel, ProxyScreen, ScreenResult, ScreenValidity, Spend, nano,
                            schema_markdown, total)

ROOT = Path(__file__).parents[1]
VALID = ScreenValidity(oracle="f" * 64, task="t" * 64, method="lime", samples=64, unit="word", tau=0.9, k_fraction=0.2,
                       proxies={"local/vader": "v" * 64, "local/tfidf-lr": "l" * 64})


def test_nano_dollars_keep_a_local_proxys_price():
    assert nano(3e-7) == 300  # micro-dollars would make it 0
    s = Spend(calls=1, tokens=30, nano_usd=nano(3e-7))
    assert s.usd == 3e-7 and total([s] * 1000).usd == pytest.approx(3e-4, rel=0, abs=1e-18)


def test_spend_and_cost_arithmetic():
    a = Spend(calls=2, tokens=10, nano_usd=7, seconds=0.1)
    b = Spend(calls=1, tokens=5, nano_usd=3, seconds=0.2)
    assert a + b == Spend(calls=3, tokens=15, nano_usd=10, seconds=0.3)  # seconds rounded: 0.1 + 0.2 == 0.3
    assert (a + b) - b == a
    c = Cost(paid=a, nominal=a + b, hits=1, failures=2)
    assert c + c - c == c and (c + Cost()).nominal.calls == 3
    with pytest.raises(Exception):
        a.calls = 5  # frozen


def test_usd_is_written_for_readers_and_ignored_on_load():
    s = Spend(calls=1, nano_usd=1500)
    d = s.model_dump()
    assert d["usd"] == 1.5e-6
    assert Spend.model_validate(d) == s
    assert Spend.model_validate({**d, "usd": 99.0}) == s  # derived: the integer is what counts


def instance(i: int, **kw) -> InstanceResult:
    c = Cost(paid=Spend(calls=3, tokens=30, nano_usd=300), nominal=Spend(calls=5, tokens=50, nano_usd=500), hits=2)
    cost = InstanceCost(gate=c, explanation=c, evaluation=Cost(), all_oracle=c + c, estimated=True, with_proxy=c + c,
                        with_proxy_oracle=c)
    return InstanceResult(id=f"r{i}", text="good tea", gold_label="great", units=["good", "tea"], explainer="lime",
                          samples=8, seed=i, oracle=OracleLabel(label="great", probs={"great": 0.9, "other": 0.1}),
                          explained_by="local/vader", role="proxy", attribution=[0.5, 0.1], base_value=0.3,
                          full_value=0.9, n_evals=4, cost=cost, **kw)


def explain_report(n: int = 2) -> ExplainReport:
    return ExplainReport(created="2025-01-01T00:00:00+00:00", status="complete", seed=0, versions={"proxyx": "0.1.0"},
                         config={"seed": 0}, summary=ExplainSummary(instances=n, explained=n, failed=0,
                                                                    explained_by={"local/vader": n}, wall_time_s=1.0),
                         ledger=[LedgerRow(model="m", role="oracle", purpose="gate", cost=Cost(hits=1))],
                         instances=[instance(i) for i in range(n)])


def screen_result() -> ScreenResult:
    return ScreenResult(valid_for=VALID, config={"screen": {"tau": 0.9, "confidence": 0.99}},
                        proxies=[ProxyScreen(proxy="local/tfidf-lr", decision="rejected_futility", n=5),
                                 ProxyScreen(proxy="local/vader", decision="accepted", n=6,
                                             cost={"m": Cost(nominal=Spend(calls=4, nano_usd=8))})])


@pytest.mark.parametrize("doc", [pytest.param(explain_report, id="explain"), pytest.param(screen_result, id="screen")])
def test_documents_round_trip_through_a_file(tmp_path, doc):
    original = doc()
    path = original.save(tmp_path / "out" / "doc.json")
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == type(original).SCHEMA
    assert type(original).load(path) == original


def test_instance_entries_keep_their_json_names():
    """The names viewers read (docs/report-schema.md); a rename must be deliberate."""
    entry = explain_report().to_dict()["instances"][0]
    assert list(entry) == ["id", "text", "gold_label", "units", "explainer", "samples", "seed", "oracle", "gate",
                           "explained_by", "role", "attribution", "standard_errors", "base_value", "full_value",
                           "n_evals", "fidelity", "oracle_attribution", "oracle_standard_errors", "estimator",
                           "baseline", "adaptive", "cost", "status", "error"]
    assert list(entry["cost"]) == ["gate", "explanation", "evaluation", "all_oracle", "estimated", "with_proxy",
                                   "with_proxy_oracle"]
    assert entry["cost"]["all_oracle"]["nominal"] == {"calls": 10, "tokens": 100, "nano_usd": 1000, "seconds": 0.0,
                                                      "usd": 1e-6}
    assert set(Comparison.model_fields) == {"q_proxy", "q_oracle", "fidelity", "agreement", "local_fidelity_proxy",
                                            "local_fidelity_oracle"}


def test_screen_result_derives_accepted_and_cost():
    d = screen_result().to_dict()
    assert d["accepted"] == ["local/vader"] and d["cost"]["nominal"]["calls"] == 4
    assert d["valid_for"]["metric"] == "aopc"


@pytest.mark.parametrize("write, needle", [
    pytest.param(None, "does not exist", id="missing"),
    pytest.param(b'{"schema": "proxyx.screen/2", ', "is not valid JSON (line 1", id="truncated-json"),
    pytest.param(b"\xff\xfe{}", "cannot be read (UnicodeDecodeError", id="not-utf8"),
    pytest.param(b"[1, 2]", "not a proxyx document", id="a-list"),
    pytest.param(b'{"schema": "proxyx.report/2"}', "is a proxyx.report/2 document, not proxyx.screen/2", id="other-schema"),
    pytest.param(b'{"schema": "proxyx.screen/1", "proxies": []}', "is a proxyx.screen/1 document", id="old-version"),
    pytest.param(b'{"schema": "proxyx.screen/2", "config": {}}', "valid_for: required key is missing", id="missing-key"),
])
def test_loading_a_bad_file_is_one_line(tmp_path, write, needle):
    path = tmp_path / "s.json"
    if write is not None:
        path.write_bytes(write)
    with pytest.raises(DataError) as e:
        ScreenResult.load(path, hint="write one with 'proxyx screen CONFIG --out FILE'")
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and msg.endswith("write one with 'proxyx screen CONFIG --out FILE'")


def test_a_malformed_field_names_where(tmp_path):
    doc = screen_result().to_dict()
    doc["proxies"][1]["n"] = "many"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"proxies\.1\.n: must be a whole number, got 'many'"):
        ScreenResult.load(path)


@pytest.mark.parametrize("change, needle", [
    pytest.param({"samples": 1000}, "explainer.samples=64, this run uses 1000", id="samples"),
    pytest.param({"method": "kernel_shap"}, "explainer.method=lime, this run uses kernel_shap", id="method"),
    pytest.param({"tau": 0.8}, "screen.tau=0.9, this run uses 0.8", id="tau"),
    pytest.param({"metric": "local_fidelity"}, "the screen metric=aopc", id="metric"),
    pytest.param({"unit": "sentence"}, "explainer.unit=word, this run uses sentence", id="unit"),
    pytest.param({"k_fraction": 0.5}, "fidelity.k_fraction=0.2, this run uses 0.5", id="k_fraction"),
    pytest.param({"heldout_samples": 50}, "fidelity.heldout_samples=None, this run uses 50", id="heldout"),
    pytest.param({"oracle": "0" * 64}, "another oracle", id="oracle"),
    pytest.param({"task": "0" * 64}, "another task block", id="task"),
    pytest.param({"proxies": {**VALID.proxies, "local/vader": "0" * 64}}, "another model under the proxy name 'local/vader'",
                 id="accepted-proxy-changed"),
])
def test_a_screen_made_for_another_run_is_refused(change, needle):
    run = VALID.model_copy(update=change)
    with pytest.raises(DataError) as e:
        screen_result().check_valid_for(run, "configs/x.yaml")
    assert needle in str(e.value) and str(e.value).endswith("re-run 'proxyx screen configs/x.yaml'")


@pytest.mark.parametrize("change", [
    pytest.param({}, id="same"),
    pytest.param({"proxies": {**VALID.proxies, "local/tfidf-lr": "0" * 64}}, id="rejected-proxy-changed"),
    pytest.param({"proxies": {"local/vader": "v" * 64, "other": "o" * 64}}, id="pool-grew"),
])
def test_a_screen_made_for_this_run_is_accepted(change):
    screen_result().check_valid_for(VALID.model_copy(update=change))


def test_a_screen_from_before_unit_and_k_fraction_were_recorded_is_refused():
    old = screen_result().model_copy(update={"valid_for": VALID.model_copy(update={"unit": None, "k_fraction": None})})
    with pytest.raises(DataError, match="older proxyx, which did not record explainer.unit; re-run"):
        old.check_valid_for(VALID)


def test_bench_report_without_cells_loads(tmp_path):
    doc = BenchReport(created="x", status="running", seed=0, versions={}, config={}, oracle="o", proxies=["p"],
                      instances=3, screen_pool=10)
    assert BenchReport.load(doc.save(tmp_path / "bench.json")) == doc


def test_schema_doc_is_generated_from_the_models():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_report_schema import DOC, generated_section
    finally:
        sys.path.pop(0)
    assert generated_section(DOC.read_text(encoding="utf-8")) == schema_markdown(), (
        "docs/report-schema.md is out of date: run .venv/bin/python scripts/gen_report_schema.py")


def test_schema_script_finds_a_stale_doc_and_regenerates_it(tmp_path):
    script = [sys.executable, str(ROOT / "scripts" / "gen_report_schema.py"), "--doc", str(tmp_path / "doc.md")]
    text = (ROOT / "docs" / "report-schema.md").read_text(encoding="utf-8")
    stale = text.replace('"InstanceResult": {', '"InstanceResult": {"stale": 1, ', 1)
    assert stale != text
    (tmp_path / "doc.md").write_text(stale, encoding="utf-8")
    p = subprocess.run(script + ["--check"], capture_output=True, text=True)
    assert p.returncode == 1 and "scripts/gen_report_schema.py" in p.stderr
    assert subprocess.run(script, capture_output=True).returncode == 0
    assert (tmp_path / "doc.md").read_text(encoding="utf-8") == text  # prose kept, schema regenerated
    assert subprocess.run(script + ["--check"]).returncode == 0

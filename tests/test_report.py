"""Building the explain document (``report.explain_report``)."""

from __future__ import annotations

import pytest

from proxyx.config import parse_config
from proxyx.report import explain_report, versions
from proxyx.results import (Cost, ExplainReport, InstanceCost, InstanceResult, ProxyScreen, ScreenResult, ScreenValidity,
                            Spend)

CONFIG = parse_config({"oracle": "local/vader", "proxies": [{"model": "local/vader", "alias": "twin"}]})


def entry(i: int, by: str, status: str = "ok") -> InstanceResult:
    if status == "failed":
        return InstanceResult(id=f"r{i}", text="t", status="failed", error="CallFailed: 500")
    c = Cost(nominal=Spend(calls=10, tokens=100, nano_usd=1000))
    gate = Cost(nominal=Spend(calls=1, tokens=10, nano_usd=100))
    cost = InstanceCost(gate=gate, explanation=c, evaluation=Cost(), all_oracle=c + gate, estimated=False,
                        with_proxy=c + gate, with_proxy_oracle=gate)
    return InstanceResult(id=f"r{i}", text="t", explained_by=by, role="proxy", cost=cost)


def screen() -> ScreenResult:
    valid = ScreenValidity(oracle="o", task="t", method="lime", samples=8, tau=0.9)
    oracle_cost = Cost(paid=Spend(calls=2), nominal=Spend(calls=33, tokens=330, nano_usd=3300))
    twin_cost = Cost(nominal=Spend(calls=30, tokens=300, nano_usd=30))
    return ScreenResult(valid_for=valid, config={}, proxies=[
        ProxyScreen(proxy="twin", decision="accepted", cost={"local/vader": oracle_cost, "twin": twin_cost})])


def test_summary_and_crr_count_the_screen():
    report = explain_report(CONFIG, [entry(0, "twin"), entry(1, "twin"), entry(2, "", "failed")], screen=screen(),
                            ledger=[], status="complete_with_failures", stop_reason=None, wall_time_s=2.0, flags={})
    s = report.summary
    assert (s.instances, s.explained, s.failed, s.explained_by) == (3, 2, 1, {"twin": 2})
    # Oracle calls: 2 gates + the screen's 33 (the twin's calls are the proxy's); dollars: every model.
    assert report.crr.with_proxies == Spend(calls=2 + 33, tokens=20 + 330, nano_usd=2 * 1100 + 3330)
    assert report.crr.calls == pytest.approx(22 / 35)
    assert report.crr.screen == Spend(calls=63, tokens=630, nano_usd=3330)
    assert report.fidelity is None and report.status == "complete_with_failures"
    assert report.config["oracle"]["model"] == "local/vader" and report.versions == versions()


def test_nothing_explained_has_no_crr(tmp_path):
    report = explain_report(CONFIG, [entry(0, "", "failed")], screen=None, ledger=[], status="complete_with_failures",
                            stop_reason=None, wall_time_s=0.0, flags={})
    assert report.crr is None and report.summary.explained_by == {}
    assert ExplainReport.load(report.save(tmp_path / "r.json")) == report


def test_a_single_data_file_is_noted(tmp_path):
    cfg = parse_config({"oracle": "local/vader", "proxies": ["local/tfidf-lr"], "dataset": {"path": str(tmp_path / "d.jsonl")}})
    report = explain_report(cfg, [], screen=None, ledger=[], status="complete", stop_reason=None, wall_time_s=0.0, flags={})
    (note,) = report.notes
    assert "dataset.path is one file" in note and "local/tfidf-lr" in note
    assert explain_report(CONFIG, [], screen=None, ledger=[], status="complete", stop_reason=None, wall_time_s=0.0,
                          flags={}).notes == []

"""Faults while screening and explaining: a model failure, the budget, a dead proxy (issue 9, part 6).

Real local models (VADER as the oracle and a renamed VADER as the healthy
proxy); the faults are ``python:`` proxies whose callable raises, the only
way to make a local model fail on demand. The CLI runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from proxyx.config import parse_config
from proxyx.pipeline import run_explain
from proxyx.screen import run_screen
from proxyx.session import open_session

USER_MODELS = Path(__file__).parent / "models"  # python:user_models:raises, a callable that always raises

#: answers one text (the gate) and fails on a batch (an explanation): a proxy that dies after the gate
FLAKY = '''
CALLS = []  # batch sizes it was called with


def answers_one_text(texts):
    CALLS.append(len(texts))
    if len(texts) > 1:
        raise ConnectionError("connection reset by peer")
    return [[0.5, 0.5] for _ in texts]
'''

TWIN = {"model": "local/vader", "alias": "vader-twin", "price": {"input_per_mtok": 1.0}}
DEAD = {"model": "python:user_models:raises", "alias": "dead", "price": {"input_per_mtok": 0.001}}  # screened first
FLAKY_PROXY = {"model": "python:flaky_models:answers_one_text", "alias": "flaky"}


def settings(tmp_path: Path, proxies: list[dict], **extra) -> dict:
    return {"oracle": "local/vader", "proxies": proxies, "dataset": {"limit": 3},
            "explainer": {"method": "kernel_shap", "samples": 48},
            "screen": {"min_instances": 5, "max_instances": 15},
            "cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "report.json"), "max_usd": None, **extra}


@pytest.fixture(autouse=True)
def _user_models(tmp_path, monkeypatch):
    (tmp_path / "flaky_models.py").write_text(FLAKY)
    monkeypatch.delitem(sys.modules, "flaky_models", raising=False)  # a fresh CALLS per test
    for folder in (USER_MODELS, tmp_path):
        monkeypatch.syspath_prepend(str(folder))


def cli(tmp_path: Path, command: str, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(USER_MODELS), str(tmp_path)])}
    p = subprocess.run([sys.executable, "-m", "proxyx", command, str(path), "-q", *args], capture_output=True,
                       text=True, timeout=300, env=env)
    assert "Traceback" not in p.stderr + p.stdout, p.stderr
    return p


def test_screen_records_a_failed_proxy_and_goes_on(tmp_path, fine_foods):
    result = run_screen(parse_config(settings(tmp_path, [DEAD, TWIN], screen={"min_instances": 5})))
    dead, twin = result.proxies
    assert (dead.proxy, dead.decision) == ("dead", "failed")
    assert "the GPU is on fire" in dead.error and dead.n == 0
    assert dead.cost["dead"].failures >= 1  # the failed call is in the record's cost
    assert (twin.proxy, twin.decision) == ("vader-twin", "accepted") and twin.error is None
    assert result.stopped is None


@pytest.mark.parametrize("command", [pytest.param("screen", id="screen"), pytest.param("explain", id="explain")])
def test_cli_exits_3_when_a_proxy_fails_while_screening(tmp_path, fine_foods, command):
    config = settings(tmp_path, [DEAD, TWIN], screen={"enabled": True, "min_instances": 5, "max_instances": 15})
    p = cli(tmp_path, command, config, "--out", str(tmp_path / "out.json"))
    assert p.returncode == 3, p.stderr
    said = " ".join(p.stdout.split())
    assert "dead" in said and "raised RuntimeError: the GPU is on fire" in said  # the terminal says why
    assert "not faithful enough" not in said
    doc = json.loads((tmp_path / "out.json").read_text())
    screen = doc if command == "screen" else doc["screen"]
    assert [(s["proxy"], s["decision"]) for s in screen["proxies"]] == [("dead", "failed"), ("vader-twin", "accepted")]
    if command == "explain":  # the screen's failure does not stop the run: the accepted proxy explains
        assert doc["status"] == "complete_with_failures"
        assert [e["status"] for e in doc["instances"]] == ["ok"] * 3
        assert {e["explained_by"] for e in doc["instances"]} <= {"vader-twin", "local/vader"}


@pytest.mark.parametrize("command", [pytest.param("screen", id="screen"), pytest.param("explain", id="explain")])
def test_budget_stop_while_screening_keeps_the_partial_record(tmp_path, fine_foods, command):
    # VADER twin at $1 per million words: 15 instances x 2 x 48 masked reviews cost more than $0.0005
    config = settings(tmp_path, [TWIN], max_usd=0.0005,
                      screen={"enabled": True, "min_instances": 5, "max_instances": 15})
    p = cli(tmp_path, command, config, "--out", str(tmp_path / "out.json"))
    assert p.returncode == 4, p.stderr
    doc = json.loads((tmp_path / "out.json").read_text())
    screen = doc if command == "screen" else doc["screen"]
    assert screen["stopped"] == "budget"
    (record,) = screen["proxies"]
    assert record["decision"] == "stopped_budget" and "max_usd" in record["error"]
    assert record["examined"] >= 1 and len(record["instances"]) == record["n"]
    spent = sum(c["paid"]["usd"] for c in record["cost"].values())
    assert 0 < spent <= 0.0005  # the cost spent before the stop, not an empty record
    assert screen["cost"]["paid"]["usd"] == pytest.approx(spent)
    if command == "explain":
        assert doc["status"] == "stopped_budget" and "max_usd" in doc["stop_reason"]
        assert doc["instances"] == []  # nothing explained after the budget stopped the screen


@pytest.mark.parametrize("proxies, explained_by", [
    pytest.param([DEAD, TWIN], "vader-twin", id="dead-at-the-gate-next-proxy"),
    pytest.param([DEAD], "local/vader", id="dead-at-the-gate-oracle"),
    pytest.param([FLAKY_PROXY, TWIN], "vader-twin", id="dead-in-its-explanation-next-proxy"),
    pytest.param([FLAKY_PROXY], "local/vader", id="dead-in-its-explanation-oracle"),
])
def test_a_dead_proxy_is_asked_once_and_the_run_goes_on(tmp_path, fine_foods, proxies, explained_by):
    config = parse_config(settings(tmp_path, proxies, gate=False))  # no gate: the first live proxy explains
    session = open_session(config)
    try:
        report = run_explain(config, session=session)
        dead = config.proxies[0].name
        if dead == "flaky":  # asked on the first instance only: its gate, then the batch that failed
            assert [n > 1 for n in sys.modules["flaky_models"].CALLS] == [False, True]
        else:  # its one gate call on the first instance
            assert session.ledger.total(model=dead).failures == 1
    finally:
        session.close()
    assert report.status == "complete_with_failures"
    assert [e.status for e in report.instances] == ["ok"] * 3
    assert [e.explained_by for e in report.instances] == [explained_by] * 3
    (note,) = report.notes[-1:]
    assert note.startswith(f"proxy {dead} unavailable from instance {report.instances[0].id} on")


def test_cli_exits_3_with_a_dead_proxy_and_says_so(tmp_path, fine_foods):
    p = cli(tmp_path, "explain", settings(tmp_path, [DEAD, TWIN]))
    assert p.returncode == 3, p.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["summary"]["failed"] == 0 and doc["summary"]["explained"] == 3
    assert any("proxy dead unavailable" in n and "the GPU is on fire" in n for n in doc["notes"])


@pytest.mark.parametrize("explainer", [
    pytest.param({}, id="plain-fidelity"),
    pytest.param({"estimator": "prior", "oracle_samples": 16}, id="estimator"),
])
def test_an_oracle_failure_is_not_blamed_on_the_proxy(tmp_path, fine_foods, explainer):
    """The oracle answers its label, then fails on a batch: the instances fail, the proxy stays available."""
    config = parse_config(settings(tmp_path, [TWIN], oracle="python:flaky_models:answers_one_text", gate=False,
                                   fidelity={"enabled": True},
                                   explainer={"method": "kernel_shap", "samples": 48, **explainer}))
    report = run_explain(config)
    assert report.status == "complete_with_failures"
    assert [e.status for e in report.instances] == ["failed"] * 3
    assert all("connection reset by peer" in e.error for e in report.instances)
    assert not any("unavailable" in n for n in report.notes)

"""proxyx explain and screen with the real local LLM oracle (Gemma 3 270M through llama.cpp)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("llama_cpp", reason="the local oracle needs llama-cpp-python (make install)")

ROOT = Path(__file__).parents[1]


def quickstart(tmp_path: Path, **changes) -> Path:
    """configs/quickstart.yaml with small budgets and the cache and report in tmp_path."""
    cfg = yaml.safe_load((ROOT / "configs" / "quickstart.yaml").read_text())
    cfg["cache_dir"] = str(tmp_path / "cache")
    cfg["output"] = str(tmp_path / "report.json")
    cfg["explainer"]["samples"] = 24
    cfg["explainer"]["estimator"] = "plain"  # substitution and the screen; test_estimator_* runs the estimator
    cfg["explainer"].pop("oracle_samples", None)
    cfg["screen"]["enabled"] = False
    cfg["fidelity"]["enabled"] = False
    for dotted, value in changes.items():
        node = cfg
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    path = tmp_path / "quickstart.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def explain(config: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(config), *args],
                       capture_output=True, text=True, timeout=600)
    report = json.loads(Path(yaml.safe_load(config.read_text())["output"]).read_text()) if p.returncode in (0, 3, 4) else {}
    return p, report


def test_explain_then_rerun_from_cache(tmp_path):
    config = quickstart(tmp_path)
    p, first = explain(config, "--limit", "3", "-q")
    assert p.returncode == 0, p.stderr
    assert "SWA cache" not in p.stderr and "llama_" not in p.stderr, p.stderr  # llama.cpp's log stays quiet
    assert first["summary"]["instances"] == 3 and first["status"] == "complete"
    for e in first["instances"]:
        assert len(e["attribution"]) == len(e["units"]) > 0
        assert e["oracle"]["label"] in ("great", "other")
        assert abs(sum(e["oracle"]["probs"].values()) - 1) < 1e-9
        assert e["explained_by"] in ("local/gemma-3-270m", "local/tfidf-lr", "local/vader")
        assert e["cost"]["explanation"]["nominal"]["usd"] > 0
    assert "explained by" in p.stdout and "Cost by model" in p.stdout
    oracle_rows = [r for r in first["ledger"] if r["model"] == "local/gemma-3-270m"]
    assert sum(r["cost"]["paid"]["calls"] for r in oracle_rows) >= 3  # the oracle labelled every instance

    p, second = explain(config, "--limit", "3", "-q")
    assert p.returncode == 0, p.stderr
    assert sum(r["cost"]["paid"]["calls"] for r in second["ledger"]) == 0
    assert sum(r["cost"]["paid"]["nano_usd"] for r in second["ledger"]) == 0
    assert second["crr"] == first["crr"]
    assert [e["attribution"] for e in second["instances"]] == [e["attribution"] for e in first["instances"]]


def test_fidelity_and_crr_reported(tmp_path):
    config = quickstart(tmp_path, **{"fidelity.enabled": True, "explainer.method": "lime",
                                     "fidelity.heldout_samples": 16})
    p, doc = explain(config, "--limit", "2", "-q")
    assert p.returncode == 0, p.stderr
    proxied = [e for e in doc["instances"] if e["role"] == "proxy"]
    for e in proxied:
        assert set(e["fidelity"]) == {"q_proxy", "q_oracle", "fidelity", "agreement", "local_fidelity_proxy",
                                      "local_fidelity_oracle"}
        assert len(e["oracle_attribution"]) == len(e["units"])
    assert doc["crr"]["calls"] > 0 and doc["crr"]["estimated"] is False
    assert (doc["fidelity"] or {"n": 0})["n"] == len(proxied)  # no summary (null) when no instance was proxied


def test_gemma_under_another_name_passes_the_screen_with_fidelity_one(tmp_path):
    config = quickstart(tmp_path, **{"proxies": [{"model": "local/gemma-3-270m", "alias": "gemma-twin"}],
                                     "screen.enabled": True, "screen.min_instances": 3,
                                     "screen.max_instances": 3})
    p = subprocess.run([sys.executable, "-m", "proxyx", "screen", str(config), "-q", "--out", str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "s.json").read_text())
    (twin,) = doc["proxies"]
    # Same answers, same masks: every screened explanation is the oracle's own, so d_i = (1 - tau) q_oracle.
    # (Acceptance itself needs mean q_oracle clearly > 0; tests/test_screen.py checks it with a fast oracle.)
    assert twin["disagreements"] == 0 and twin["n"] == 3
    for inst in twin["instances"]:
        assert inst["q_proxy"] == inst["q_oracle"]
        assert inst["d"] == pytest.approx(0.1 * inst["q_oracle"]["aopc"])
        assert inst["fidelity"] in (None, pytest.approx(1.0))
    assert twin["decision"] in ("accepted", "rejected_max")
    assert "gemma-twin" in p.stdout
    # the twin shares the oracle's cache entries: each distinct text was paid for once, by one of them
    twin_cost, oracle_cost = twin["cost"]["gemma-twin"], twin["cost"]["local/gemma-3-270m"]
    assert oracle_cost["hits"] >= twin_cost["paid"]["calls"]  # every text the twin paid for reached the oracle as a hit
    assert twin_cost["paid"]["calls"] + oracle_cost["paid"]["calls"] <= oracle_cost["nominal"]["calls"]
    assert doc["valid_for"]["samples"] == 24 and doc["accepted"] == [p["proxy"] for p in doc["proxies"] if p["decision"] == "accepted"]


def test_estimator_asks_the_oracle_only_its_n_masks(tmp_path):
    config = quickstart(tmp_path, **{"explainer.estimator": "control_variate", "explainer.oracle_samples": 12,
                                     "explainer.samples": 48, "fidelity.enabled": True, "fidelity.reference": True,
                                     "fidelity.heldout_samples": 16})
    p, report = explain(config, "--limit", "1", "-q", "--no-html", "--show", "0")
    assert p.returncode == 0, p.stderr
    for e in report["instances"]:
        assert e["role"] == "estimator" and e["estimator"]["name"] == "control_variate"
        assert e["estimator"]["oracle_calls"] <= 12 and e["estimator"]["proxy_calls"] >= 40
        assert e["cost"]["with_proxy_oracle"]["nominal"]["calls"] <= 13  # the gate call is among the 12 masks
        assert e["fidelity"]["local_fidelity_oracle"] is not None
        assert len(e["attribution"]) == len(e["units"])
    assert report["crr"]["calls"] > 3  # 48 oracle calls replaced by at most 13
    assert "control variate estimator" in p.stdout
    # the free baseline: the oracle alone at the same 12 calls, scored with the estimate, printed first
    for e in report["instances"]:
        assert len(e["baseline"]["attribution"]) == len(e["units"]) and e["baseline"]["q_baseline"] is not None
    assert report["baseline"]["oracle_samples"] == 12 and report["baseline"]["aopc"]["n"] == 1
    # the table's title wraps with its width (one instance: a narrow table), so compare the words
    assert " ".join(p.stdout.split()).startswith("quality on the oracle: with the proxy vs the oracle alone at the same "
                                                 "n = 12 calls")

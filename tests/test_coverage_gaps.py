"""Features that had no test of their own (issue 9, part 7), with fast real local models (VADER as the oracle).

The scorer's contract beyond one 256-text round, ``gate: false``, ``screen --all``,
``screen.correct_for_looks``, CSV data, ``summary.flags`` and Ctrl-C (exit 130,
a resumable cache).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from proxyx.cache import CallCache
from proxyx.cli import app
from proxyx.config import parse_config
from proxyx.ledger import Ledger
from proxyx.models import build_model
from proxyx.models.base import Answer, Model
from proxyx.pipeline import run_explain
from proxyx.results import ExplainReport, ScreenResult
from proxyx.scorer import CHUNK, Scorer
from proxyx.screen import run_screen, t_bounds
from proxyx.session import Session

ROOT = Path(__file__).parents[1]
runner = CliRunner()

REVIEWS = [
    ("a", "Absolutely delicious, the best coffee I have ever had.", "great"),
    ("b", "Stale and bland. I threw the whole bag away.", "other"),
    ("c", "Good value, my kids love these crunchy snacks.", "great"),
    ("d", "Wonderful flavor, fresh nuts, fast shipping, I will buy again.", "great"),
    ("e", "Terrible aftertaste, far too sweet, and the box was half empty.", "other"),
    ("f", "My dog loves these healthy treats and they are affordable too.", "great"),
    ("g", "Awful texture and no flavor at all, I would not recommend it.", "other"),
    ("h", "Lovely honey, sweet and thick, perfect in my morning tea.", "great"),
]
SCREEN = "screen: {min_instances: 2, max_instances: 5, confidence: 0.9}\n"


def write_jsonl(path: Path, rows=REVIEWS) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t, "label": y}) + "\n" for i, t, y in rows))
    return path


def make(tmp_path: Path, data: Path, proxies: str = "  - model: local/vader\n    alias: vader-twin\n",
         extra: str = "", samples: int = 40) -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "oracle: local/vader\n"
        f"proxies:\n{proxies}"
        f"dataset:\n  path: {data}\n"
        f"explainer:\n  method: lime\n  samples: {samples}\n"
        f"cache_dir: {tmp_path / 'cache'}\n"
        f"output: {tmp_path / 'report.json'}\n" + extra
    )
    return cfg


def scorer(tmp_path: Path, model: Model | None = None, ledger: Ledger | None = None) -> Scorer:
    cfg = parse_config({"oracle": "local/vader", "cache_dir": str(tmp_path / "cache")})
    return Scorer(model or build_model(cfg.oracle, cfg.task), cache=CallCache(cfg.cache_dir),
                  ledger=ledger or Ledger(max_usd=None), role="oracle")


# --- the scorer's contract beyond one round --------------------------------------------------------------------


def recording(model: Model) -> tuple[Model, list[list[str]]]:
    """The same real model, noting each batch it is sent (to check rounds and that no text is sent twice)."""
    batches: list[list[str]] = []
    inner = model._predict

    def _predict(texts, on_answer):
        batches.append(list(texts))
        return inner(texts, on_answer)

    model._predict = _predict
    return model, batches


def test_scorer_over_many_rounds_with_duplicates_and_hits_keeps_the_order(tmp_path, fine_foods):
    texts = list(dict.fromkeys(x.text for x in fine_foods[:1200]))
    assert len(texts) * 2 // 3 > 2 * CHUNK  # at least three rounds of misses
    warm = texts[::3]  # a third already in the cache, spread through the request
    reference = scorer(tmp_path / "ref")(texts, "explain")  # another cache: every text paid there

    scorer(tmp_path)(warm, "explain")
    model, batches = recording(scorer(tmp_path).model)
    ledger = Ledger(max_usd=None)
    s = scorer(tmp_path, model, ledger)
    request = texts + texts[::-1][:300] + [texts[5]] * 7  # duplicates, reversed, repeated
    probs = s(request, "explain")

    assert probs.shape == (len(request), len(s.labels))
    index = {t: i for i, t in enumerate(texts)}
    np.testing.assert_allclose(probs, reference[[index[t] for t in request]])  # order of the request, duplicates too
    sent = [t for b in batches for t in b]
    misses = set(texts) - set(warm)
    assert sorted(sent) == sorted(misses)  # each miss sent once; no hit, no duplicate sent
    assert len(batches) == -(-len(misses) // CHUNK) >= 3 and all(0 < len(b) <= CHUNK for b in batches)
    total = ledger.total()
    assert total.paid.calls == len(misses) and total.hits == len(set(warm))
    again = Ledger(max_usd=None)
    np.testing.assert_allclose(scorer(tmp_path, ledger=again)(request, "explain"), probs)
    assert again.total().paid.calls == 0 and again.total().hits == len(set(texts))


def test_scorer_of_nothing_is_empty_and_free(tmp_path):
    ledger = Ledger(max_usd=None)
    s = scorer(tmp_path, ledger=ledger)
    assert s([], "explain").shape == (0, len(s.labels))
    assert ledger.total().nominal.calls == 0


# --- gate: false ----------------------------------------------------------------------------------------------


CONTRARIAN = '''
import numpy as np

def always_other(texts):
    """p(great) = 0.05 for every text: it disagrees with VADER on every positive review."""
    return np.array([[0.05, 0.95] for _ in texts])
'''


@pytest.mark.parametrize("gate", [pytest.param(True, id="gate-on"), pytest.param(False, id="gate-off")])
def test_gate_false_lets_a_disagreeing_proxy_explain(tmp_path, monkeypatch, gate):
    (tmp_path / "contrarian_clf.py").write_text(CONTRARIAN)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = make(tmp_path, write_jsonl(tmp_path / "r.jsonl", [REVIEWS[i] for i in (0, 2, 4, 6)]),
               proxies="  - model: python:contrarian_clf:always_other\n    alias: contrarian\n",
               extra=f"gate: {str(gate).lower()}\n")
    r = runner.invoke(app, ["explain", str(cfg), "-q", "--no-html"])
    assert r.exit_code == 0, r.output
    report = ExplainReport.load(tmp_path / "report.json")
    agrees = {e.id: e.gate[0].agrees for e in report.instances}
    assert all(agrees[e.id] == (e.oracle.label == "other") for e in report.instances)
    assert set(agrees.values()) == {True, False}  # the proxy disagrees on the reviews VADER finds great
    for e in report.instances:
        expected = "contrarian" if (agrees[e.id] or not gate) else "local/vader"
        assert e.explained_by == expected, (gate, e.id)


# --- screen --all ---------------------------------------------------------------------------------------------


TWINS = "  - model: local/vader\n    alias: vader-twin\n  - model: local/vader\n    alias: vader-twin-2\n"


@pytest.mark.parametrize("args, screened", [
    pytest.param([], ["vader-twin"], id="stops-at-first-accepted"),
    pytest.param(["--all"], ["vader-twin", "vader-twin-2"], id="all"),
])
def test_screen_all_screens_past_the_first_accepted(tmp_path, args, screened):
    data = write_jsonl(tmp_path / "r.jsonl")
    cfg = make(tmp_path, data, proxies=TWINS, extra=SCREEN)
    cfg.write_text(cfg.read_text().replace("r.jsonl\n", "r.jsonl\n  limit: 3\n", 1))
    out = tmp_path / "s.json"
    r = runner.invoke(app, ["screen", str(cfg), *args, "-q", "--out", str(out)])
    assert r.exit_code == 0, r.output
    result = ScreenResult.load(out)
    assert sorted(p.proxy for p in result.proxies) == screened
    assert sorted(result.accepted) == screened and all(p.decision == "accepted" for p in result.proxies)


# --- screen.correct_for_looks ---------------------------------------------------------------------------------


def screen_config(tmp_path, **screen):
    return parse_config({
        "oracle": "local/vader", "proxies": [{"model": "local/vader", "alias": "vader-twin"}],
        "explainer": {"method": "kernel_shap", "samples": 48},
        "screen": {"enabled": True, "min_instances": 5, "max_instances": 15, "confidence": 0.95, **screen},
        "cache_dir": str(tmp_path / "cache"), "max_usd": None,
    })


def screen_session(cfg) -> Session:
    cache, ledger = CallCache(cfg.cache_dir), Ledger(max_usd=None)
    oracle = Scorer(build_model(cfg.oracle, cfg.task), cache=cache, ledger=ledger, role="oracle")
    proxy = Scorer(build_model(cfg.proxies[0], cfg.task), cache=cache, ledger=ledger, role="proxy")
    return Session(config=cfg, cache=cache, ledger=ledger, oracle=oracle, proxies=[proxy])


def test_per_look_confidence_is_bonferroni_over_the_looks():
    plain = parse_config({"oracle": "local/vader", "screen": {"min_instances": 5, "max_instances": 15}}).screen
    corrected = plain.model_copy(update={"correct_for_looks": True})
    assert plain.per_look_confidence == plain.confidence == 0.99
    assert corrected.per_look_confidence == pytest.approx(1 - 0.01 / 11)


def test_correct_for_looks_widens_the_screen_bounds(tmp_path, fine_foods):
    cfg = screen_config(tmp_path)
    plain = run_screen(screen_session(cfg)).proxies[0]
    cfg_c = cfg.model_copy(update={"screen": cfg.screen.model_copy(update={"correct_for_looks": True})})
    corrected = run_screen(screen_session(cfg_c)).proxies[0]
    for p, c in ((plain, cfg), (corrected, cfg_c)):
        d = [i.d for i in p.instances]
        mean, lo, hi = t_bounds(d, c.screen.per_look_confidence)
        assert (p.mean_d, p.lower, p.upper) == pytest.approx((mean, lo, hi))
    n = min(plain.n, corrected.n)
    assert n >= 5 and [i.d for i in plain.instances[:n]] == [i.d for i in corrected.instances[:n]]
    d = [i.d for i in plain.instances[:n]]
    _, lo_p, hi_p = t_bounds(d, cfg.screen.per_look_confidence)
    _, lo_c, hi_c = t_bounds(d, cfg_c.screen.per_look_confidence)
    assert lo_c < lo_p and hi_c > hi_p  # same data, a wider interval
    assert corrected.n >= plain.n  # a wider interval never decides sooner


# --- CSV data -------------------------------------------------------------------------------------------------


def test_explain_reads_a_csv_data_set(tmp_path):
    data = tmp_path / "r.csv"
    with data.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "label"])
        w.writerows(REVIEWS[:3])
    cfg = make(tmp_path, data)
    r = runner.invoke(app, ["explain", str(cfg), "-q", "--no-html"])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "report.json").read_text())
    assert sorted((e["id"], e["text"], e["gold_label"]) for e in doc["instances"]) == list(REVIEWS[:3])
    assert all(len(e["attribution"]) == len(e["text"].split()) for e in doc["instances"])


# --- summary.flags ---------------------------------------------------------------------------------------------


class Verbalizer(Model):
    """An LLM without log-probabilities answers a label word: one-hot, flagged ``verbalized``.

    (Real llama.cpp does this only on a fault; tests/llm/test_faults.py covers the parsing.)
    """

    def _predict(self, texts, on_answer):
        out = []
        for i, t in enumerate(texts):
            great = any(w in t.lower() for w in ("delicious", "best", "love", "good"))
            out.append(Answer(probs=(1.0, 0.0) if great else (0.0, 1.0), prompt_tokens=len(t.split()),
                              flag="verbalized"))
            on_answer(i, out[-1])
        return out


def test_summary_flags_count_flagged_answers_paid_or_cached(tmp_path):
    data = write_jsonl(tmp_path / "r.jsonl", REVIEWS[:3])
    cfg = parse_config({"oracle": "local/vader", "proxies": [{"model": "local/vader", "alias": "verbal"}],
                        "dataset": {"path": str(data)}, "explainer": {"method": "lime", "samples": 20},
                        "cache_dir": str(tmp_path / "cache"), "max_usd": None, "gate": False})

    def run():
        cache, ledger = CallCache(cfg.cache_dir), Ledger(max_usd=None)
        oracle = Scorer(build_model(cfg.oracle, cfg.task), cache=cache, ledger=ledger, role="oracle")
        proxy = Scorer(Verbalizer(config=cfg.proxies[0], task=cfg.task), cache=cache, ledger=ledger, role="proxy")
        session = Session(config=cfg, cache=cache, ledger=ledger, oracle=oracle, proxies=[proxy])
        return run_explain(cfg, session=session), ledger

    first, ledger = run()
    proxy_answers = ledger.total(model="verbal")
    assert set(first.summary.flags) == {"verbal"}  # VADER's answers carry no flag
    assert first.summary.flags["verbal"]["verbalized"] == proxy_answers.nominal.calls > 0
    second, ledger = run()  # all from the cache: the flag is kept with the answer
    assert ledger.total(model="verbal").paid.calls == 0
    assert second.summary.flags == first.summary.flags


# --- Ctrl-C -----------------------------------------------------------------------------------------------------


def cached_calls(cache: Path) -> int:
    try:
        with sqlite3.connect(cache / "calls.sqlite") as db:
            return db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


SLOW_ORACLE = '''
"""A lexicon oracle that takes 10 ms a text, like a remote model: a run lasts seconds on any machine."""
import time

GOOD = {"delicious", "best", "good", "love", "wonderful", "lovely", "perfect", "affordable", "healthy", "fresh"}


def classify(texts):
    time.sleep(0.01 * len(texts))
    rows = []
    for t in texts:
        good = sum(w.strip(".,").lower() in GOOD for w in t.split())
        p = min(0.95, 0.2 + 0.25 * good)
        rows.append([p, 1 - p])
    return rows
'''


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a subprocess is POSIX-only")
def test_ctrl_c_exits_130_and_the_cache_resumes(tmp_path):
    (tmp_path / "slow_oracle.py").write_text(SLOW_ORACLE)
    cfg = make(tmp_path, write_jsonl(tmp_path / "r.jsonl"), proxies="", samples=40)
    cfg.write_text(cfg.read_text().replace("oracle: local/vader\n", "oracle: python:slow_oracle:classify\n")
                   .replace("proxies:\n", "proxies: []\n"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    # a background job (CI, nohup ... &) inherits SIGINT ignored, and Python then installs no Ctrl-C handler:
    # give the child the default disposition, as an interactive shell would
    p = subprocess.Popen([sys.executable, "-m", "proxyx", "explain", str(cfg), "-q", "--no-html"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    # one instance is its label and 40 masks (0.4 s); eight of them: at least 2.8 s are left when this returns
    while cached_calls(tmp_path / "cache") < 30 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.poll() is None, "the run ended before it could be interrupted; make it longer"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    kept = cached_calls(tmp_path / "cache")
    assert kept >= 30

    r = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(cfg), "-q", "--no-html"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["status"] == "complete" and len(doc["instances"]) == len(REVIEWS)
    hits = sum(row["cost"]["hits"] for row in doc["ledger"])
    paid = sum(row["cost"]["paid"]["calls"] for row in doc["ledger"])
    assert hits >= kept  # nothing answered before Ctrl-C is paid again
    assert paid > 0 and paid + kept == cached_calls(tmp_path / "cache")  # interrupted mid-run, resumed

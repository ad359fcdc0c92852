"""A proxy explaining generated answers in the oracle's place: the gate, the task-level screen, a saved screen.

Real models throughout: the embedded Gemma as the oracle with the lexical
proxy, and a hosted oracle (a llama.cpp server on loopback) with the
embedded Gemma as its proxy.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from proxyx.cache import CallCache
from proxyx.cli import app
from proxyx.config import load_config
from proxyx.generation import build_generator
from proxyx.generation.data import load_qa
from proxyx.generation.pipeline import run_generate
from proxyx.generation.question import Question
from proxyx.generation.screen import screen_generate
from proxyx.generation.value import AnswerOverlap
from proxyx.ledger import Ledger
from proxyx.perturb import ContextSegments
from proxyx.results import ExplainReport, ScreenResult

from .support import QUESTION
from .test_cli import SHORT, make, one_line_error

runner = CliRunner()
QUESTIONS = [
    {"id": "q1", "question": QUESTION, "documents": list(SHORT), "gold_document": 0},
    {"id": "q2", "question": "Where is the Eiffel tower?", "documents": list(SHORT), "gold_document": 1},
    {"id": "q3", "question": "What is the capital of Germany called?", "documents": list(SHORT[::-1])},
    {"id": "q4", "question": "Which tower is in Paris?", "documents": list(SHORT[::-1])},
]
SCREEN = "screen: {enabled: true, tau: 0.5, min_instances: 2, max_instances: 3}\n"


def shapley(v, n: int) -> np.ndarray:
    """Exact Shapley values of ``v`` (a function of a boolean mask) by enumerating every coalition."""
    phi = np.zeros(n)
    for i in range(n):
        for rest in itertools.product([False, True], repeat=n - 1):
            s = list(rest[:i]) + [False] + list(rest[i:])
            weight = math.factorial(sum(s)) * math.factorial(n - sum(s) - 1) / math.factorial(n)
            with_i = list(s)
            with_i[i] = True
            phi[i] += weight * (v(np.array(with_i)) - v(np.array(s)))
    return phi


def test_lexical_proxy_substitutes_after_the_gate(tmp_path):
    cfg = make(tmp_path)
    cfg.write_text(cfg.read_text() + "proxies: [local/answer-overlap]\n")
    result = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert result.exit_code == 0, result.output
    report = ExplainReport.load(tmp_path / "report.json")
    g = report.generated[0]
    assert g.explained_by == "local/answer-overlap" and report.summary.explained_by == {"local/answer-overlap": 1}
    assert [(c.answer, c.agrees) for c in g.gate] == [(None, True)]
    assert [lv.oracle_calls for lv in g.levels] == [0, 0]  # the oracle only answered the question
    docs = ContextSegments(SHORT, unit="document")
    overlap = AnswerOverlap(docs.render_words, g.answer)
    words = np.repeat(np.eye(2, dtype=bool), [len(d.split()) for d in SHORT], axis=1)  # document mask -> word mask
    exact = shapley(lambda m: overlap((m @ words)[None, :].astype(bool))[0], 2)
    np.testing.assert_allclose(g.levels[0].values, exact, atol=1e-9)
    assert report.generation.proxy == "local/answer-overlap" and "F1" in report.generation.gate


def test_screen_decides_and_a_saved_screen_is_reused(tmp_path):
    # 16 sampled word masks (not all 64): the screen's decision and its reuse do not need exact values
    cfg = make(tmp_path, rows=QUESTIONS,
               explainer="  method: kernel_shap\n  hierarchy: {levels: [document, word], top_k: 1, samples: [4, 16]}\n")
    cfg.write_text(cfg.read_text().replace("  name: null\n", "  name: null\n  limit: 1\n")
                   + "proxies: [local/answer-overlap]\n" + SCREEN)
    result = runner.invoke(app, ["explain", str(cfg), "-q"])
    assert result.exit_code == 0, result.output
    report = ExplainReport.load(tmp_path / "report.json")
    record = report.screen.proxies[0]
    explained = {report.generated[0].id}
    assert record.examined >= 2 and not explained & {i.id for i in record.instances}
    for inst in record.instances:  # d: the mean over levels of q_proxy - tau * q_oracle
        assert [lv.unit for lv in inst.levels] == ["document", "word"]
        assert inst.d == pytest.approx(np.mean([lv.q_proxy.aopc - 0.5 * lv.q_oracle.aopc for lv in inst.levels]))
    accepted = record.decision == "accepted"
    assert record.decision in ("accepted", "rejected_futility", "rejected_max", "rejected_data")
    assert report.generated[0].explained_by == ("local/answer-overlap" if accepted else "local/gemma-3-270m")
    assert any(r.purpose == "screen" and r.cost.nominal.calls for r in report.ledger)
    assert_per_token_aopc(load_config(cfg), record.instances)

    # proxyx screen writes the same decision; explain --screen uses it without screening again
    screen_file = tmp_path / "s.json"
    got = runner.invoke(app, ["screen", str(cfg), "-q", "-o", str(screen_file)])
    assert got.exit_code == 0, got.output
    saved = ScreenResult.load(screen_file)
    assert saved.proxies[0].decision == record.decision and saved.proxies[0].n == record.n
    again = runner.invoke(app, ["explain", str(cfg), "-q", "--screen", str(screen_file), "-o", str(tmp_path / "r2.json")])
    assert again.exit_code == 0, again.output
    rerun = ExplainReport.load(tmp_path / "r2.json")
    assert not any(r.purpose == "screen" for r in rerun.ledger) and sum(r.cost.paid.calls for r in rerun.ledger) == 0
    assert rerun.generated[0].explained_by == report.generated[0].explained_by

    # a screen made for another run is refused before any call
    cfg.write_text(cfg.read_text().replace("tau: 0.5", "tau: 0.8"))
    line = one_line_error(runner.invoke(app, ["explain", str(cfg), "-q", "--screen", str(screen_file)]))
    assert "screen.tau" in line


def assert_per_token_aopc(config, instances) -> None:
    """The screen scored the oracle's answer per token (``answer_logprob_mean``), not summed: the document level's
    AOPC recomputed from the oracle's cached teacher-forced scores of the four document subsets."""
    cache, ledger = CallCache(config.cache_dir), Ledger()
    gen = build_generator(config.oracle, config.task, cache=cache, ledger=ledger)
    rows = {x.id: x for x in load_qa(config, every=True)}
    try:
        for inst in instances:
            q = Question.ask(config, gen, rows[inst.id], purpose="check")
            sizes = [len(d.split()) for d in rows[inst.id].documents]
            scores = {keep: gen.score([(q.render(np.repeat(np.array(keep), sizes)), q.answer)], "check")[0]
                      for keep in itertools.product([False, True], repeat=2)}
            got = []
            for per_token in (True, False):
                v = {k: s.mean if per_token else s.total for k, s in scores.items()}
                first_ahead = v[(True, False)] - v[(False, True)] > 0  # exact Shapley: phi_0 - phi_1 = this
                got.append(v[(True, True)] - v[(False, True) if first_ahead else (True, False)])
            assert inst.levels[0].q_oracle.aopc == pytest.approx(got[0], abs=1e-9)
            if len(scores[(True, True)].logprobs) > 1:
                assert got[1] != pytest.approx(got[0])
        assert ledger.total().paid.calls == 0  # all from the screen's cache
    finally:
        gen.close()
        cache.close()


def test_generate_screen_needs_a_proxy(tmp_path):
    assert "proxies" in one_line_error(runner.invoke(app, ["screen", str(make(tmp_path)), "-q"]))


def test_embedded_gemma_is_the_proxy_of_a_hosted_oracle(server, tmp_path):
    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps(QUESTIONS[0]) + "\n")
    cfg = tmp_path / "hosted.yaml"
    cfg.write_text(
        "oracle:\n  model: text-completion-openai/gemma-3-270m\n"
        f"  api_base: {server.api_base}\n  api_key_env: PROXYX_TEST_LLM_KEY\n  style: completion\n"
        "  price: {input_per_mtok: 1.0, output_per_mtok: 2.0}\n"
        "proxies: [local/gemma-3-270m]\n"
        f"dataset:\n  name: null\n  path: {data}\n"
        "task:\n  type: generate\n  max_tokens: 6\n"
        "explainer:\n  method: kernel_shap\n  hierarchy: {levels: [document, word], top_k: 1, samples: [4, 16]}\n"
        f"cache_dir: {tmp_path / 'cache'}\noutput: {tmp_path / 'r.json'}\n")
    report = run_generate(load_config(cfg), n_ctx=2048, n_threads=1)
    g = report.generated[0]
    assert report.status == "complete" and g.gate[0].agrees and g.gate[0].answer == g.answer
    assert g.explained_by == "local/gemma-3-270m" and all(lv.oracle_calls == 0 for lv in g.levels)
    oracle_rows = [r for r in report.ledger if r.model == "text-completion-openai/gemma-3-270m"]
    assert sum(r.cost.nominal.calls for r in oracle_rows) == 1  # the hosted oracle answered once; the proxy explained
    assert g.cost.nominal.calls > 4


def test_embedded_gemma_is_screened_for_a_hosted_oracle(server, tmp_path):
    """The screen of the embedded Gemma as the proxy of a hosted oracle (``answer_match``, what a chat model
    allows): the oracle's answers come from the server, the proxy answers at the gate and explains in process."""
    data = tmp_path / "qa.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in QUESTIONS))
    cfg = tmp_path / "hosted.yaml"
    cfg.write_text(
        "oracle:\n  model: text-completion-openai/gemma-3-270m\n"
        f"  api_base: {server.api_base}\n  api_key_env: PROXYX_TEST_LLM_KEY\n  style: completion\n"
        "  timeout_s: 300\n"
        "proxies: [local/gemma-3-270m]\n"
        f"dataset:\n  name: null\n  path: {data}\n  limit: 1\n"
        "task:\n  type: generate\n  max_tokens: 6\n"
        "explainer:\n  method: kernel_shap\n  unit: document\n  samples: 4\n  value: answer_match\n  reuse: false\n"
        + SCREEN + f"cache_dir: {tmp_path / 'cache'}\n")
    before = server.answered()
    record = screen_generate(load_config(cfg), n_ctx=2048, n_threads=1).proxies[0]
    assert record.decision != "pending" and record.examined == record.n + record.disagreements >= 2 and record.n >= 1
    hosted, embedded = record.cost["text-completion-openai/gemma-3-270m"], record.cost["local/gemma-3-270m"]
    assert hosted.paid.calls == server.answered() - before > 0  # every oracle call went to the server ...
    assert embedded.paid.calls >= record.examined  # ... the proxy's (its gate answer, its masks) stayed in process
    for inst in record.instances:
        assert inst.proxy_answer is not None  # the proxy answered the full input for itself at the gate
        assert inst.d == pytest.approx(inst.levels[0].q_proxy.aopc - 0.5 * inst.levels[0].q_oracle.aopc)

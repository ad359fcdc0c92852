"""'proxyx show' for generate reports: the question, the oracle's answer, the documents and each finer level coloured.

The report is built here with the typed models of ``proxyx.results`` (runs/
is not in the repository): three questions over two documents, levels
document > sentence > word with small explicit values; one question failed,
one refined nothing below its sentences. The terminal text (plain and in
colour) and the HTML page (read back with html.parser) must show exactly
those values.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from io import StringIO

import pytest
from page_parser import parse
from rich.console import Console

from proxyx.results import Cost, ExplainReport, ExplainSummary, LedgerRow, Spend
from proxyx.results.generate import GeneratedInstance, GenerationInfo, GenLevel, ReuseInfo
from proxyx.view.adapter import read_report
from proxyx.view.generated import read_info, read_instance
from proxyx.view.heatmap import render_terminal
from proxyx.view.html import render_html
from proxyx.view.style import rgb, shade, signed

ORACLE = "local/gemma-3-270m"
DOC1 = "Paris is the capital of France. It is known for the Louvre."
DOC2 = "Berlin is the capital of Germany. It has <many> museums & parks."
SENTENCES = ["Paris is the capital of France.", "It is known for the Louvre.",
             "Berlin is the capital of Germany.", "It has <many> museums & parks."]
WORDS = (DOC1 + " " + DOC2).split()  # 24: d1 is words 0-11, d2 12-23, its first sentence 12-17
WORD_VALUES = {12: 0.6, 13: 0.01, 14: -0.02, 15: 0.3, 16: 0.0, 17: -0.4}  # Berlin is the capital of Germany.


def cost(calls: int, paid: int = 0) -> Cost:
    return Cost(paid=Spend(calls=paid, tokens=10 * paid, nano_usd=1000 * paid),
                nominal=Spend(calls=calls, tokens=10 * calls, nano_usd=1000 * calls), hits=calls - paid)


def level(unit, units, values, selected, calls, seconds, exact=True, samples=16) -> GenLevel:
    return GenLevel(unit=unit, units=units, active=[i for i, v in enumerate(values) if v is not None], values=values,
                    selected=selected, base_value=-9.0, full_value=-1.0, samples=samples, evals=min(calls, samples),
                    exact=exact, cost=cost(calls, paid=calls // 2), seconds=seconds)


def question(id, q, answer, levels, error=None) -> GeneratedInstance:
    return GeneratedInstance(id=id, question=q, documents=[DOC1, DOC2], gold_document=1, answer=answer,
                             prompt_tokens=0 if error else 61, levels=levels,
                             reuse=None if error else ReuseInfo(masks=40, decodes=25, checks=15, saved=15),
                             cost=cost(0 if error else 164), seconds=0.0 if error else 2.5, error=error)


def build_report() -> ExplainReport:
    q1 = question("q1", "What is the capital of Germany?", " Berlin", [
        level("document", [DOC1, DOC2], [-0.25, 1.5], [1], 4, 0.5),
        level("sentence", SENTENCES, [None, None, 0.8, -0.1], [2], 32, 0.75),
        level("word", WORDS, [WORD_VALUES.get(i) for i in range(len(WORDS))], [], 128, 1.25, exact=False, samples=128)])
    q2 = question("q2", "Who built the Louvre?", "", [], error="local/gemma-3-270m: the prompt does not fit")
    q3 = question("q3", "What is in Paris?", " The Louvre", [
        level("document", [DOC1, DOC2], [2.0, 0.5], [0], 4, 0.5),
        level("sentence", SENTENCES, [0.5, None, None, None], [], 8, 0.25),  # one sentence unexplained
        level("word", WORDS, [None] * len(WORDS), [], 0, 0.0)])
    info = GenerationInfo(oracle=ORACLE, scoring=True, value="answer_match", match="f1", reuse=True,
                          levels=["document", "sentence", "word"], rule="levels document > sentence > word: top-1",
                          method="kernel_shap", max_tokens=8,
                          mean_seconds_by_level={"document": 0.5, "sentence": 0.5, "word": 0.625},
                          mean_calls_by_level={"document": 4.0, "sentence": 20.0, "word": 64.0},
                          decodes_saved=30, decodes=50)
    return ExplainReport(
        created="2026-11-26T00:00:00+00:00", status="complete_with_failures", seed=0, versions={}, config={},
        summary=ExplainSummary(instances=3, explained=2, failed=1, explained_by={ORACLE: 2}, wall_time_s=5.0),
        ledger=[LedgerRow(model=ORACLE, role="oracle", purpose="explain", cost=cost(328, 164))], instances=[],
        generation=info, generated=[q1, q2, q3])


@pytest.fixture(scope="module")
def report() -> ExplainReport:
    return build_report()


def terminal(report, *, colour: bool = False, **select) -> str:
    out = StringIO()
    console = Console(file=out, width=250, force_terminal=colour, color_system="truecolor" if colour else None)
    render_terminal(report, console, **select)
    return out.getvalue()


def lines(text: str) -> list[str]:
    """The panel's lines without their borders."""
    return [ln.strip("│ ").rstrip() for ln in text.splitlines()]


def test_terminal_shows_question_answer_documents_and_levels(report):
    out = terminal(report)
    rows = lines(out)
    assert "value: answer_match (match f1, decoded-output reuse on); kernel_shap" in rows
    assert "rule: levels document > sentence > word: top-1" in rows
    assert "mean per question: document 4 calls, 0.50 s; sentence 20 calls, 0.50 s; word 64 calls, 0.62 s" in rows
    assert "decodes saved by reuse: 30 (50 decodes run)" in rows
    assert f"explained by {ORACLE}: 2" in rows and "1 question failed" in rows
    assert "question: What is the capital of Germany?" in rows and "oracle's answer: 'Berlin'" in rows
    # the first level: each document with its value; the gold one and the refined one say so
    assert f"d1 -0.25: {DOC1}" in rows
    assert f"d2 +1.5 (gold document, refined): {DOC2}" in rows
    # finer levels: only the units inside what was refined above, the strongest with their values (no colour)
    assert "sentence level: 2 of 4 sentences explained; 32 calls (16 paid); 0.75 s; exact (every coalition)" in rows
    assert "d2 (gold document): Berlin is the capital of Germany.[+0.8] It has <many> museums & parks.[-0.1]" in rows
    assert "word level: 6 of 24 words explained; 128 calls (64 paid); 1.25 s; sampled (128 masks)" in rows
    assert "sentence 3 of d2: Berlin[+0.6] is the capital[+0.3] of Germany.[-0.4]" in rows  # |v| < 5% unmarked
    assert "supports the answer: Berlin +0.6, capital +0.3   against: Germany. -0.4" in rows
    assert "Paris[" not in out  # d1 was not refined: its words are not shown at the finer levels
    # the failed question, and the one that refined nothing below its sentences
    assert "failed: local/gemma-3-270m: the prompt does not fit" in rows
    assert "d1: Paris is the capital of France.[+0.5] It is known for the Louvre." in rows  # unexplained: plain
    assert "nothing was refined at the level above" in rows
    assert "25 decodes, 15 saved by reuse (15 teacher-forced checks)" in out
    assert "gate:" not in out and "explained by local" not in out.split("1. q1")[1]  # not in this report


def _bg(v: float, scale: float) -> str:
    return "48;2;{};{};{}m".format(*rgb(shade(v, scale)))


def test_terminal_colours_units_on_the_heatmap_scale(report):
    out = terminal(report, colour=True, ids=["q1"])
    assert re.search(re.escape(_bg(1.5, 1.5)) + re.escape(DOC2[:20]), out)  # the strongest document: full red
    assert re.search(re.escape(_bg(-0.25, 1.5)) + re.escape(DOC1[:20]), out)  # against: light blue
    assert re.search(re.escape(_bg(0.6, 0.6)) + "Berlin", out)  # each level on its own scale
    assert re.search(re.escape(_bg(-0.4, 0.6)) + re.escape("Germany."), out)
    assert "[+0.6]" not in out  # values are colours here, not brackets


def test_limit_and_id_choose_questions(report):
    assert "1. q1" in terminal(report, limit=1) and "q3" not in terminal(report, limit=1)
    out = terminal(report, ids=["q3", "q1"])
    assert out.index("1. q3") < out.index("2. q1") and "q2" not in out
    from proxyx.errors import DataError

    with pytest.raises(DataError, match="--id 'nope' is not in the report; its instance ids are q1, q2, q3"):
        terminal(report, ids=["nope"])


def with_gate(report) -> object:
    """The view of the report as a newer pipeline writes it: explained_by and the gate's records per question,
    the proxy and the gate's rule, and each level's oracle calls apart from the proxy's."""
    view = read_report(report)
    doc = report.to_dict()
    docs = doc["generated"]
    docs[0]["levels"][2]["oracle_calls"] = 40
    docs[0].update(explained_by="estimator(mixed)", gate=[{"proxy": "local/answer-overlap", "answer": " Berlin",
                                                           "agreement": 0.83, "agrees": True}])
    docs[2].update(explained_by=ORACLE, gate=[{"proxy": "local/tiny", "answer": None, "agreement": 0.0,
                                               "agrees": False}])
    info = dict(doc["generation"], proxy="local/answer-overlap", gate="token F1 >= 0.5")
    return replace(view, generation=read_info(info), generated=[read_instance(d) for d in docs])


def test_explained_by_and_gate_are_shown_when_present(report):
    rows = lines(terminal(with_gate(report)))
    assert "gate: local/answer-overlap answered 'Berlin'; agreement 0.83, agrees" in rows
    assert "gate: local/tiny answered no answer; agreement 0.00, disagrees" in rows
    assert any(r.startswith("explained by estimator(mixed); 61 prompt tokens") for r in rows)
    assert "proxy: local/answer-overlap; gate: token F1 >= 0.5" in rows
    assert "word level: 6 of 24 words explained; 128 calls (40 oracle, 64 paid); 1.25 s; sampled (128 masks)" in rows
    html = render_html(with_gate(report))
    assert "local/answer-overlap</div><p>gate: token F1 &gt;= 0.5</p>" in html  # the proxy's card
    page = parse(html)
    assert [f.model for f in page.articles[0].figures] == ["estimator(mixed)"] * 3
    assert "gate: local/answer-overlap answered 'Berlin'; agreement 0.83, agrees" in page.articles[0].text
    gates = [a for _, a in page.tags if "gate" in (a.get("class") or "").split()]
    assert [(a["data-proxy"], "miss" in a["class"]) for a in gates] == [("local/answer-overlap", False),
                                                                        ("local/tiny", True)]


def test_html_one_span_per_explained_unit_with_its_exact_value(report):
    html = render_html(report)
    page = parse(html)
    assert [(a.id, a.failed) for a in page.articles] == [("q1", False), ("q2", True), ("q3", False)]
    q1, q2, q3 = page.articles
    assert [(f.role, f.model) for f in q1.figures] == [("document", ORACLE), ("sentence", ORACLE), ("word", ORACLE)]
    expected = [{0: -0.25, 1: 1.5}, {2: 0.8, 3: -0.1}, WORD_VALUES]
    units = [[DOC1, DOC2], SENTENCES, WORDS]
    for figure, values, texts in zip(q1.figures, expected, units):
        assert [u.index for u in figure.units] == list(values)
        assert [u.value for u in figure.units] == list(values.values())  # exact: data-v holds repr(float)
        assert [u.text for u in figure.units] == [texts[i] for i in values]  # unescaped back to the report's text
        assert [u.title.split()[0] for u in figure.units] == [signed(v) for v in values.values()]
    assert q1.figures[2].units[0].title == "+0.6 supports the answer (rank 1 of 6 at the word level)"
    assert "What is the capital of Germany?" in q1.text and "Berlin" in q1.text
    assert "failed: local/gemma-3-270m: the prompt does not fit" in q2.text and not q2.figures
    assert [u.index for u in q3.figures[1].units] == [0] and "It is known for the Louvre." in q3.text  # plain
    assert "nothing was refined at the level above" in q3.text and not q3.figures[2].units
    assert "&lt;many&gt; museums &amp; parks" in html and "<many>" not in html  # escaped in the page
    styles = {a["data-i"]: a["style"] for t, a in page.tags if t == "span" and a.get("data-v") == "1.5"}
    assert styles == {"1": "background:#ff0051;color:#ffffff"}
    assert "decodes saved" in html and "answer_match" in html and "levels document &gt; sentence &gt; word" in html
    assert not re.search(r"(src|href)=\"https?:", html)  # still nothing from the network


def test_hover_outlines_within_one_level(report):
    page = parse(render_html(report))
    scopes = [a.get("data-scope") for t, a in page.tags if t == "figure"]
    assert scopes == ["0", "1", "2", "0", "1", "2"]
    assert "closest('[data-scope]')" in page.scripts[0]


def test_cli_show_and_html_of_a_saved_report(report, tmp_path):
    path = report.save(tmp_path / "qa.json")
    def run(path, *a):
        return subprocess.run([sys.executable, "-m", "proxyx", "show", str(path), *a], capture_output=True, text=True,
                              timeout=120)

    p = run(path, "--id", "q3")
    assert p.returncode == 0, p.stderr
    assert "1. q3" in p.stdout and "What is in Paris?" in p.stdout and "capital of Germany?" not in p.stdout
    p = run(path, "--html", str(tmp_path / "page.html"), "--limit", "2")
    assert p.returncode == 0, p.stderr
    page = parse((tmp_path / "page.html").read_text(encoding="utf-8"))
    assert [a.id for a in page.articles] == ["q1", "q2"]
    old = report.to_dict()  # as an older pipeline wrote it: no explained_by, no gate (nor later fields)
    for g in old["generated"]:
        for key in ("explained_by", "gate"):
            g.pop(key, None)
        for lv in g["levels"]:
            lv.pop("oracle_calls", None)
    older = tmp_path / "old.json"
    older.write_text(json.dumps(old), encoding="utf-8")
    p = run(older, "--limit", "1")
    assert p.returncode == 0, p.stderr
    assert "d2 +1.5 (gold document, refined)" in p.stdout and "gate:" not in p.stdout

"""The terminal view and 'proxyx show' on real reports."""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from proxyx.cli import app
from proxyx.view.adapter import read_report
from proxyx.view.heatmap import FAINT, heatmap_text, render_terminal
from proxyx.view.style import AGAINST, TOWARDS, rgb, signed

runner = CliRunner()


def mark(e, i: int) -> str:
    """What follows a value: ``±—`` when its error is not estimable, ``?`` when its interval crosses zero."""
    return "±—" if not e.estimable(i) else "?" * e.uncertain(i)


def proxied(report_path):
    return next(x for x in read_report(report_path).instances if x.oracle_explanation is not None)


def test_colours_follow_the_values(report_path):
    x = proxied(report_path)
    starts, pos = [], 0
    for unit in x.units:
        starts.append(pos)
        pos += len(unit) + 1
    for e in x.explanations:
        text = heatmap_text(x.units, e)
        assert text.plain == " ".join(x.units)
        style = {s.start: s.style for s in text.spans}
        for i, v in enumerate(e.values):
            w = v / e.scale
            if e.uncertain(i):  # its 90% interval crosses zero: italic, no box
                assert style[starts[i]].italic and style[starts[i]].bgcolor is None
                continue
            if abs(w) < FAINT:
                assert starts[i] not in style  # faint words keep the terminal's own colours
                continue
            r, g, b = style[starts[i]].bgcolor.triplet
            assert (r, g, b) == rgb(w)
            assert r > b if v > 0 else b > r  # red towards, blue against
        top = max(range(len(e.values)), key=lambda k: abs(e.values[k]))
        if e.estimable(top):  # (not: VADER's answers on the masks drawn show no residual)
            assert not e.uncertain(top)
            assert style[starts[top]].bgcolor.triplet == (TOWARDS if e.values[top] > 0 else AGAINST)  # full colour


def test_terminal_shows_every_instance_and_the_summary(report_path, report):
    console = Console(record=True, width=120, color_system="truecolor", force_terminal=True)
    render_terminal(report_path, console)
    out = console.export_text(clear=False)
    for e in report["instances"]:
        assert f". {e['id']} " in out
        assert f"explained by {e['explained_by']} ({e['role']})" in out
    assert "mean fidelity" in out and "cost reduction (CRR)" in out and "cost by model" in out
    twice = sum(e["role"] == "proxy" and e.get("oracle_attribution") is not None for e in report["instances"])
    assert out.count("proxy explanation (local/tfidf-lr)") == twice
    assert out.count("oracle explanation (local/vader)") == twice + sum(e["role"] == "oracle" for e in report["instances"])
    assert "\x1b[" in console.export_text(styles=True)  # coloured


@pytest.mark.parametrize("how", [pytest.param("piped", id="piped"), pytest.param("no-color", id="NO_COLOR-terminal")])
def test_without_colour_the_strongest_words_carry_their_value(how, report_path):
    x = proxied(report_path)
    if how == "piped":  # not a terminal, as in '| less' or a README
        r = runner.invoke(app, ["show", str(report_path), "--id", x.id])
        assert r.exit_code == 0, r.output
        out = r.output
    else:
        console = Console(record=True, width=120, force_terminal=True, no_color=True)
        render_terminal(report_path, console, ids=[x.id])
        out = console.export_text()
    assert "\x1b[" not in out
    flat = " ".join(out.replace("│", " ").split())
    for e in x.explanations:
        i = max(range(len(x.units)), key=lambda k: e.values[k])
        assert f"{x.units[i]}[{signed(e.values[i])}{mark(e, i)}]" in flat


def test_a_word_whose_interval_crosses_zero_ends_with_a_question_mark(report_path, report):
    console = Console(record=True, width=80, force_terminal=True, no_color=True)
    render_terminal(report_path, console)
    out = console.export_text()
    assert max(len(line) for line in out.splitlines()) <= 80
    flat = " ".join(out.replace("│", " ").split())
    assert "its 90% interval crosses zero" in flat
    views = [(x, e) for x in read_report(report_path).instances for e in x.explanations if e.errors is not None]
    assert len(views) >= len(report["instances"])  # every explanation used carries its errors
    marked = [(x, e, i) for x, e in views for idx in e.strongest(3) for i in idx]
    assert any(e.uncertain(i) for x, e, i in marked) and any(not e.uncertain(i) for x, e, i in marked)
    assert any(not e.estimable(i) for x, e, i in marked)  # VADER exactly additive on some explanation's masks
    for x, e, i in marked:
        assert f"{x.units[i]} {signed(e.values[i])}{mark(e, i)}" in flat  # the lists of strongest words


def test_show_command(report_path, report, tmp_path):
    ids = [e["id"] for e in report["instances"]]
    r = runner.invoke(app, ["show", str(report_path), "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert [i for i in ids if f". {i} " in r.output] == ids[:2]
    r = runner.invoke(app, ["show", str(report_path), "--id", ids[3], "--id", ids[1]])
    assert r.exit_code == 0 and re.findall(r"\d\. (\S+) ", r.output) == [ids[3], ids[1]]
    r = runner.invoke(app, ["show", str(report_path), "--html", str(tmp_path / "page.html")])
    assert r.exit_code == 0 and "page: " in r.output and (tmp_path / "page.html").stat().st_size > 1000


def test_show_a_bench_report(bench_dir):
    r = runner.invoke(app, ["show", str(bench_dir / "bench.json")])
    assert r.exit_code == 0, r.output
    headline = json.loads((bench_dir / "bench.json").read_text())["headline"]
    flat = " ".join(r.output.split())
    assert headline and all(h["text"] in flat for h in headline)


@pytest.mark.parametrize("args, message", [
    pytest.param(["missing.json"], "does not exist", id="missing-file"),
    pytest.param(["pyproject.toml"], "is not JSON", id="not-json"),
    pytest.param(["{screen}"], "'proxyx show' reads the reports", id="other-schema"),
    pytest.param(["{report}", "--id", "nope"], "--id 'nope' is not in the report", id="unknown-id"),
])
def test_bad_input_is_one_line(args, message, report_path, tmp_path):
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"schema": "proxyx.screen/2", "proxies": []}))
    args = [a.format(report=report_path, screen=screen) for a in args]
    r = runner.invoke(app, ["show", *args])
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.output

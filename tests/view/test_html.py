"""The HTML page of a real report, read back with html.parser: one span per unit with its exact value, nothing external."""

from __future__ import annotations

import base64
import copy
import json
import re
from html import escape
from pathlib import Path

import pytest
from page_parser import parse

from proxyx.errors import DataError
from proxyx.results import ExplainReport
from proxyx.view.html import render_html, write_html
from proxyx.view.style import Z90, signed

HEADLINE = Path(__file__).parents[2] / "docs" / "headline"


def explanations(entry: dict) -> list[tuple[str, list[float]]]:
    """(role, values) in page order: the explanation used, then the oracle's own when a proxy explained."""
    out = [(entry["role"], entry["attribution"])]
    if entry["role"] == "proxy" and entry.get("oracle_attribution") is not None:
        out.append(("oracle", entry["oracle_attribution"]))
    return out


@pytest.fixture(scope="module")
def page(report_path, tmp_path_factory) -> str:
    path = write_html(report_path, tmp_path_factory.mktemp("page") / "report.html")
    return path.read_text(encoding="utf-8")


def test_one_span_per_unit_with_its_exact_value(page, report):
    parsed = parse(page)
    assert [a.id for a in parsed.articles] == [e["id"] for e in report["instances"]]
    pairs = 0
    for article, entry in zip(parsed.articles, report["instances"]):
        expected = explanations(entry)
        assert [f.role for f in article.figures] == [role for role, _ in expected]
        for figure, (_, values) in zip(article.figures, expected):
            assert [u.index for u in figure.units] == list(range(len(entry["units"])))
            assert [u.text for u in figure.units] == entry["units"]  # unescaped back to the report's words
            assert [u.value for u in figure.units] == values  # exact: data-v holds repr(float)
            assert [u.title.split()[0] for u in figure.units] == [signed(v) for v in values]  # the hover value
        pairs += len(expected) == 2
    assert pairs >= 1 and any(e["role"] == "oracle" for e in report["instances"])  # both kinds of instance seen


def test_a_unit_whose_interval_crosses_zero_is_drawn_uncertain(page, report):
    parsed = parse(page)
    seen = set()
    for article, entry in zip(parsed.articles, report["instances"]):
        errors = entry["standard_errors"]
        assert len(errors) == len(entry["units"]) and all(se is None or se >= 0 for se in errors)
        for unit, v, se in zip(article.figures[0].units, entry["attribution"], errors):
            span = unit.attrs
            if se is None:  # not estimable: uncertain, and the tooltip says why
                assert span["data-se"] == "" and "uncertain" in span["class"].split() and "not estimable" in unit.title
                continue
            uncertain = abs(v) < Z90 * se
            assert float(span["data-se"]) == se
            assert ("uncertain" in span["class"].split()) == uncertain == ("crosses zero" in unit.title)
            assert ("background" in span["style"]) != uncertain  # no box
            seen.add(uncertain)
        if entry["role"] == "proxy" and entry.get("oracle_attribution") is not None:  # the oracle's own, its errors
            oracle = article.figures[1].units
            assert [float(u.attrs["data-se"]) if u.attrs["data-se"] else None for u in oracle] == entry[
                "oracle_standard_errors"]
    assert seen == {True, False}


def test_proxy_and_oracle_side_by_side_name_their_models(page, report):
    oracle = next(e["explained_by"] for e in report["instances"] if e["role"] == "oracle")
    for article, entry in zip(parse(page).articles, report["instances"]):
        models = [f.model for f in article.figures]
        if entry["role"] == "proxy":
            assert models == [entry["explained_by"], oracle]
        else:
            assert models == [oracle]


def test_user_text_is_escaped(page):
    parsed = parse(page)
    assert len(parsed.scripts) == 1 and "alert" not in parsed.scripts[0]  # the review's <script> stays text
    words = [u.text for a in parsed.articles for f in a.figures for u in f.units]
    assert "<3" in words and "&amp;" in words and '"smell"' in words and "<script>alert('x')</script>" in words
    assert 'q"&<1>' in [a.id for a in parsed.articles]
    assert "<script>alert" not in page and 'data-id="q"' not in page


def test_nothing_external(page):
    parsed = parse(page)
    assert not re.search(r"https?://", page)
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "action", "poster", "srcset", "data"):
            value = (attrs.get(name) or "").strip()
            assert not value or value.startswith(("data:", "#")), (tag, name, value)
        assert tag not in ("link", "iframe", "object", "embed", "base")
    css = "".join(parsed.styles)
    assert "@import" not in css and "@font-face" not in css and "url(" not in css
    js = "".join(parsed.scripts)
    assert not re.search(r"\b(fetch|XMLHttpRequest|import\(|WebSocket|EventSource|sendBeacon)\b", js)


def test_summary_at_the_top(page, report):
    head = page[:page.index("<article")]
    assert "mean fidelity" in head and f"{report['fidelity']['mean_fidelity']:.2f}" in head
    assert "cost reduction (CRR)" in head and f"{report['crr']['usd']:.2f}x" in head
    for model in {r["model"] for r in report["ledger"]}:
        assert f"<td>{model}</td>" in head


def test_limit_and_ids_pick_instances(report_path, report):
    ids = [e["id"] for e in report["instances"]]
    assert [a.id for a in parse(render_html(report_path, limit=2)).articles] == ids[:2]
    assert [a.id for a in parse(render_html(report_path, ids=[ids[3], ids[0]])).articles] == [ids[3], ids[0]]
    with pytest.raises(DataError, match="--id 'nope' is not in the report"):
        render_html(report_path, ids=["nope"])


def test_a_failed_instance_shows_its_reason(report):
    doc = copy.deepcopy(report)
    entry = doc["instances"][0]
    for key in ("attribution", "oracle_attribution", "fidelity"):
        entry.pop(key, None)
    entry.update(status="failed", error="CallFailed: <timeout> after 4 retries")
    article = parse(render_html(doc)).articles[0]
    assert article.failed and not article.figures
    assert "CallFailed: <timeout> after 4 retries" in article.text


def test_a_damaged_report_is_one_line_error(report):
    doc = copy.deepcopy(report)
    doc["instances"][0]["attribution"] = doc["instances"][0]["attribution"][:-1]
    with pytest.raises(DataError) as e:
        render_html(doc)
    assert "\n" not in str(e.value)


@pytest.fixture(params=[pytest.param("fresh", id="fresh-bench-run"), pytest.param("headline", id="docs-headline")])
def bench_json(request) -> Path:
    if request.param == "headline":
        return HEADLINE / "bench.json"
    return request.getfixturevalue("bench_dir") / "bench.json"


def test_bench_page_embeds_the_plot(bench_json, tmp_path):
    png = (bench_json.parent / "fidelity_vs_cost.png").read_bytes()
    page = write_html(bench_json, tmp_path / "bench.html").read_text(encoding="utf-8")
    images = [a for tag, a in parse(page).tags if tag == "img"]
    assert len(images) == 1 and images[0]["src"].startswith("data:image/png;base64,")
    assert base64.b64decode(images[0]["src"].split(",", 1)[1]) == png
    doc = json.loads(bench_json.read_text())
    lines = [h["text"] for h in doc["headline"]] + list((doc.get("frontier") or {}).get("headline") or ())
    assert lines and all(escape(line) in page for line in lines)
    assert page.count("<tr><td>") >= len(doc["cells"])
    assert not re.search(r"https?://", page)


def test_bench_without_its_png_draws_the_plot(bench_dir, tmp_path):
    alone = tmp_path / "bench.json"
    alone.write_text((bench_dir / "bench.json").read_text())
    page = render_html(alone)
    src = next(a["src"] for tag, a in parse(page).tags if tag == "img")
    assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_typed_report_renders_like_its_file(report_path):
    """What 'explain' holds in memory (proxyx.results.ExplainReport) gives the same heatmaps as the file."""
    typed = ExplainReport.load(report_path)

    def heatmaps(page: str):
        return [(a.id, [(f.role, f.model, [(u.text, u.value) for u in f.units]) for f in a.figures])
                for a in parse(page).articles]

    assert heatmaps(render_html(typed)) == heatmaps(render_html(report_path))

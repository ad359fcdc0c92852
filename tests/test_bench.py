"""proxyx bench on a tiny grid with real local models (VADER as the oracle: fast)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from proxyx.bench.run import FILES, bench_proxies, run_bench
from proxyx.bench.summary import headline, pareto
from proxyx.cli import app
from proxyx.config import load_config, parse_config
from proxyx.errors import ConfigError, DataError
from proxyx.results import BenchReport

REVIEWS = [
    ("Absolutely delicious coffee, rich and smooth, the best I have ever had.", "great"),
    ("Stale and bland crackers. I threw the whole bag away after one bite.", "other"),
    ("Good value for money and my kids love these crunchy little snacks.", "great"),
    ("The tea arrived broken and tasted like dust, very disappointing purchase.", "other"),
    ("Wonderful flavor, fresh nuts, fast shipping, I will buy again soon.", "great"),
    ("Terrible aftertaste, far too sweet, and the package was half empty.", "other"),
    ("My dog loves these treats and they are healthy and affordable too.", "great"),
    ("Not worth the price, the chocolate was melted and had a strange smell.", "other"),
    ("Great snack for work, tasty and filling without being too salty.", "great"),
    ("Awful texture and no flavor at all, I would not recommend this.", "other"),
    ("Lovely honey, sweet and thick, perfect in my morning tea every day.", "great"),
    ("The soup was watery and bland, a complete waste of money sadly.", "other"),
]


GRID = "{methods: [lime, kernel_shap], samples: [12, 24]}"
SMALL = "{proxies: [vader-twin], methods: [lime], samples: [12]}"


def make(tmp_path: Path, extra: str = "", *, grid: str = GRID, limit: int = 3, oracle: str = "local/vader") -> Path:
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": t, "label": y}) + "\n" for i, (t, y) in enumerate(REVIEWS)))
    cfg = tmp_path / "bench.yaml"
    cfg.write_text(
        f"oracle: {{model: {oracle}, price: {{input_per_mtok: 2.5, output_per_mtok: 10.0}}}}\n"
        "proxies:\n  - model: local/tfidf-lr\n  - {model: local/vader, alias: vader-twin}\n"
        f"dataset: {{path: {data}, limit: {limit}}}\n"
        "screen: {min_instances: 2, max_instances: 3}\n"
        f"bench: {grid}\n"
        f"cache_dir: {tmp_path / 'cache'}\n"
        f"output: {tmp_path / 'report.json'}\n" + extra
    )
    return cfg


def reproducible(doc) -> dict:
    """The document without what a rerun changes: ``created`` and the ``run`` blocks."""
    if isinstance(doc, BenchReport):
        return reproducible(doc.to_dict())
    if isinstance(doc, dict):
        return {k: reproducible(v) for k, v in doc.items() if k not in ("created", "run")}
    if isinstance(doc, list):
        return [reproducible(v) for v in doc]
    return doc


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """One bench run, shared by the structure tests: (config path, out dir, document)."""
    tmp = tmp_path_factory.mktemp("bench")
    cfg = make(tmp)
    doc = run_bench(load_config(cfg), out_dir=tmp / "out")
    return cfg, tmp / "out", doc


def test_bench_json_structure(first):
    _, out, doc = first
    assert BenchReport.load(out / "bench.json") == doc
    assert json.loads((out / "bench.json").read_text())["schema"] == BenchReport.SCHEMA == "proxyx.bench/2"
    assert doc.status == "complete"
    assert doc.config["bench"]["samples"] == [12, 24] and "proxyx" in doc.versions
    assert len(doc.references) == 4
    assert [(c.method, c.samples, c.proxy) for c in doc.cells] == [
        (m, s, p) for m in ("lime", "kernel_shap") for s in (12, 24) for p in ("local/tfidf-lr", "vader-twin")]
    for c in doc.cells:
        assert c.status == "ok" and c.instances == 3
        assert c.screen.decision in ("accepted", "rejected_futility", "rejected_max", "rejected_data")
        pipe, only = c.pipeline, c.proxy_only
        lo, hi = pipe.fidelity.ci95
        assert lo <= pipe.fidelity.mean_fidelity <= hi
        agreeing = sum(i.gate_agrees for i in c.instances_detail)
        # the oracle's reference explanations are evaluation, paid wherever the proxy explained
        assert c.cost.screening.oracle.calls > 0 and (c.cost.evaluation.calls > 0) == (agreeing > 0)
        assert c.gate_agreement == pytest.approx(agreeing / 3)
        assert only.explained_by_proxy == agreeing
        if c.screen.accepted:
            assert pipe.explained_by_proxy == agreeing
        else:  # the oracle explains everything: fidelity 1 wherever it is defined
            assert pipe.explained_by_proxy == 0
            assert all(i.fidelity in (1.0, None) for i in c.instances_detail)
        # CRR in dollars: all-oracle cost over explanation (proxy + fallback) plus screening, every model
        cost = c.cost
        assert pipe.crr.usd == pytest.approx(
            cost.all_oracle.nano_usd / (cost.explanation.total.nano_usd + cost.screening.total.nano_usd), rel=1e-12)
        assert pipe.crr.calls == pytest.approx(
            cost.all_oracle.calls / (cost.explanation.oracle.calls + cost.screening.oracle.calls), rel=1e-12)
        assert all(v > 0 for v in c.throughput_per_hour.model_dump().values())
    # The same budget's oracle-alone cost, whichever proxy the cell is about.
    for ref in doc.references:
        cells = [c for c in doc.cells if (c.method, c.samples) == (ref.method, ref.samples)]
        assert {c.cost.all_oracle.calls for c in cells} == {ref.cost.explanation.calls}
    assert any(c.pipeline.pareto for c in doc.cells)
    assert {h.method for h in doc.headline} == {"lime", "kernel_shap"}


def test_markdown_and_plot(first):
    _, out, doc = first
    md = (out / "bench.md").read_text()
    assert md.startswith("# proxyx bench")
    table = [line for line in md.splitlines() if line.startswith("| local/tfidf-lr") or line.startswith("| vader-twin")]
    assert len(table) == len(doc.cells)
    assert "## Headline" in md and "## The oracle alone" in md
    assert all(h.text in md for h in doc.headline)
    from matplotlib.image import imread

    png = imread(out / "fidelity_vs_cost.png")[..., :3]
    assert png.shape[0] > 400 and png.shape[1] > 800
    # A line per proxy in its colour (matplotlib's C0, C1), not an empty frame.
    for rgb in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):
        near = np.all(np.abs(png * 255 - np.array(rgb)) < 8, axis=-1)
        assert near.sum() > 200, rgb


def test_smaller_budgets_run_after_the_largest_and_reuse_its_calls(first):
    _, _, doc = first
    for method in ("lime", "kernel_shap"):
        small, big = (r for r in doc.references if r.method == method)
        assert (small.samples, big.samples) == (12, 24)  # listed in the config's order
        # Run largest first: the 12-sample masks are among the 24-sample ones, so little is left to pay.
        assert small.run.paid.calls < 0.3 * big.run.paid.calls, (small.run, big.run)


def test_rerun_is_all_cache_hits_and_identical(first):
    cfg, out, doc = first
    again = run_bench(load_config(cfg), out_dir=out)
    assert again.run.paid.calls == 0 and again.run.paid.nano_usd == 0 and again.run.cache_hits > 0
    assert doc.run.paid.calls > 0
    assert reproducible(again) == reproducible(doc)


def test_stopped_then_resumed_gives_the_same_numbers(first, tmp_path):
    _, _, uninterrupted = first
    cfg = make(tmp_path, f"max_usd: {0.6 * uninterrupted.run.paid.usd}\n")  # stops within the second of four budgets
    stopped = run_bench(load_config(cfg), out_dir=tmp_path / "out")
    assert stopped.status == "stopped_budget" and 0 < len(stopped.cells) < 8
    assert BenchReport.load(tmp_path / "out" / "bench.json").status == "stopped_budget"
    resumed = run_bench(load_config(make(tmp_path)), out_dir=tmp_path / "out")
    assert resumed.status == "complete"
    assert 0 < resumed.run.paid.calls < uninterrupted.run.paid.calls
    # Every number, model time included, comes from the cache from now on.
    again = run_bench(load_config(make(tmp_path)), out_dir=tmp_path / "out")
    assert again.run.paid.calls == 0 and reproducible(again) == reproducible(resumed)
    # Against a run that was never stopped (another cache): all but the model time measured when paid.
    assert untimed(resumed) == untimed(uninterrupted)


def untimed(doc):
    if isinstance(doc, BenchReport):
        return untimed(doc.to_dict())
    if isinstance(doc, dict):
        return {k: untimed(v) for k, v in doc.items()
                if k not in ("created", "run", "config", "throughput_per_hour") and "seconds" not in k}
    if isinstance(doc, list):
        return [untimed(v) for v in doc]
    return doc


def test_cli_writes_the_files_and_prints_the_tables(tmp_path):
    cfg = make(tmp_path, grid=SMALL)
    r = CliRunner().invoke(app, ["bench", str(cfg), "--out", str(tmp_path / "b"), "-q"], terminal_width=200)
    assert r.exit_code == 0, r.output
    for name in FILES:
        assert (tmp_path / "b" / name).stat().st_size > 0
    assert "proxyx bench: fidelity" in r.output and "proxyx bench: cost" in r.output and "headline" in r.output
    doc = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert [(c["proxy"], c["method"], c["samples"]) for c in doc["cells"]] == [("vader-twin", "lime", 12)]


def test_cli_default_out_is_next_to_output(tmp_path):
    cfg = make(tmp_path, grid=SMALL)
    r = CliRunner().invoke(app, ["bench", str(cfg), "-q", "-n", "2"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "report" / "bench.json").read_text())["instances"] == 2


@pytest.mark.parametrize("bench, error", [
    pytest.param({"proxies": ["gpt-nope"]}, "not in the proxy pool", id="unknown-proxy"),
    pytest.param({"proxies": []}, "bench.proxies is empty", id="empty-proxies"),
])
def test_bench_proxies_are_checked(bench, error):
    cfg = parse_config({"oracle": "local/vader", "proxies": ["local/tfidf-lr"], "bench": bench})
    with pytest.raises(ConfigError, match=error):
        bench_proxies(cfg)


def test_no_proxies_is_a_data_error():
    with pytest.raises(DataError, match="at least one proxy"):
        bench_proxies(parse_config({"oracle": "local/vader"}))


def test_cli_bad_config_exits_2(tmp_path):
    cfg = make(tmp_path, grid="{proxies: [nope]}")
    r = CliRunner().invoke(app, ["bench", str(cfg), "-q"])
    assert r.exit_code == 2 and "not in the proxy pool" in r.output


def test_an_unwritable_output_is_refused_before_anything_is_paid(tmp_path):
    cfg = make(tmp_path, grid=SMALL)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "bench.md").symlink_to(tmp_path / "elsewhere.md")
    r = CliRunner().invoke(app, ["bench", str(cfg), "--out", str(tmp_path / "b"), "-q"])
    assert r.exit_code == 2 and "is a symlink" in r.output, r.output
    assert not (tmp_path / "cache").exists() and not (tmp_path / "elsewhere.md").exists()


@pytest.mark.parametrize("points, front", [
    pytest.param([(1, 0.5), (2, 0.9), (3, 0.8), None], [True, True, False, False], id="dominated"),
    pytest.param([(1, 0.9), (1, 0.9)], [True, True], id="ties"),
])
def test_pareto(points, front):
    assert pareto(points) == front


def test_with_the_gemma_oracle(tmp_path):
    """One tiny cell with the embedded llama.cpp oracle (skipped where it is not installed)."""
    pytest.importorskip("proxyx.models.llamacpp")
    pytest.importorskip("llama_cpp")
    cfg = make(tmp_path, "fidelity: {heldout_samples: 8}\n", oracle="local/gemma-3-270m", limit=1,
               grid="{proxies: [vader-twin], methods: [lime], samples: [8]}")
    doc = run_bench(load_config(cfg), out_dir=tmp_path / "out")
    assert doc.status == "complete", doc.stop_reason
    (cell,) = doc.cells
    assert cell.instances == 1 and cell.cost.all_oracle.calls > 0
    assert cell.throughput_per_hour.oracle_alone > 0
    for name in FILES:
        assert (tmp_path / "out" / name).is_file()


def test_cells_say_when_the_screen_pays_back(first):
    _, _, doc = first
    for c in doc.cells:
        p = c.pipeline
        assert 0 < p.cost_share_usd_excl_screen <= p.cost_share_usd
        assert p.instances_to_target is None or p.instances_to_target >= 1


def test_a_distilled_proxy_counts_its_distillation_with_the_screen(tmp_path):
    cfg = make(tmp_path, grid="{proxies: [distilled], methods: [lime], samples: [12, 24]}")
    cfg.write_text(cfg.read_text().replace("proxies:\n", "proxies:\n  - {model: local/tfidf-lr, alias: distilled, distill: 20}\n"))
    doc = run_bench(load_config(cfg))
    rows = [r for r in doc.run.ledger if r.purpose == "distill:distilled"]
    assert [(r.model, r.role) for r in rows] == [("local/vader", "oracle")]
    n = rows[0].cost.nominal.calls
    assert 0 < n <= 20  # at most 20 texts asked (the training rows there are), repeats asked once
    for c in doc.cells:  # every cell counts it: a one-off cost of using the proxy on the task, like the screen
        assert c.screen.distillation.calls == n
        assert c.cost.screening.oracle.calls >= n
    again = run_bench(load_config(cfg))
    assert again.run.paid.calls == 0 and reproducible(again) == reproducible(doc)


def test_headline_names_the_closest_proxy_when_the_screen_rejects(first):
    _, _, doc = first
    assert [h.method for h in doc.headline] == ["lime", "kernel_shap"]
    for h in doc.headline:
        accepted = [c for c in doc.cells if c.method == h.method and c.screen.accepted]
        if not accepted:
            assert h.cell is None and "rejected every proxy" in h.text
        cell = h.cell and next(c for c in doc.cells if (c.proxy, c.method, c.samples) ==
                               (h.cell.proxy, h.method, h.cell.samples))
        if cell and cell.screen.accepted:
            assert h.best_proxy_alone is None
        else:
            best = h.best_proxy_alone
            same = [c for c in doc.cells if c.method == h.method and c.proxy_only.fidelity]
            assert best.ratio_of_means == max(c.proxy_only.fidelity.ratio_of_means for c in same)
            assert best.proxy in best.text


def test_headline_when_every_screen_rejects(first):
    _, _, doc = first
    cells = [c.model_copy(deep=True) for c in doc.cells]
    for c in cells:
        c.screen.decision = "rejected_futility"
    lime = headline(cells, 0.9)[0]
    assert lime.method == "lime" and lime.cell is None
    assert "the screen rejected every proxy at every budget (4 screens)" in lime.text
    assert lime.best_proxy_alone.proxy in ("local/tfidf-lr", "vader-twin")


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal_and_cut_no_cell(width):
    """The headline bench (a grid of 30 reviews and its frontier): every line fits, every cell is printed whole."""
    from rich.console import Console

    from proxyx.bench.frontier_render import frontier_rows
    from proxyx.bench.render import _rows, print_bench

    report = BenchReport.load(Path(__file__).parents[1] / "docs" / "headline" / "bench.json")
    out = io.StringIO()
    print_bench(report, Console(file=out, width=width, emoji=False, no_color=True))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    cells = [c for row in frontier_rows(report.frontier.summaries) for c in row[5:8]]
    cells += [c for table in ("fidelity", "cost") for row in _rows(report, table)[1] for c in row] if report.cells else []
    assert cells and all(c in text for c in cells)

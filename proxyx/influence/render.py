"""Terminal tables of ``proxyx influence``: the benchmark, and the matches of one text."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..results.influence import InfluenceBench, InfluenceLookup
from ..view.tables import plain


def _params(n: int) -> str:
    return "-" if n == 0 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}"


def print_bench(report: InfluenceBench, console: Console, path=None) -> None:
    for s in report.settings:
        t = Table(title=f"{s.name}: {s.description}; top-1 of {report.candidates} BM25 candidates, "
                        f"{s.test_queries} test queries (source in candidates: {s.recall_at_k:.0%})",
                  title_justify="left")
        for col in ("method", "representation", "top-1", "95% interval", "parameters", "s / example"):
            t.add_column(col, justify="left" if col in ("method", "representation") else "right")
        for m in (m for m in report.scores if m.setting == s.name):
            t.add_row(m.method, m.representation, f"{m.accuracy:.3f}", f"{m.low:.2f}-{m.high:.2f}", _params(m.params),
                      "-" if m.seconds_per_example is None else f"{m.seconds_per_example:.2f}")
        console.print(t)
        console.print(f"  greedy components, chosen on the {report.dev_sources} dev queries: {', '.join(s.selected)}",
                      highlight=False)
        if s.model_labels:
            console.print(f"  the oracle's label differs from the source's on {s.labels_changed} of {s.queries} queries",
                          highlight=False)
    c = report.cost
    console.print(f"gradients: {c.nominal.calls} backward passes, {c.nominal.seconds / 60:.1f} min of compute "
                  f"({c.paid.calls} computed now, {c.hits} from the store); wall {report.wall_seconds / 60:.1f} min; "
                  f"{report.training_examples} training reviews, {report.dev_sources} dev / {report.test_sources} test "
                  "sources", highlight=False)
    if path is not None:
        console.print(f"report: {path}", highlight=False, markup=False)


def print_lookup(report: InfluenceLookup, console: Console, path=None) -> None:
    t = Table(title=f"training examples closest to the text (label {report.label}, {report.label_source}); "
                    f"{report.representation}, {_params(report.params)} parameters; {report.pool} BM25 candidates",
              title_justify="left")
    for col in ("rank", "score", "bm25", "label", "id", "text"):
        t.add_column(col, justify="right" if col in ("rank", "score", "bm25") else "left")
    for m in report.matches:
        text = m.text if len(m.text) <= 120 else m.text[:117] + "..."
        t.add_row(str(m.rank), f"{m.score:.3f}", str(m.bm25_rank), plain(m.label), plain(m.id), plain(text))
    console.print(t)
    c = report.cost
    console.print(f"{c.nominal.calls} gradients ({c.paid.calls} computed now, {c.nominal.seconds:.0f} s of compute); "
                  f"wall {report.wall_seconds:.0f} s", highlight=False)
    if path is not None:
        console.print(f"report: {path}", highlight=False, markup=False)

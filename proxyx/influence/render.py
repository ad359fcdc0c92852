"""Terminal tables of ``proxyx influence``: the benchmark, and the matches of one text."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..results.influence import InfluenceBench, InfluenceLookup
from ..view.tables import plain, print_stopped


def _params(n: int) -> str:
    return "-" if n == 0 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}"


def print_bench(report: InfluenceBench, console: Console, path=None) -> None:
    if report.status != "complete":
        print_stopped(report.stop_reason, [], console, {"report": str(path)} if path else None)
        return
    k = report.candidates
    for s in report.settings:
        t = Table(title=f"{s.name}: {s.description}; {s.test_queries} test queries, {k} BM25 candidates "
                        f"(BM25 found the source in {s.bm25_recall:.0%}; else it is put in last)",
                  title_justify="left")
        for col in ("method", "representation", "top-1", "95% interval", "top-5", "top-1 of 5", "parameters",
                    "s / example"):
            t.add_column(col, justify="left" if col in ("method", "representation") else "right")
        for m in (m for m in report.scores if m.setting == s.name):
            t.add_row(m.method, m.representation, f"{m.top1:.3f}", f"{m.low:.2f}-{m.high:.2f}", f"{m.top5:.3f}",
                      f"{m.top1_of_5:.3f}", _params(m.params),
                      "-" if m.seconds_per_example is None else f"{m.seconds_per_example:.2f}")
        console.print(t)
        if s.selected:
            console.print(f"  greedy components, chosen on the dev queries: {', '.join(s.selected)}", highlight=False)
        if s.model_labels:
            console.print(f"  the oracle's label differs from the source's on {s.labels_changed} of {s.queries} queries",
                          highlight=False)
    if report.paraphrases is not None:
        f = report.paraphrases
        console.print(f"Gemma paraphrases: {f.generated} generated, {f.similar} with MiniLM cosine >= "
                      f"{f.min_similarity:g}, {f.same_label} of those with the source's oracle label, {f.rewritten} "
                      f"of those with <= {f.max_overlap:.0%} of their content words from the source (kept)",
                      highlight=False)
    c = report.cost
    console.print(f"gradients: {c.nominal.calls} backward passes, {c.nominal.seconds / 60:.1f} min of compute "
                  f"({c.paid.calls} computed now, {c.hits} from the store), {report.seconds_per_1000 / 60:.0f} min per "
                  f"1,000 examples; peak memory {report.peak_rss_gb:.2f} GB; wall {report.wall_seconds / 60:.1f} min; "
                  f"{report.training_examples} training reviews, {report.dev_sources} dev / {report.test_sources} test "
                  "sources", highlight=False)
    if path is not None:
        console.print(f"report: {path}", highlight=False, markup=False, soft_wrap=True)


def print_lookup(report: InfluenceLookup, console: Console, path=None) -> None:
    if report.status != "complete":
        print_stopped(report.stop_reason, [], console, {"report": str(path)} if path else None)
        return
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
        console.print(f"report: {path}", highlight=False, markup=False, soft_wrap=True)

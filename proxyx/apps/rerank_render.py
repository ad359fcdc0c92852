"""The terminal view of ``proxyx rerank``: the recall and accuracy table, the screen, the cost of each path."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..results.rerank import RerankReport, RerankRow
from ..view.tables import print_stopped


def _recall(row: RerankRow, m: int) -> str:
    iv = row.spread.get(m)
    return f"{row.recall[m]:.2f}" + (f" [{iv.low:.2f}, {iv.high:.2f}]" if iv else "")


def print_rerank(report: RerankReport, console: Console) -> None:
    if report.status != "complete":
        print_stopped(report.stop_reason, [f"question {q.id}" for q in report.questions], console, report.files)
        return
    top = sorted(report.rows[0].recall)
    n = len(report.questions)
    t = Table(title=f"rerank: {report.dataset}, {n} questions, BM25's top {report.k} passages "
                    f"(all {report.retrieval.questions} questions: gold in top {report.k} "
                    f"{report.retrieval.recall_at_k:.0%})")
    t.add_column("ranking")
    for m in top:
        t.add_column(f"recall@{m}", justify="right")
    for m in top:
        t.add_column(f"F1/cont. top-{m}", justify="right")
    t.add_column("calls", justify="right")
    t.add_column("$", justify="right")
    for row in report.rows:
        acc = {a.top: a for a in row.accuracy}
        t.add_row(row.method.removeprefix("proxy:lexical/"), *(_recall(row, m) for m in top),
                  *(f"{acc[m].f1:.2f}/{acc[m].containment:.2f}" if m in acc else "" for m in top),
                  f"{row.cost.nominal.calls:,}", f"{row.cost.nominal.usd:.4f}")
    console.print(t)
    for row in report.rows:
        diff = "; ".join(f"recall@{m} {d.mean:+.2f}" + ("" if d.low is None else f" [{d.low:+.2f}, {d.high:+.2f}]")
                         for m, d in sorted(row.vs_bm25.items()))
        parts = [p for p in (f"vs BM25 (paired, 95%) {diff}" if diff else "", row.note,
                             f"{row.cost.nominal.tokens:,} tokens") if p]
        console.print(f"  {row.method}: {'; '.join(parts)}", highlight=False)
    s = report.screen
    bound = "" if s.lower is None else f", mean d {s.mean_d:.3f}, lower bound {s.lower:.3f}"
    rho = "n/a" if s.mean_spearman is None else f"{s.mean_spearman:.2f}"
    pooled = "n/a" if s.pooled_spearman is None else f"{s.pooled_spearman:.2f}"
    console.print(f"screen of {s.proxy} against the oracle (tau {s.tau}, confidence {s.confidence:.3g}): "
                  f"[bold]{s.decision}[/] after {s.n} questions{bound}; Spearman rho with the oracle's values "
                  f"{rho} per question, {pooled} pooled; same top passage on {s.top1_agreement:.0%} of questions",
                  highlight=False)
    paid = sum(r.cost.paid.usd for r in report.ledger)
    console.print(f"value: {report.value}. accuracy: {report.accuracy_metric}. "
                  f"paid this run ${paid:.4f}; wall time {report.wall_time_s:.0f} s", highlight=False)

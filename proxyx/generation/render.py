"""Terminal view of a generate report: each answer, its top units at every level, and what each level cost."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..results import ExplainReport
from ..view.baseline import baseline_table
from ..view.style import printable


def _short(text: str, n: int = 60) -> str:
    text = printable(" ".join(text.split()))
    return text if len(text) <= n else text[: n - 3] + "..."


def print_generate(report: ExplainReport, console: Console, path=None, top: int = 3) -> None:
    info = report.generation
    if report.baseline is not None:  # an estimator: first, did the proxy help at the same oracle spend
        console.print(baseline_table(report.baseline))
    console.print(f"[bold]{escape(info.oracle)}[/]: value {info.value}; {escape(info.rule)}", highlight=False)
    for note in report.notes:
        console.print(f"note: {printable(note)}", highlight=False, markup=False)
    for g in report.generated:
        console.print(f"\n[bold]{escape(printable(g.id))}[/] {escape(printable(g.question))}", highlight=False)
        if g.error:
            console.print(f"  failed: {printable(g.error)}", highlight=False, markup=False)
            continue
        console.print(f"  answer: {g.answer.strip()!r}  ({g.prompt_tokens} prompt tokens, {g.seconds:.1f} s)",
                      highlight=False, markup=False)
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        for col in ("level", "calls", "paid", "s", "exact", "top units (attribution)"):
            table.add_column(col)
        for lv in g.levels:
            ranked = sorted((i for i in lv.active), key=lambda i: -(lv.values[i] or 0.0))[:top]
            units = "; ".join(f"{_short(lv.units[i], 40 if lv.unit != 'word' else 20)} ({lv.values[i]:+.3f})"
                              for i in ranked)
            if lv.unit == "document" and g.gold_document is not None:
                units += f"  (gold document: {_short(lv.units[g.gold_document], 30)} {lv.values[g.gold_document]:+.3f})"
            table.add_row(lv.unit, str(lv.cost.nominal.calls), str(lv.cost.paid.calls), f"{lv.seconds:.1f}",
                          "yes" if lv.exact else "no", escape(units))
        console.print(table)
        if g.reuse is not None:
            console.print(f"  decodes {g.reuse.decodes}, saved by reuse {g.reuse.saved} "
                          f"({g.reuse.checks} teacher-forced checks)", highlight=False)
    s = report.summary
    paid = sum(r.cost.paid.usd for r in report.ledger)
    nominal = sum(r.cost.nominal.usd for r in report.ledger)
    console.print(f"\n{s.explained} of {s.instances} explained in {s.wall_time_s:.1f} s; oracle ${nominal:.4f} "
                  f"nominal, ${paid:.4f} paid this run" + (f"; report: {path}" if path else ""), highlight=False)

"""The terminal view of a report: each instance's words coloured by attribution (like shap's text plot).

Without colour (a pipe, ``NO_COLOR``, a README) the strongest words carry
their value in brackets instead, so plain text still says which words
mattered. A word whose 90% interval crosses zero (its value is within 1.645
standard errors of 0) is uncertain: in colour italic, in its direction's
colour without a box; in brackets and lists its value ends with ``?``, or
with ``±—`` when its error is not estimable (the oracle's answers show no
residual: ``explainers/uncertainty.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from rich.console import Console, Group
from rich.panel import Panel
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .adapter import Explanation, InstanceView, ReportView, read_report, select
from .baseline import baseline_lines
from .style import FAINT, TOP, hex_color, printable, shade, signed, text_color
from .tables import num, pct, plain, usd


def heatmap_text(units: tuple[str, ...], explanation: Explanation, *, plain: bool = False) -> Text:
    """The units in order, each shaded by its value; when ``plain``, the strongest carry it in brackets."""
    marked = set().union(*explanation.strongest(TOP)) if plain else set()
    out = Text()
    for i, (unit, value) in enumerate(zip(units, explanation.values)):
        unit = printable(unit)
        if i:
            out.append(" ")
        w = shade(value, explanation.scale)
        if plain:
            out.append(f"{unit}[{_value(explanation, i)}]" if i in marked else unit)
        elif explanation.uncertain(i):
            out.append(unit, Style(italic=True, color=hex_color(1.0 if w >= 0 else -1.0) if abs(w) >= FAINT else None))
        elif abs(w) >= FAINT:
            out.append(unit, Style(color=text_color(w), bgcolor=hex_color(w)))
        else:
            out.append(unit)
    return out


def top_words(units: tuple[str, ...], explanation: Explanation, label: str | None) -> Text:
    """'towards LABEL: word +v, ...   against LABEL: ...' for the strongest words of each sign."""
    name = printable(label or "the label")
    parts = [f"{title} {name}: " + ", ".join(f"{printable(units[i])} {_value(explanation, i)}" for i in idx)
             for title, idx in zip(("towards", "against"), explanation.strongest(TOP)) if idx]
    return Text("   ".join(parts), style="dim")


def _value(explanation: Explanation, i: int) -> str:
    """A unit's value, with ``?`` when its 90% interval crosses zero, ``±—`` when its error is not estimable."""
    mark = "±—" if not explanation.estimable(i) else "?" if explanation.uncertain(i) else ""
    return signed(explanation.values[i]) + mark


def _facts(x: InstanceView) -> Text:
    parts = [f"oracle's label: {printable(x.label or '-')}" + (f" (p={x.prob:.2f})" if x.prob is not None else ""),
             f"gold: {printable(x.gold or '-')}",
             f"explained by {printable(x.explained_by or '-')}" + (f" ({printable(x.role)})" if x.role else "")]
    if x.adaptive:
        parts.append(x.adaptive)
    if x.q_estimate is not None:
        parts.append(f"AOPC {x.q_estimate:.3f} with the proxy vs {num(x.q_baseline, '.3f')} for the oracle alone at "
                     f"n = {x.baseline_samples}")
    if x.fidelity is not None or x.q_proxy is not None:
        parts.append(f"fidelity {num(x.fidelity)} (AOPC {num(x.q_proxy, '.3f')} vs oracle's {num(x.q_oracle, '.3f')})")
    if x.spearman is not None:
        parts.append(f"Spearman {x.spearman:+.2f}")
    if x.usd is not None:
        parts.append(f"cost {usd(x.usd)}" + (f" (oracle alone {usd(x.all_oracle_usd)})" if x.all_oracle_usd is not None else ""))
    return Text(" · ".join(parts))


def instance_panel(x: InstanceView, number: int, *, plain: bool = False) -> Panel:
    title = Text(f"{number}. {printable(x.id)}")
    if x.status != "ok" or x.explanation is None:
        failed = Text(f"failed: {printable(x.error or 'no attribution in the report')}", style="bold red")
        body = Group(_facts(x), failed, Text(printable(x.text, lines=True)))
        return Panel(body, title=title, title_align="left", border_style="red")
    rows: list = [_facts(x)]
    for e in x.explanations:
        rows.append(Text(f"{printable(e.title)} ({printable(e.model)})", style="bold"))
        rows.append(heatmap_text(x.units, e, plain=plain))
        rows.append(top_words(x.units, e, x.label))
    return Panel(Group(*rows), title=title, title_align="left")


def summary_text(view: ReportView) -> Text:
    """One line each: with the proxy vs the oracle alone at n (estimators), fidelity, cost reduction, who explained,
    cost by model."""
    out = Text()
    if view.baseline is not None:
        for line in baseline_lines(view.baseline):
            out.append(line + "\n", style="bold")
    if view.mean_fidelity is not None:
        ci = f", 95% CI {view.fidelity_ci95[0]:.2f}-{view.fidelity_ci95[1]:.2f}" if view.fidelity_ci95 else ""
        n = view.fidelity_n - view.fidelity_undefined
        out.append(f"mean fidelity {view.mean_fidelity:.2f} over {n} proxy explanation{'s' * (n != 1)}{ci}, "
                   f"Spearman {num(view.mean_spearman)}\n")
    if view.crr_usd is not None:
        est = " (estimated)" if view.all_oracle_estimated else ""
        out.append(f"cost reduction (CRR) {view.crr_usd:.2f}x: {usd(view.usd_with_proxies)} with proxies "
                   f"vs {usd(view.usd_all_oracle)} for the oracle alone{est}\n")
    if view.explained_by:
        out.append("explained by " + ", ".join(f"{printable(m)}: {n}" for m, n in sorted(view.explained_by.items()))
                   + "\n")
    if view.costs:
        out.append("cost by model " + ", ".join(
            f"{printable(c.model)} {usd(c.usd)}"
            + (f" (of which evaluation {usd(c.evaluation_usd)})" if c.evaluation_usd else "")
            for c in view.costs) + "\n")
    out.append("red: towards the oracle's label, blue: against; intensity = |value| / the explanation's largest |value|",
               style="dim")
    if any(e.errors is not None for x in view.instances for e in x.explanations):
        out.append("\nitalic, no box (without colour: a value ending in ?): uncertain, its 90% interval crosses zero"
                   " (±—: its error is not estimable)", style="dim")
    return out


def bench_table(view: ReportView) -> Table:
    t = Table(title="fidelity against cost (screen-and-apply | proxy wherever its label agrees)")
    for col in ("proxy", "method", "samples", "screen", "fidelity", "cost share", "| proxy fidelity", "cost share"):
        t.add_column(col, justify="left" if col in ("proxy", "method", "screen") else "right", no_wrap=True)
    for c in view.cells:
        t.add_row(plain(c.proxy), plain(c.method), str(c.samples), plain(c.decision or "-"), num(c.fidelity),
                  pct(c.cost_share), num(c.proxy_only_fidelity),
                  pct(c.proxy_only_cost_share))
    return t


def render_terminal(report: ReportView | Mapping | str | Path, console: Console, *, ids: list[str] | None = None,
                    limit: int | None = None, plain: bool | None = None) -> None:
    """Print a report's heatmaps (explain) or its headline and grid (bench).

    ``plain`` defaults to True when the console has no colour.
    """
    view = select(read_report(report), ids=ids, limit=limit)
    plain = (console.color_system is None or console.no_color) if plain is None else plain
    if view.generation is not None:  # task.type: generate
        from .generated_text import render_generated

        render_generated(view, console, plain=plain)
        return
    if view.kind == "bench":
        for line in view.headlines:
            console.print(Text(printable(line)))
        console.print(bench_table(view))
        console.print(Text("the fidelity-versus-cost plot: proxyx show BENCH.json --html page.html", style="dim"))
        return
    console.print(Panel(summary_text(view), title=Text(f"proxyx explain: {printable(view.method or '?')}, "
                                                       f"{view.samples or '?'} samples, "
                                                       f"oracle {printable(view.oracle or '?')}"),
                        title_align="left"))
    for n, x in enumerate(view.instances, 1):
        console.print(instance_panel(x, n, plain=plain))

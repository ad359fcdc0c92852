"""The terminal view of a generate report: per question, the oracle's answer and its context coloured level by level.

The first level shows every document, each coloured by its attribution
(``document`` level: the whole document; a finer first level: its units);
each finer level shows the units inside the units refined above it, coloured
by their values, with what the level cost. Same colours as the classifier
heat map (``heatmap``): red raises the value of the oracle's answer (supports
it), blue lowers it; the intensity is |value| over the level's largest
|value|, and a unit not explained at a level keeps the terminal's colours.
Without colour, the strongest units carry their value in brackets.
"""

from __future__ import annotations

from rich.console import Console, Group as Stack
from rich.panel import Panel
from rich.style import Style
from rich.text import Text

from .adapter import ReportView
from .baseline import baseline_lines
from .generated import GenInfo, GenInstance, Level, groups
from .style import FAINT, TOP, hex_color, printable, shade, signed, text_color
from .tables import num, usd

LEGEND = ("red: supports the oracle's answer (removing it lowers the answer's value), blue: against; "
          "intensity = |value| / the level's largest |value|; plain: not explained at that level")
SNIPPET = 40  # characters of a unit named in the top lists


def _snip(text: str, n: int = SNIPPET) -> str:
    text = printable(" ".join(text.split()))
    return text if len(text) <= n else text[: n - 3] + "..."


def painted(level: Level, units: tuple[int, ...], *, plain: bool, marked: set[int]) -> Text:
    """The units in order, each shaded by its value (unexplained ones plain); when ``plain``, the ``marked``
    ones carry their value in brackets."""
    out = Text()
    for n, i in enumerate(units):
        if n:
            out.append(" ")
        unit, v = printable(level.units[i], lines=True), level.values[i]
        if v is None:
            out.append(unit)
        elif plain:
            out.append(f"{unit}[{signed(v)}]" if i in marked else unit)
        else:
            w = shade(v, level.scale)
            out.append(unit, Style(color=text_color(w), bgcolor=hex_color(w)) if abs(w) >= FAINT else None)
    return out


def level_caption(level: Level) -> str:
    """'word level: 41 of 164 units explained; 128 calls (0 paid), 0.02 s; sampled (128 masks); estimator ...'"""
    parts = [f"{len(level.explained)} of {len(level.units)} {level.unit}s explained"]
    if level.calls is not None:
        oracle = level.oracle_calls
        of = [f"{oracle} oracle"] if oracle is not None and 0 < oracle < level.calls else []
        of += [f"{level.paid} paid"] if level.paid is not None else []
        parts.append(f"{level.calls} calls" + (f" ({', '.join(of)})" if of else ""))
    if level.seconds is not None:
        parts.append(f"{level.seconds:.2f} s")
    if level.exact is not None:
        parts.append("exact (every coalition)" if level.exact else f"sampled ({level.samples or '?'} masks)")
    if level.estimator:
        parts.append(level.estimator)
    return f"{level.unit} level: " + "; ".join(parts)


def top_units(level: Level) -> Text:
    """'supports the answer: unit +v, ...   against: ...' for the strongest explained units."""
    n = SNIPPET if level.unit != "word" else 20
    parts = [f"{title}: " + ", ".join(f"{_snip(level.units[i], n)} {signed(level.values[i])}" for i in idx)
             for title, idx in zip(("supports the answer", "against"), level.strongest(TOP)) if idx]
    return Text("   ".join(parts), style="dim")


def _gate_line(x: GenInstance) -> list[Text]:
    out = []
    for g in x.gate:
        verdict = "agrees" if g.agrees else "disagrees" if g.agrees is not None else "-"
        answer = repr(g.answer.strip()) if g.answer is not None else "no answer"
        out.append(Text(f"gate: {printable(g.proxy)} answered {printable(answer)}; "
                        f"agreement {num(g.agreement)}, {verdict}"))
    return out


def facts(x: GenInstance) -> list[Text]:
    rows = [Text.assemble(("question: ", "bold"), printable(x.question))]
    if x.error:
        return rows
    rows.append(Text.assemble(("oracle's answer: ", "bold"), printable(repr(x.answer.strip()))))
    bits = ([f"explained by {printable(x.explained_by)}"] if x.explained_by else []) + x.facts()
    if bits:
        rows.append(Text("; ".join(bits), style="dim"))
    return rows + _gate_line(x)


def level_rows(x: GenInstance, k: int, *, plain: bool) -> list[Text]:
    level = x.levels[k]
    rows = [Text(level_caption(level), style="bold")]
    shown = groups(x, k)
    if not shown:
        rows.append(Text("nothing was refined at the level above", style="dim"))
        return rows
    marked = set().union(*level.strongest(TOP)) if plain else set()
    for g in shown:
        head = Text(printable(g.label), style="bold")
        if level.unit == "document" and len(g.units) == 1 and level.values[g.units[0]] is not None:
            head.append(f" {signed(level.values[g.units[0]])}")
            body = painted(level, g.units, plain=plain, marked=set())  # its value is in the label
        else:
            body = painted(level, g.units, plain=plain, marked=marked)
        if g.note:
            head.append(f" ({g.note})", style="dim")
        rows.append(Text.assemble(head, ": ", body))
    if level.explained and level.unit != "document":  # a document's value is in its label
        rows.append(top_units(level))
    return rows


def instance_panel(x: GenInstance, n: int, *, plain: bool = False) -> Panel:
    title = Text(f"{n}. {printable(x.id)}")
    rows: list = facts(x)
    if x.error:
        rows.append(Text(f"failed: {printable(x.error)}", style="bold red"))
        return Panel(Stack(*rows), title=title, title_align="left", border_style="red")
    if not x.levels:
        rows.append(Text("no level was explained", style="dim"))
    for k in range(len(x.levels)):
        rows.append(Text(""))
        rows.extend(level_rows(x, k, plain=plain))
    return Panel(Stack(*rows), title=title, title_align="left")


def summary_text(view: ReportView, info: GenInfo | None) -> Text:
    """With an estimator first its comparison with the oracle alone at n; then what the values mean (value
    function, refinement rule), decodes saved, who explained, cost by model."""
    out = Text()
    if view.baseline is not None:
        for line in baseline_lines(view.baseline):
            out.append(line + "\n", style="bold")
    if info is not None:
        value = info.value or "?"
        if info.match:
            value += f" (match {info.match}, decoded-output reuse {'on' if info.reuse else 'off'})"
        out.append(f"value: {value}" + (f"; {info.method}" if info.method else "") + "\n")
        if info.rule:
            out.append(f"rule: {info.rule}\n")
        if info.proxy:
            out.append(f"proxy: {printable(info.proxy)}" + (f"; gate: {info.gate}" if info.gate else "") + "\n")
        per = [f"{u} {num(info.mean_calls.get(u), '.0f')} calls, {num(info.mean_seconds.get(u))} s"
               for u in info.levels if u in info.mean_calls or u in info.mean_seconds]
        if per:
            out.append("mean per question: " + "; ".join(per) + "\n")
        if info.decodes_saved is not None:
            run = f" ({info.decodes} decodes run)" if info.decodes is not None else ""
            out.append(f"decodes saved by reuse: {info.decodes_saved}{run}\n")
        if info.scoring is False:
            out.append("the oracle returns no prompt log-probabilities: every perturbed input was decoded\n")
    if view.failed:
        out.append(f"{view.failed} question{'s' * (view.failed != 1)} failed\n")
    if view.explained_by:
        out.append("explained by " + ", ".join(f"{printable(m)}: {k}" for m, k in sorted(view.explained_by.items()))
                   + "\n")
    if view.costs:
        out.append("cost by model " + ", ".join(f"{printable(c.model)} {usd(c.usd)}" for c in view.costs) + "\n")
    out.append(LEGEND, style="dim")
    return out


def render_generated(view: ReportView, console: Console, *, plain: bool) -> None:
    info = view.generation
    oracle = (info.oracle if info else None) or view.oracle or "?"
    method = (info.method if info else None) or view.method or "?"
    title = f"proxyx explain (generated answers): {printable(method)}, oracle {printable(oracle)}"
    console.print(Panel(summary_text(view, info), title=Text(title), title_align="left"))
    if not view.generated:
        console.print(Text("no question in the report (or none selected)", style="dim"))
    for n, x in enumerate(view.generated, 1):
        console.print(instance_panel(x, n, plain=plain))

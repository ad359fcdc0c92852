"""The HTML body of a generate report: per question, the oracle's answer and its context coloured level by level.

Same page as the classifier reports (``html``: inline CSS and JS, nothing
from the network) and the same colours: each level is a ``<figure
class="expl" data-role="UNIT" data-model="WHO">``; an explained unit is a
``<span class="u" data-i=".." data-v="..">`` holding its exact value (hover:
value, direction, rank), a unit not explained at that level a plain
``<span class="u0">``. Hovering a unit outlines it only within its own
level (``data-scope``).
"""

from __future__ import annotations

from .adapter import ReportView
from .baseline import baseline_html
from .generated import GenInfo, GenInstance, Level, groups
from .generated_text import level_caption
from .style import TOP, esc, hex_color, shade, signed, text_color
from .tables import card, cost_table, num


def _span(level: Level, i: int, rank: dict[int, int]) -> str:
    unit, v = level.units[i], level.values[i]
    if v is None:
        return f'<span class="u0">{esc(unit)}</span>'
    w = shade(v, level.scale)
    direction = "supports" if v > 0 else "against" if v < 0 else "neutral to"
    tip = f"{signed(v)} {direction} the answer (rank {rank[i]} of {len(rank)} at the {level.unit} level)"
    return (f'<span class="u" data-i="{i}" data-v="{v!r}" title="{esc(tip)}" '
            f'style="background:{hex_color(w)};color:{text_color(w)}">{esc(unit)}</span>')


def _tops(level: Level) -> str:
    n = 40 if level.unit != "word" else 20
    short = lambda t: esc(t if len(t) <= n else t[: n - 3] + "...")  # noqa: E731
    return " &nbsp; ".join(
        f"{what}: " + ", ".join(f"<b>{short(level.units[i])}</b> {signed(level.values[i])}" for i in idx)
        for what, idx in zip(("supports the answer", "against"), level.strongest(TOP)) if idx)


def _level(x: GenInstance, k: int, oracle: str) -> str:
    level = x.levels[k]
    explained = level.explained
    rank = {i: r for r, i in enumerate(sorted(explained, key=lambda i: -abs(level.values[i])), 1)}
    rows = []
    for g in groups(x, k):
        value = ""
        if level.unit == "document" and len(g.units) == 1 and level.values[g.units[0]] is not None:
            value = f" {signed(level.values[g.units[0]])}"
        note = f' <span class="muted">({esc(g.note)})</span>' if g.note else ""
        spans = " ".join(_span(level, i, rank) for i in g.units)
        rows.append(f'<p class="heat grp" data-group="{esc(g.label)}"><span class="lab">{esc(g.label)}{value}{note}'
                    f"</span> {spans}</p>")
    if not rows:
        rows.append('<p class="muted">nothing was refined at the level above</p>')
    who = x.explained_by or oracle
    tops = f'<div class="top">{_tops(level)}</div>' if explained and level.unit != "document" else ""
    return (f'<figure class="expl level" data-role="{esc(level.unit)}" data-model="{esc(who)}" data-scope="{k}">'
            f"<figcaption>{esc(level_caption(level))}</figcaption>{''.join(rows)}{tops}</figure>")


def _chips(x: GenInstance) -> str:
    chips = []
    if x.explained_by:
        chips.append(f'<span class="chip">explained by {esc(x.explained_by)}</span>')
    for g in x.gate:
        verdict = "agrees" if g.agrees else "disagrees" if g.agrees is not None else "-"
        answer = esc(repr(g.answer.strip())) if g.answer is not None else "no answer"
        miss = " miss" if g.agrees is False else ""
        chips.append(f'<span class="chip gate{miss}" data-proxy="{esc(g.proxy)}">gate: {esc(g.proxy)} answered '
                     f"{answer}; agreement {num(g.agreement)}, {verdict}</span>")
    chips += [f'<span class="chip">{esc(fact)}</span>' for fact in x.facts()]
    return "".join(chips)


def _instance(x: GenInstance, n: int, oracle: str) -> str:
    head = f'<header><h2>{n}. {esc(x.id)}</h2>{_chips(x)}</header>'
    question = f'<p class="qa"><b>question</b> {esc(x.question)}</p>'
    if x.error:
        return (f'<article class="failed" id="i{n}" data-id="{esc(x.id)}">{head}{question}'
                f'<p class="error">failed: {esc(x.error)}</p></article>')
    answer = f'<p class="qa answer"><b>oracle\'s answer</b> {esc(x.answer.strip())}</p>'
    levels = ("".join(_level(x, k, oracle) for k in range(len(x.levels)))
              or '<p class="muted">no level was explained</p>')
    return f'<article id="i{n}" data-id="{esc(x.id)}">{head}{question}{answer}{levels}</article>'


def _summary(view: ReportView, info: GenInfo | None) -> str:
    cards = []
    if info is not None:
        value = esc(info.value or "?")
        note = [f"match {esc(info.match)}, decoded-output reuse {'on' if info.reuse else 'off'}"] if info.match else []
        if info.method:
            note.append(esc(info.method))
        if info.scoring is False:
            note.append("no prompt log-probabilities: every perturbed input decoded")
        cards.append(card("value function", value, "; ".join(note)))
        per = "; ".join(f"{esc(u)}: {num(info.mean_calls.get(u), '.0f')} calls, {num(info.mean_seconds.get(u))} s"
                        for u in info.levels)
        if info.proxy:
            cards.append(card("proxy", esc(info.proxy), f"gate: {esc(info.gate)}" if info.gate else ""))
        cards.append(card("levels", esc(" > ".join(info.levels) or "-"), f"mean per question: {per}" if per else ""))
        if info.decodes_saved is not None:
            run = f"; {info.decodes} decodes run" if info.decodes is not None else ""
            cards.append(card("decodes saved", str(info.decodes_saved), f"by decoded-output reuse{run}"))
    who = ", ".join(f"{esc(m)}: {k}" for m, k in sorted(view.explained_by.items())) or "-"
    cards.append(card("questions shown", str(len(view.generated)), f"explained by {who}"
                       + (f"; {view.failed} failed" if view.failed else "")))
    rule = (f'<section class="card rule-card"><div class="k">refinement rule</div>'
            f'<p class="rule">{esc(info.rule)}</p></section>'
            if info is not None and info.rule else "")
    costs = (f'<section class="card"><div class="k">cost by model (nominal)</div>{cost_table(view.costs)}</section>'
             if view.costs else "")
    first = baseline_html(view.baseline) if view.baseline is not None else ""
    return f'{first}<section class="cards">{"".join(cards)}</section>{rule}{costs}'


def _legend() -> str:
    return ('<div class="legend"><span>against the oracle\'s answer</span><span class="bar"></span>'
            "<span>supports it</span><span>· intensity = |value| / the level's largest |value|; plain: not "
            "explained at that level; hover a unit for its value</span></div>")


def generated_body(view: ReportView) -> str:
    """Summary, legend and one article per question."""
    oracle = (view.generation.oracle if view.generation else None) or view.oracle or "oracle"
    return _summary(view, view.generation) + _legend() + "".join(
        _instance(x, n, oracle) for n, x in enumerate(view.generated, 1))

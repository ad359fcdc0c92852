"""The HTML view of a report: one self-contained page (inline CSS and JS, nothing from the network).

Explain reports: with an estimator first the estimate against the oracle
alone at the same n oracle calls, then a summary (fidelity, cost reduction,
cost by model), then per instance a word heatmap, the explanation used and,
where they exist, the oracle alone at n and the oracle's own explanation side
by side; hovering a word shows its value and standard error; a word whose 90%
interval crosses zero is uncertain (italic, underlined, no box). Bench reports: the
headline, the grid and the fidelity-versus-cost plot as a data URI. Every
unit is a ``<span class="u" data-i=".." data-v="..">`` holding its exact value.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Mapping

from .. import __version__
from ..output import write_text
from .adapter import Explanation, InstanceView, ReportView, read_report, select
from .assets import CSS, JS
from .baseline import baseline_html
from .style import TOP, esc as _e, hex_color, shade, signed, text_color
from .tables import card as _card, cost_table as _cost_table, num, pct, usd


def _heat(x: InstanceView, e: Explanation) -> str:
    n = len(e.values)
    rank = {i: r for r, i in enumerate(sorted(range(n), key=lambda i: -abs(e.values[i])), 1)}
    label = x.label or "the label"
    spans = []
    for i, (unit, v) in enumerate(zip(x.units, e.values)):
        w = shade(v, e.scale)
        direction = "towards" if v > 0 else "against" if v < 0 else "neutral to"
        tip = f"{signed(v)} {direction} {label} (rank {rank[i]} of {n})"
        if e.errors is None:
            spans.append(f'<span class="u" data-i="{i}" data-v="{v!r}" title="{_e(tip)}" '
                         f'style="background:{hex_color(w)};color:{text_color(w)}">{_e(unit)}</span>')
            continue
        se, uncertain = e.errors[i], e.uncertain(i)
        tip += (", standard error —, not estimable (the oracle's answers show no residual): uncertain" if se is None
                else f", standard error {se:.2g}" + ("; its 90% interval crosses zero: uncertain" if uncertain else ""))
        style = (f"color:{hex_color(1.0 if w >= 0 else -1.0)}" if uncertain
                 else f"background:{hex_color(w)};color:{text_color(w)}")
        known = "" if se is None else repr(se)
        spans.append(f'<span class="u{" uncertain" * uncertain}" data-i="{i}" data-v="{v!r}" data-se="{known}" '
                     f'title="{_e(tip)}" style="{style}">{_e(unit)}</span>')
    tops = " &nbsp; ".join(
        f"{what} {_e(label)}: " + ", ".join(f"<b>{_e(x.units[i])}</b> {signed(e.values[i])}" for i in idx)
        for what, idx in zip(("towards", "against"), e.strongest(TOP)) if idx)
    caption = f"{_e(e.title)} · {_e(e.model)}"
    return (f'<figure class="expl" data-role="{_e(e.role)}" data-model="{_e(e.model)}">'
            f'<figcaption>{caption}</figcaption><p class="heat">{" ".join(spans)}</p>'
            f'<div class="top">{tops}</div></figure>')


def _chips(x: InstanceView) -> str:
    chips = [f'<span class="chip">oracle: <b>{_e(x.label or "-")}</b>'
             + (f" ({x.prob:.2f})" if x.prob is not None else "") + "</span>"]
    if x.gold is not None:
        miss = " miss" if x.label is not None and x.gold != x.label else ""
        chips.append(f'<span class="chip{miss}">gold: {_e(x.gold)}</span>')
    if x.explained_by:
        chips.append(f'<span class="chip {_e(x.role or "")}">explained by {_e(x.explained_by)}'
                     + (f" ({_e(x.role)})" if x.role else "") + "</span>")
    if x.adaptive:
        chips.append(f'<span class="chip">{_e(x.adaptive)}</span>')
    if x.q_estimate is not None:
        chips.append(f'<span class="chip" title="AOPC on the oracle of the estimate and of the oracle alone at the same '
                     f'n oracle calls">AOPC {x.q_estimate:.3f} with the proxy vs {num(x.q_baseline, ".3f")} for the '
                     f"oracle alone at n = {x.baseline_samples}</span>")
    if x.fidelity is not None or x.q_proxy is not None:
        chips.append(f'<span class="chip" title="AOPC of the proxy explanation over the oracle\'s, both on the oracle">'
                     f"fidelity {num(x.fidelity)} (AOPC {num(x.q_proxy, '.3f')} / {num(x.q_oracle, '.3f')})</span>")
    if x.spearman is not None:
        chips.append(f'<span class="chip">Spearman {x.spearman:+.2f}</span>')
    if x.usd is not None:
        alone = f" (oracle alone {usd(x.all_oracle_usd)})" if x.all_oracle_usd is not None else ""
        chips.append(f'<span class="chip">cost {usd(x.usd)}{alone}</span>')
    return "".join(chips)


def _instance(x: InstanceView, n: int) -> str:
    head = f'<header><h2>{n}. {_e(x.id)}</h2>{_chips(x)}</header>'
    if x.status != "ok" or x.explanation is None:
        return (f'<article class="failed" id="i{n}" data-id="{_e(x.id)}">{head}'
                f'<p class="error">failed: {_e(x.error or "no attribution in the report")}</p>'
                f'<p>{_e(x.text)}</p></article>')
    figures = "".join(_heat(x, e) for e in x.explanations)
    return f'<article id="i{n}" data-id="{_e(x.id)}">{head}<div class="pair">{figures}</div></article>'


def _explain_summary(view: ReportView) -> str:
    cards = []
    if view.mean_fidelity is not None:
        ci = f"95% CI {view.fidelity_ci95[0]:.2f}-{view.fidelity_ci95[1]:.2f}, " if view.fidelity_ci95 else ""
        n = view.fidelity_n - view.fidelity_undefined
        cards.append(_card("mean fidelity", f"{view.mean_fidelity:.2f}",
                           f"{ci}over {n} proxy explanation{'s' * (n != 1)}; Spearman {num(view.mean_spearman)}"))
    else:
        cards.append(_card("mean fidelity", "-", "no proxy explanation was scored against the oracle's"))
    if view.crr_usd is not None:
        est = " (estimated)" if view.all_oracle_estimated else ""
        share = (f": {pct(view.usd_with_proxies / view.usd_all_oracle)} of the oracle's cost"
                 if view.usd_with_proxies is not None and view.usd_all_oracle else "")
        cards.append(_card("cost reduction (CRR)", f"{view.crr_usd:.2f}x",
                           f"{usd(view.usd_with_proxies)} with proxies vs {usd(view.usd_all_oracle)} "
                           f"for the oracle alone{est}{share}"))
    who = ", ".join(f"{_e(m)}: {k}" for m, k in sorted(view.explained_by.items())) or "-"
    cards.append(_card("instances", str(len(view.instances)), f"explained by {who}"
                       + (f"; {view.failed} failed" if view.failed else "")))
    first = baseline_html(view.baseline) if view.baseline is not None else ""
    return (f'{first}<section class="cards">{"".join(cards)}</section>'
            f'<section class="card"><div class="k">cost by model (nominal)</div>{_cost_table(view.costs)}</section>')


def _legend() -> str:
    return ('<div class="legend"><span>against the oracle\'s label</span><span class="bar"></span>'
            "<span>towards it</span><span>· intensity = |value| / the explanation's largest |value|; "
            "hover a word for its value; <span class=\"uncertain\">italic, underlined</span>: "
            "its 90% interval crosses zero</span></div>")


def _bench_body(view: ReportView) -> str:
    heads = "".join(f'<p class="headline">{_e(t)}</p>' for t in view.headlines)
    plot = ""
    if view.plot_png:
        data = base64.b64encode(view.plot_png).decode("ascii")
        plot = (f'<section class="card plot"><div class="k">fidelity against cost</div>'
                f'<img alt="fidelity against dollars per explanation" src="data:image/png;base64,{data}"></section>')
    rows = "".join(
        f"<tr><td>{_e(c.proxy)}</td><td>{_e(c.method)}</td><td class=n>{c.samples}</td><td>{_e(c.decision or '-')}</td>"
        f"<td class=n>{pct(c.gate_agreement)}</td><td class=n>{num(c.fidelity)}</td><td class=n>{pct(c.cost_share)}</td>"
        f"<td class=n>{num(c.proxy_only_fidelity)}</td><td class=n>{pct(c.proxy_only_cost_share)}</td></tr>"
        for c in view.cells)
    grid = ('<section class="card"><div class="k">the grid</div><table><thead><tr><th>proxy</th><th>method</th>'
            "<th class=n>samples</th><th>screen</th><th class=n>labels agree</th><th class=n>fidelity</th>"
            "<th class=n>cost share</th><th class=n>proxy-only fidelity</th><th class=n>proxy-only cost share</th>"
            f"</tr></thead><tbody>{rows}</tbody></table></section>")
    costs = f'<section class="card"><div class="k">cost by model (nominal)</div>{_cost_table(view.costs)}</section>'
    return f'<section class="card">{heads}</section>{plot}{grid}' + (costs if view.costs else "")


def render_html(report: ReportView | Mapping | str | Path, *, ids: list[str] | None = None,
                limit: int | None = None) -> str:
    """The page as a string."""
    view = select(read_report(report), ids=ids, limit=limit)
    title = f"proxyx {view.kind}" + (f": {view.source.name}" if view.source else "")
    bits = [f"oracle {view.oracle}" if view.oracle else "",
            f"{view.method}, {view.samples} samples" if view.method and view.generation is None else "",
            "generated answers" if view.generation is not None else "", view.created or ""]
    meta = " · ".join(_e(b) for b in bits if b)
    status = ""
    if view.status and view.status not in ("complete",):
        status = f'<div class="status">status: {_e(view.status)}</div>'
    if view.kind == "bench":
        body = _bench_body(view)
    elif view.generation is not None:  # task.type: generate
        from .generated_html import generated_body

        body = generated_body(view)
    else:
        body = _explain_summary(view) + _legend() + "".join(_instance(x, n) for n, x in enumerate(view.instances, 1))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body><main>"
            f'<h1>{_e(title)}</h1><div class="meta">{meta}</div>{status}{body}'
            f"<footer>proxyx {_e(__version__)} · a self-contained page: it loads nothing from the network</footer>"
            f'</main><div id="tip" role="tooltip" hidden></div><script>{JS}</script></body></html>\n')


def write_html(report: ReportView | Mapping | str | Path, path: str | Path, *, ids: list[str] | None = None,
               limit: int | None = None, fallback_dir: str | Path | None = None) -> Path:
    """Write the page (``proxyx.output.write_text``: atomic, never through a link); where it went."""
    return write_text(path, render_html(report, ids=ids, limit=limit), fallback_dir=fallback_dir)

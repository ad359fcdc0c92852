"""Terminal tables of results, the number formats every view shares, and the HTML pages' cards and cost table.

They only read typed results (``proxyx.results``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..results import ExplainReport, LedgerRow, ScreenResult
from .baseline import baseline_table
from .style import esc, printable


def plain(text: object) -> Text:
    """A table cell or line holding data: control characters escaped, no markup read into it."""
    return Text(printable(text))


def usd(x: float | None) -> str:
    """$0.1234 above a cent, $0.000123 below."""
    return "-" if x is None else f"${x:.4f}" if x >= 0.01 else f"${x:.6f}"


def num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def whole(x: float | None) -> str:
    """1,234."""
    return "-" if x is None else f"{x:,.0f}"


def short(x: float | None) -> str:
    """1,234 or 12k or 1.2M."""
    if x is None:
        return "-"
    return f"{x / 1e6:.1f}M" if x >= 1e6 else f"{x / 1e3:.0f}k" if x >= 1e4 else f"{x:,.0f}"


def _min_width(header: str, cells: Sequence[str]) -> int:
    """A column's narrowest readable width: its widest cell (kept whole), its header's longest word (headers wrap)."""
    return max([len(Text.from_markup(c).plain) for c in cells] + [len(w) for w in header.split()] + [1])


def fitted_tables(title: str, caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
                  keys: int = 1, left: int | None = None) -> list[Table]:
    """One table, or several side by side in print order when it is wider than ``width``: each part repeats the
    first ``keys`` columns (what a row is) and takes as many of the others as fit, so no cell is ever cut.
    The first ``left`` columns (default ``keys``) are left-aligned, the others right-aligned."""
    left = keys if left is None else left
    widths = [_min_width(h, [r[i] for r in rows]) for i, h in enumerate(headers)]
    gap = 3  # box.SIMPLE_HEAD without edges: padding on each side and a blank divider between columns
    parts: list[list[int]] = []
    used = sum(widths[:keys]) + gap * (keys - 1)
    for i in range(keys, len(headers)):
        if not parts or used + gap + widths[i] > width:
            parts.append([])
            used = sum(widths[:keys]) + gap * (keys - 1)
        parts[-1].append(i)
        used += gap + widths[i]
    tables = []
    for n, cols in enumerate(parts or [[]], 1):
        suffix = f" ({n}/{len(parts)})" if len(parts) > 1 else ""
        t = Table(title=title + suffix, caption=caption if n == len(parts) else None, box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)
        for i in [*range(keys), *cols]:
            t.add_column(headers[i], justify="left" if i < left else "right", width=widths[i])
        for r in rows:
            t.add_row(*(r[i] for i in [*range(keys), *cols]))
        tables.append(t)
    return tables


def print_stopped(reason: str | None, finished: list[str], console: Console, files: dict[str, str] | None = None) -> None:
    """A run stopped by ``max_usd``: why, what finished, where its report is (``files``: name -> path)."""
    console.print(f"stopped at the budget cap: {reason}", markup=False, highlight=False)
    console.print(f"finished before the stop: {', '.join(finished) or 'nothing'}; "
                  "paid calls are cached: raise max_usd and run again to go on", markup=False, highlight=False)
    for key, path in (files or {}).items():
        console.print(f"{key}: {path}", markup=False, highlight=False, soft_wrap=True)


def ledger_table(rows: list[LedgerRow], title: str = "Cost by model") -> Table:
    """What each (model, role, purpose) paid in this run, and its cache hits."""
    t = Table(title=title)
    failures = any(r.cost.failures for r in rows)
    t.add_column("model", no_wrap=True)
    t.add_column("role / purpose", no_wrap=True)
    for col in ("calls", "hits", "tokens", "paid $") + (("failed",) if failures else ()):
        t.add_column(col, justify="right")
    for r in rows:
        paid = r.cost.paid
        cells = [plain(r.model), plain(f"{r.role} / {r.purpose}"), str(paid.calls), str(r.cost.hits), str(paid.tokens),
                 usd(paid.usd)]
        t.add_row(*cells, *([str(r.cost.failures)] if failures else []))
    return t


def explain_table(report: ExplainReport) -> Table:
    s = report.summary
    t = Table(title="proxyx explain")
    t.add_column("")
    t.add_column("", justify="right")
    t.add_row("instances", f"{s.explained} explained, {s.failed} failed, of {s.instances}")
    for name, n in sorted(s.explained_by.items()):
        t.add_row(plain(f"  explained by {name}"), str(n))
    if report.screen:
        for p in report.screen.proxies:
            fid = "" if p.mean_fidelity is None else f", fidelity {p.mean_fidelity:.2f}"
            why = f": {p.error}" if p.error else ""
            t.add_row(plain(f"  screen: {p.proxy}"), plain(f"{p.decision} (n={p.n}{fid}){why}"))
    a = s.adaptive
    if a:
        t.add_row("oracle calls (adaptive)", f"min {a.min_oracle_calls}, median {a.median_oracle_calls:g}, "
                  f"max {a.max_oracle_calls}; {a.stopped_at_target} of {a.instances} stopped at the target")
    c = report.crr
    if c:
        est = " (all-oracle cost estimated)" if c.estimated else ""
        t.add_row("cost reduction (CRR)", f"{num(c.calls, '.1f')}x calls, {num(c.tokens, '.1f')}x tokens, "
                  f"{num(c.usd, '.1f')}x $" + est)
        t.add_row("cost with proxies vs all-oracle", f"{usd(c.with_proxies.usd)} vs {usd(c.all_oracle.usd)}")
    f = report.fidelity
    if f:
        t.add_row("mean fidelity", f"{num(f.mean_fidelity, '.3f')} over {f.n - f.undefined} "
                  f"(+{f.undefined} undefined), Spearman {num(f.mean_spearman, '.2f')}")
    paid = sum(r.cost.paid.nano_usd for r in report.ledger) / 1e9
    hits = sum(r.cost.hits for r in report.ledger)
    calls = sum(r.cost.paid.calls for r in report.ledger)
    t.add_row("this run", f"{calls} calls paid, {hits} cache hits, {usd(paid)}")
    t.add_row("wall time", f"{s.wall_time_s:.1f} s")
    for note in report.notes:
        t.add_row("note", plain(note))
    if report.status != "complete":
        why = plain(f": {report.stop_reason or 'see failed instances'}")
        t.add_row("status", Text(report.status, style="bold red") + why)
    return t


def print_explain(report: ExplainReport, console: Console, path: Path | None = None) -> None:
    """The estimator against the oracle alone at n first (when an estimator explained), then the run's tables."""
    if report.baseline is not None:
        console.print(baseline_table(report.baseline))
    console.print(explain_table(report))
    console.print(ledger_table(report.ledger))
    if path:
        console.print(plain(f"report: {path}"), soft_wrap=True)


def screen_table(result: ScreenResult) -> Table:
    s = result.config["screen"]
    t = Table(title=f"proxyx screen (tau={s['tau']}, confidence={s['confidence']})")
    t.add_column("proxy", no_wrap=True)
    t.add_column("decision", no_wrap=True)
    for col in ("n", "examined", "mean d", "bound (lo, hi)", "fidelity", "Spearman", "top-k J", "calls", "tokens", "$"):
        t.add_column(col, justify="right")
    for p in result.proxies:
        cost = p.total_cost().nominal
        color = "green" if p.accepted else "red"
        t.add_row(plain(p.proxy), Text(p.decision, style=color), str(p.n), str(p.examined), num(p.mean_d, ".4f"),
                  f"({num(p.lower, '.4f')}, {num(p.upper, '.4f')})", num(p.mean_fidelity, ".3f"),
                  num(p.mean_spearman), num(p.mean_topk_jaccard), str(cost.calls), str(cost.tokens), usd(cost.usd))
    return t


def print_screen(result: ScreenResult, console: Console) -> None:
    console.print(screen_table(result))
    for p in result.proxies:
        if p.error:  # why a screen could not finish (a failed call, the budget): not a rejection
            console.print(plain(f"{p.proxy}: {p.decision}: {p.error}"), style="red")
    console.print(plain("accepted: " + (", ".join(result.accepted) or "none (the oracle will explain everything)")))


def card(key: str, value: str, note: str = "") -> str:
    """One card of an HTML page's head: ``key`` (text), ``value`` and ``note`` (HTML)."""
    return f'<div class="card"><div class="k">{esc(key)}</div><div class="v">{value}</div><p>{note}</p></div>'


def cost_table(costs) -> str:
    """What each model cost, as an HTML table (both pages); ``costs``: a report view's (``ReportView.costs``)."""
    rows = "".join(f"<tr><td>{esc(c.model)}</td><td>{esc(c.role)}</td><td class=n>{c.calls}</td>"
                   f"<td class=n>{usd(c.usd)}</td><td class=n>{usd(c.evaluation_usd) if c.evaluation_usd else '-'}</td>"
                   "</tr>" for c in costs)
    return ("<table><thead><tr><th>model</th><th>role</th><th class=n>calls</th><th class=n>cost</th>"
            f"<th class=n>of which evaluation</th></tr></thead><tbody>{rows}</tbody></table>")

"""Small HTML pieces shared by the classifier and the generated-answer pages."""

from __future__ import annotations

from html import escape

from .adapter import ReportView
from .tables import usd


def esc(x: object) -> str:
    return escape(str(x), quote=True)


def card(key: str, value: str, note: str = "") -> str:
    return f'<div class="card"><div class="k">{esc(key)}</div><div class="v">{value}</div><p>{note}</p></div>'


def cost_table(view: ReportView) -> str:
    rows = "".join(f"<tr><td>{esc(c.model)}</td><td>{esc(c.role)}</td><td class=n>{c.calls}</td>"
                   f"<td class=n>{usd(c.usd)}</td><td class=n>{usd(c.evaluation_usd) if c.evaluation_usd else '-'}</td>"
                   "</tr>" for c in view.costs)
    return ("<table><thead><tr><th>model</th><th>role</th><th class=n>calls</th><th class=n>cost</th>"
            f"<th class=n>of which evaluation</th></tr></thead><tbody>{rows}</tbody></table>")

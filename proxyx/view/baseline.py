"""The estimator against the oracle alone at the same n oracle calls, as every view says it.

One wording for the terminal, ``proxyx show``, the HTML page and the story
(classified and generated answers alike):
the mean quality with the proxy, the oracle alone's, their paired difference
with its 95% interval, and a plain verdict (the proxy did not help is said
as plainly as that it did).
"""

from __future__ import annotations

from rich.table import Table

from ..results import BaselineSummary, Paired
from .style import esc

METRICS = (("aopc", "AOPC"), ("local_fidelity", "local fidelity"))

VERDICTS = {
    "better": "the proxy helped",
    "worse": "the proxy made it worse (the oracle alone at n is better)",
    "no_difference": "no measurable difference on these instances, so the proxy did not help here",
    "too_few": "one instance, too few for an interval",
}
#: the same, for a table cell
SHORT = {"better": "proxy helped", "worse": "proxy hurt", "no_difference": "no difference", "too_few": "too few"}


def signed(x: float | None) -> str:
    return "-" if x is None else f"{x:+.4f}"


def ci(p: Paired) -> str:
    """'-0.0040 to +0.0286', or '-' below 2 instances."""
    return "-" if p.low is None else f"{signed(p.low)} to {signed(p.high)}"


def interval(p: Paired) -> str:
    """'+0.0123 (95% CI -0.0040 to +0.0286, 5 instances)'."""
    if p.low is None:
        return f"{signed(p.difference)} ({p.n} instance{'s' * (p.n != 1)})"
    return f"{signed(p.difference)} (95% CI {ci(p)}, {p.n} instances)"


def metrics(b: BaselineSummary) -> list[tuple[str, Paired]]:
    """(name, paired comparison) of each quality that was scored."""
    return [(name, p) for key, name in METRICS if (p := getattr(b, key)) is not None]


def title(b: BaselineSummary) -> str:
    return f"quality on the oracle: with the proxy vs the oracle alone at the same n = {b.oracle_samples} calls"


def baseline_lines(b: BaselineSummary) -> list[str]:
    """One sentence per scored quality, then what the estimator set aside; the first line is the headline."""
    name = b.estimator.replace("_", " ")
    scored = metrics(b)
    if not scored:
        return [f"Each {name} explanation also carries the oracle alone at the same {b.oracle_samples} oracle calls "
                "(free), not scored: set fidelity.enabled: true to score both on the oracle and see whether the "
                "proxy helped."]
    lines = []
    for i, (metric, p) in enumerate(scored):
        head = (f"With the proxy, the {name} estimator's explanations score {metric} {p.estimate:.3f} on the oracle; "
                f"the oracle alone at the same {b.oracle_samples} calls per instance scores {p.baseline:.3f}" if i == 0 else
                f"{metric[0].upper()}{metric[1:]}: {p.estimate:.3f} with the proxy, {p.baseline:.3f} alone")
        lines.append(f"{head}; difference {interval(p)}: {VERDICTS[p.verdict]}.")
    if b.identical:
        lines.append(f"On {b.identical} of {b.instances} instances the estimate is the oracle alone's explanation: "
                     "the proxy changed nothing there.")
    return lines


def baseline_table(b: BaselineSummary) -> Table:
    """The comparison as the terminal's first table."""
    t = Table(title=title(b))
    for col in ("quality", "with proxy", "alone", "diff.", "95% CI", "n", "verdict"):
        t.add_column(col, justify="left" if col in ("quality", "verdict") else "right")
    for metric, p in metrics(b):
        t.add_row(metric, f"{p.estimate:.3f}", f"{p.baseline:.3f}", signed(p.difference), ci(p), str(p.n),
                  SHORT[p.verdict])
    if not metrics(b):
        t.add_row("not scored (fidelity.enabled: false)", "-", "-", "-", "-", "-", "-")
    return t


def baseline_html(b: BaselineSummary) -> str:
    """The comparison as the HTML page's first section."""
    rows = "".join(f'<tr class="{esc(p.verdict)}"><td>{esc(metric)}</td><td class=n>{p.estimate:.3f}</td>'
                   f"<td class=n>{p.baseline:.3f}</td><td class=n>{esc(interval(p))}</td>"
                   f"<td>{esc(VERDICTS[p.verdict])}</td></tr>" for metric, p in metrics(b))
    table = ("<table><thead><tr><th>quality on the oracle</th><th class=n>with the proxy</th>"
             "<th class=n>oracle alone</th><th class=n>difference (95% CI)</th><th>verdict</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>") if rows else ""
    lines = "".join(f'<p class="headline">{esc(line)}</p>' for line in baseline_lines(b))
    return f'<section class="card baseline" id="baseline"><div class="k">{esc(title(b))}</div>{lines}{table}</section>'

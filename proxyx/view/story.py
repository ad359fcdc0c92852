"""An explain report in plain words: whether the proxy helped, where the saving came from, and where it did not.

With an estimator the first line is the comparison that matters: the
estimate against the oracle alone at the same n oracle calls.

The tables give every number; these few sentences say what they mean for
someone who runs proxyx for the first time.
"""

from __future__ import annotations

from collections import Counter

from ..results import ExplainReport
from .baseline import baseline_lines


def _x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.1f}x"


def story(report: ExplainReport) -> list[str]:
    done = [e for e in report.instances if e.status == "ok"]
    if not done:
        return ["Nothing was explained (see the status above)."]
    ex = report.config["explainer"]
    roles = Counter(e.role for e in done)
    lines = baseline_lines(report.baseline) if report.baseline is not None else []  # what a first run must see
    failed = [p for p in report.screen.proxies if p.error] if report.screen is not None else []
    for p in failed:  # a screen that could not finish says why, not that the proxy was unfaithful
        lines.append(f"The screen of {p.proxy} could not finish ({p.decision}): {p.error}")
    if report.screen is not None and not report.screen.accepted and not failed:
        lines.append("The screen rejected every proxy: their explanations were not faithful enough to the oracle's, "
                     "so the oracle explained everything and the screen's own cost was pure overhead.")
    elif report.screen is not None and not report.screen.accepted:
        lines.append("No proxy passed the screen, so the oracle explained everything.")
    if roles.get("estimator"):
        used = Counter(next((g.proxy for g in e.gate if g.agrees), e.gate[0].proxy) for e in done
                       if e.role == "estimator" and e.gate)
        proxies = ", ".join(f"{name} on {n}" for name, n in used.most_common()) or "none"
        a = report.summary.adaptive
        asked = (f"between {a.min_oracle_calls} and {a.max_oracle_calls} (median {a.median_oracle_calls:g})" if a
                 else f"only {ex['oracle_samples']}")
        lines.append(f"Each explanation asked the oracle {asked} questions and a proxy "
                     f"{ex['samples']} cheap ones ({proxies}); the {ex['estimator'].replace('_', ' ')} estimator "
                     "used the proxy only as far as it tracked the oracle's own answers.")
    elif roles.get("proxy"):
        lines.append(f"{roles['proxy']} of {len(done)} instances were explained by a proxy (its label agreed with the "
                     f"oracle's); {roles.get('oracle', 0)} fell back to the oracle.")
    elif report.summary.adaptive is None:  # else the next line says what the oracle's rounds saved
        lines.append("The oracle explained every instance itself: no saving on the explanations.")
    a = report.summary.adaptive
    if a is not None:
        p = ex["precision"]
        lines.append(f"The oracle's budget grew in rounds ({p['start']}, {2 * p['start']}, ... up to {p['cap']} masks) "
                     f"until every unit's standard error was at most {p['target']:g} of the largest attribution: "
                     f"{a.stopped_at_target} of {a.instances} instances got there, the others stopped at the cap.")
    c = report.crr
    if c is not None:
        fewer_calls, fewer_usd = (c.calls or 0) > 1, (c.usd or 0) > 1
        saving = ("cheaper" if fewer_calls and fewer_usd else "more expensive" if not (fewer_calls or fewer_usd)
                  else "fewer oracle calls but more dollars" if fewer_calls else "more oracle calls but fewer dollars")
        cost = " (its cost estimated from the texts: it did not run)" if c.estimated else ""
        lines.append(f"Against the oracle alone at {ex['samples']} samples{cost} this was {_x(c.calls)} in oracle calls "
                     f"and {_x(c.usd)} in dollars ({saving} than the oracle alone)"
                     + (", screening included." if c.screen is not None else "."))
    f = report.fidelity
    if f is not None and f.ratio_of_means is not None:
        lines.append(f"Quality, measured on the oracle: these explanations keep {f.ratio_of_means:.2f} of the "
                     "deletion quality (AOPC) of the oracle's own explanation at the full budget.")
    if report.baseline is not None:
        lines.append("The oracle alone at other budgets and the other estimators, on more instances: `proxyx bench` "
                     "with bench.oracle_ladder (docs/results.md).")
    else:
        lines.append("Is that worth it? The honest comparison is the oracle alone with fewer samples at the same "
                     "spend: `proxyx bench` measures it (docs/results.md).")
    return lines

"""Summaries of the frontier grid: quality and cost relative to the oracle's top budget, paired comparisons.

For each cell (a route over the same instances):

* quality relative to the reference (the oracle alone at the ladder's top
  budget): ratio of mean qualities with a paired bootstrap interval, for
  AOPC and for local fidelity;
* against the oracle alone *at the same oracle spend* (the ladder rung with
  the same number of oracle calls, else the cheapest rung that spends at
  least as much): the mean per-instance difference with a paired Student t
  interval. A method beats the frontier only where that interval is above 0;
* cost share of the reference: oracle calls, and dollars of every model.

The headline asks the target of the issue: at least ``quality`` of the
reference's quality at no more than ``share`` of its cost (calls and
dollars), strictly above the frontier, of proxyx's routes (the peers are
what they are compared with, not candidates).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..results.frontier import Estimate, FrontierCell, FrontierSummary, Route, Target
from ..stats import Interval, paired_t, ratio_of_means

METRICS = ("aopc", "local_fidelity")


def _est(i: Interval) -> Estimate:
    return Estimate(estimate=i.estimate, low=i.low, high=i.high, n=i.n)


def _values(cell: FrontierCell, metric: str) -> list[float | None]:
    return [getattr(p, metric) for p in cell.points]


def _mean(xs: Sequence[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def _rung(cells_by_route: dict[Route, FrontierCell], method: str, calls: float) -> FrontierCell | None:
    rungs = sorted((r.oracle_samples, c) for r, c in cells_by_route.items() if r.kind == "oracle" and r.method == method)
    for budget, cell in rungs:
        if np.mean([p.oracle_calls for p in cell.points]) >= calls - 1e-9:
            return cell
    return rungs[-1][1] if rungs else None


def summarise(cells: Sequence[FrontierCell], *, seed: int = 0) -> list[FrontierSummary]:
    by_route = {c.route: c for c in cells}
    out = []
    for cell in cells:
        method = cell.route.method
        top = max((r for r in by_route if r.kind == "oracle" and r.method == method), key=lambda r: r.oracle_samples)
        ref = by_route[top]
        calls = float(np.mean([p.oracle_calls for p in cell.points])) if cell.points else 0.0
        rung = _rung(by_route, method, calls) if cell.route.kind != "oracle" else cell
        ref_calls = float(np.mean([p.oracle_calls for p in ref.points])) if ref.points else 0.0
        ref_usd = float(np.mean([p.nano_usd for p in ref.points])) if ref.points else 0.0
        usd = float(np.mean([p.nano_usd for p in cell.points])) if cell.points else 0.0
        out.append(FrontierSummary(
            route=cell.route, label=cell.route.label, instances=len(cell.points),
            mean={m: _mean(_values(cell, m)) for m in METRICS},
            vs_reference={m: _est(ratio_of_means(_values(cell, m), _values(ref, m), seed=seed)) for m in METRICS},
            same_spend_rung=rung.route.oracle_samples if rung else None,
            vs_same_spend={m: _est(paired_t(_values(cell, m), _values(rung, m))) for m in METRICS} if rung else {},
            oracle_calls=calls, calls_share=calls / ref_calls if ref_calls else None,
            usd_share=usd / ref_usd if ref_usd else None,
            mean_lam=_mean([p.lam for p in cell.points]), mean_beta=_mean([p.beta for p in cell.points]),
            mean_rho=_mean([p.rho for p in cell.points]),
        ))
    return out


def meets(s: FrontierSummary, target: Target) -> bool:
    """At least ``target.quality`` of the reference, at most ``target.share`` of its calls and dollars, above the frontier."""
    q = s.vs_reference[target.metric].estimate
    diff = s.vs_same_spend.get(target.metric)
    return (s.route.kind not in ("oracle", "peer") and q is not None and q >= target.quality
            and s.calls_share is not None and s.calls_share <= target.share
            and s.usd_share is not None and s.usd_share <= target.share
            and diff is not None and diff.low is not None and diff.low > 0)


def headline(summaries: Sequence[FrontierSummary], target: Target = Target()) -> list[str]:
    """One sentence per method: the cheapest cell meeting the target, or the closest one."""
    lines = []
    for method in dict.fromkeys(s.route.method for s in summaries):
        rows = [s for s in summaries if s.route.method == method and s.route.kind not in ("oracle", "peer")]
        hits = sorted((s for s in rows if meets(s, target)), key=lambda s: (s.usd_share, -s.vs_reference[target.metric].estimate))
        m = target.metric
        if hits:
            s = hits[0]
            lines.append(f"{method}: target met by {s.label}: {s.vs_reference[m].estimate:.2f} of the oracle's "
                         f"top-budget {m} at {100 * s.calls_share:.1f}% of its calls and {100 * s.usd_share:.1f}% of "
                         f"its dollars; vs the oracle alone at {s.same_spend_rung} samples "
                         f"{s.vs_same_spend[m].estimate:+.4f} ({s.vs_same_spend[m].low:+.4f}, {s.vs_same_spend[m].high:+.4f})")
            continue
        cheap = [s for s in rows if s.calls_share is not None and s.calls_share <= target.share
                 and s.vs_reference[m].estimate is not None]
        if not cheap:
            lines.append(f"{method}: target not met: no proxy route spends at most {100 * target.share:.0f}% of the calls")
            continue
        s = max(cheap, key=lambda s: s.vs_reference[m].estimate)
        d = s.vs_same_spend.get(m)
        versus = (f"; vs the oracle alone at {s.same_spend_rung} samples {d.estimate:+.4f} "
                  f"({_f(d.low)}, {_f(d.high)})") if d and d.estimate is not None else ""
        lines.append(f"{method}: target not met; best within {100 * target.share:.0f}% of the calls: {s.label}, "
                     f"{s.vs_reference[m].estimate:.2f} of the top-budget {m}{versus}")
    return lines


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:+.4f}"

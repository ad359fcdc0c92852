"""The frontier drawn and tabled: panels of ``fidelity_vs_cost.png`` and the rows of its table.

x: oracle calls per explanation (log); y: mean quality relative to the
oracle's own explanation at the top budget. The oracle alone across the
ladder is the black line (the frontier); every proxy route is a point with
its paired bootstrap interval. A route is worth using only where it sits
above the line at its own spend (the table says so with a paired interval).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..results.frontier import FrontierSummary
from ..view.tables import num, pct
from .frontier_summary import METRICS

_MARKERS = {"substitute": "x", "prior": "o", "control_variate": "s", "regression_adjusted": "^",
            "shap_kernel": "P", "shap_partition": "*", "lime": "D"}


def _kind(route) -> str:
    return route.peer or route.estimator or "substitute"


def draw_frontier(fig, summaries: Sequence[FrontierSummary], *, target_quality: float = 0.95) -> None:
    """Fill ``fig`` (a matplotlib Figure) with a grid of axes: rows = metrics, columns = methods."""
    methods = list(dict.fromkeys(s.route.method for s in summaries))
    axes = fig.subplots(len(METRICS), len(methods), squeeze=False, sharex="col")
    proxies = list(dict.fromkeys(s.route.proxy for s in summaries if s.route.proxy))
    colors = {p: f"C{i % 10}" for i, p in enumerate(proxies)}
    for row, metric in enumerate(METRICS):
        for col, method in enumerate(methods):
            ax = axes[row][col]
            rows = [s for s in summaries if s.route.method == method and s.vs_reference[metric].estimate is not None]
            ladder = sorted((s for s in rows if s.route.kind == "oracle"), key=lambda s: s.oracle_calls)
            ax.plot([s.oracle_calls for s in ladder], [s.vs_reference[metric].estimate for s in ladder], "k.-",
                    lw=1.5, label="oracle alone (frontier)", zorder=3)
            for s in ladder:
                ax.annotate(str(s.route.oracle_samples), (s.oracle_calls, s.vs_reference[metric].estimate),
                            textcoords="offset points", xytext=(0, -11), ha="center", fontsize=7)
            seen = set()
            routes_ = list(dict.fromkeys((_kind(s.route), s.route.proxy) for s in rows if s.route.kind != "oracle"))
            for s in rows:
                if s.route.kind == "oracle":
                    continue
                kind = _kind(s.route)
                k = routes_.index((kind, s.route.proxy))
                dodge = 1 + 0.05 * (k - (len(routes_) - 1) / 2)  # side by side at the same spend
                e = s.vs_reference[metric]
                label = f"{kind} · {s.route.proxy}" if s.route.proxy else f"{kind} (peer)"
                ax.errorbar([s.oracle_calls * dodge], [e.estimate],
                            yerr=[[e.estimate - e.low], [e.high - e.estimate]] if e.low is not None else None,
                            fmt=_MARKERS.get(kind, "o"), color=colors.get(s.route.proxy, "dimgrey"), ms=5, capsize=2,
                            alpha=0.85,
                            label=None if label in seen else label)
                seen.add(label)
            ax.axhline(target_quality, color="grey", ls="--", lw=0.8)
            ax.set_xscale("log")
            ax.set_title(f"{method}: {metric.replace('_', ' ')}", fontsize=10)
            ax.grid(True, which="both", alpha=0.25)
            if col == 0:
                ax.set_ylabel(f"{metric.replace('_', ' ')} / oracle's at top budget")
            if row == len(METRICS) - 1:
                ax.set_xlabel("oracle calls per explanation (log)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes.flat[1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), fontsize=8)


def _ci(e, fmt: str = ".2f", signed: bool = False) -> str:
    if e is None or e.estimate is None:
        return "-"
    f = ("+" if signed else "") + fmt
    body = format(e.estimate, f)
    return body if e.low is None else f"{body} ({format(e.low, f)}, {format(e.high, f)})"


FRONTIER_HEADERS = ["explainer", "route", "proxy", "oracle n", "proxy N", "AOPC / top (95% CI)",
                    "local fid. / top (95% CI)", "vs oracle alone at same spend: AOPC (95% CI)", "local fid. (95% CI)",
                    "paired with", "oracle calls", "of top calls", "of top $", "mean λ", "mean β", "mean ρ"]


def frontier_rows(summaries: Sequence[FrontierSummary]) -> list[list[str]]:
    """One row per cell, in grid order, for the terminal table and bench.md."""
    rows = []
    for s in summaries:
        r = s.route
        same = s.vs_same_spend if r.kind != "oracle" else {}
        rows.append([r.method, r.estimator or r.peer or r.kind, r.proxy or "-", str(r.oracle_samples),
                     str(r.proxy_samples or "-"), _ci(s.vs_reference["aopc"]), _ci(s.vs_reference["local_fidelity"]),
                     _ci(same.get("aopc"), ".4f", signed=True), _ci(same.get("local_fidelity"), ".3f", signed=True),
                     str(s.same_spend_rung) if r.kind != "oracle" else "-", f"{s.oracle_calls:.0f}",
                     pct(s.calls_share), pct(s.usd_share), num(s.mean_lam, ".3g"), num(s.mean_beta),
                     num(s.mean_rho)])
    return rows

"""The bench plot (``fidelity_vs_cost.png``), drawn with matplotlib's Agg canvas from a ``BenchReport``.

No pyplot: figures are built as objects, so plotting never touches a
user's backend or global state (and works without a display). Depends on the
summary types only, not on how the grid runs.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..output import write_figure
from ..results import BenchCell, BenchReport
from .frontier_render import draw_frontier
from .summary import pareto

_MARKERS = {"lime": ("o", "-"), "kernel_shap": ("s", "--")}
_VIEWS = (("pipeline", "screen-and-apply (pipeline)"), ("proxy_only", "proxy only, no screen"))


def _mantissa(v: float) -> int:
    return round(v / 10 ** math.floor(math.log10(v))) if v > 0 else 0


def _dollars(v: float, _pos=None) -> str:
    return f"${v:.3g}"


def _points(cells: list[BenchCell], view: str) -> list[tuple[BenchCell, float, float, tuple[float, float] | None]]:
    """(cell, $ per explanation, mean fidelity, 95% CI) for the cells of ``view`` that have both."""
    out = []
    for c in cells:
        v = getattr(c, view)
        f = v and v.fidelity
        if f and f.mean_fidelity is not None and v.usd_per_explanation > 0:
            out.append((c, v.usd_per_explanation, f.mean_fidelity, f.ci95))
    return out


def plot_fidelity_vs_cost(report: BenchReport, path: str | Path, *, fallback_dir: str | Path | None = None) -> Path:
    """Fidelity against $ per explanation (log): a line per proxy and explainer across budgets.

    Left: screen-and-apply; right: the proxy's explanations wherever the gate
    agrees. The Pareto front of each panel is drawn in grey, the target
    fidelity (``screen.tau``, 0.9 by default) as a dashed line, and the
    oracle alone's cost per explanation at each budget as a dotted line.
    With a frontier (``bench.oracle_ladder``), its panels (``frontier_render``)
    are drawn below, or alone when the grid has no screen-and-apply cells.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    cells = [c for c in report.cells if c.pipeline is not None]
    tau = report.config["screen"]["tau"]
    proxies = list(dict.fromkeys(c.proxy for c in cells))
    colors = {p: f"C{i % 10}" for i, p in enumerate(proxies)}
    frontier = report.frontier
    if frontier is not None and not cells:
        fig = Figure(figsize=(13, 9), layout="constrained")
        FigureCanvasAgg(fig)
        _frontier_panels(fig, report)
        return write_figure(path, fig, dpi=130, fallback_dir=fallback_dir)
    fig = Figure(figsize=(13, 5.6 + (9 if frontier is not None else 0)), layout="constrained")
    FigureCanvasAgg(fig)
    if frontier is not None:
        fig, below = fig.subfigures(2, 1, height_ratios=[5.6, 9])
        _frontier_panels(below, report)
    axes = fig.subplots(1, 2, sharey=True)
    oracle_cost: dict[int, list[float]] = {}
    for r in report.references:
        if r.cost.usd_per_explanation:
            oracle_cost.setdefault(r.samples, []).append(r.cost.usd_per_explanation)

    for ax, (view, title) in zip(axes, _VIEWS):
        pts = _points(cells, view)
        for samples, costs in sorted(oracle_cost.items()):
            x = sum(costs) / len(costs)
            ax.axvline(x, color="0.6", linestyle=":", linewidth=1)
            ax.annotate(f"oracle alone, {samples}", (x, 1), xycoords=("data", "axes fraction"), xytext=(-3, -4),
                        textcoords="offset points", rotation=90, ha="right", va="top", fontsize=7, color="0.4")
        ax.axhline(tau, color="tab:red", linestyle="--", linewidth=1)
        ax.annotate(f"fidelity {tau:g}", (1, tau), xycoords=("axes fraction", "data"), xytext=(-4, -10),
                    textcoords="offset points", ha="right", fontsize=8, color="tab:red")
        front = sorted((x, y) for (c, x, y, _), on in zip(pts, pareto([(x, y) for _, x, y, _ in pts])) if on)
        if front:
            fx, fy = zip(*front)
            ax.step(fx, fy, where="post", color="0.75", linewidth=5, alpha=0.6, zorder=1, solid_capstyle="round")
            ax.scatter(fx, fy, s=260, color="0.75", alpha=0.6, zorder=1, linewidths=0, label="Pareto front")
        lines: dict[tuple[str, str], list] = {}
        for p in pts:
            lines.setdefault((p[0].proxy, p[0].method), []).append(p)
        for (proxy, method), group in lines.items():
            group.sort(key=lambda p: p[0].samples)
            marker, style = _MARKERS.get(method, ("^", "-."))
            xs, ys = [p[1] for p in group], [p[2] for p in group]
            err = [[max(0.0, y - (ci or (y, y))[0]) for _, _, y, ci in group], [max(0.0, (ci or (y, y))[1] - y) for _, _, y, ci in group]]
            ax.errorbar(xs, ys, yerr=err, color=colors[proxy], marker=marker, linestyle=style, capsize=3, zorder=3,
                        label=f"{proxy} · {method}")
            for c, x, y, _ in group:
                if view == "pipeline" and not c.screen.accepted:
                    ax.plot([x], [y], marker=marker, color=colors[proxy], markerfacecolor="white", zorder=4)
                ax.annotate(str(c.samples), (x, y), xytext=(6, 5 if method == "lime" else -11),
                            textcoords="offset points", fontsize=8, color=colors[proxy])
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_dollars))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: _dollars(v) if _mantissa(v) in (2, 5) else ""))
        ax.set_xlabel("$ per explanation (nominal; " + ("screening included)" if view == "pipeline" else "no screening)"))
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.25)
    axes[0].set_ylabel("mean fidelity q(expl.) / q(oracle expl.), 95% CI")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), fontsize=8, frameon=False)
    fig.suptitle(f"Fidelity against cost: oracle {report.oracle}, {report.instances} instances "
                 "(numbers: samples per explanation; hollow markers: proxy rejected by the screen)", fontsize=11)
    return write_figure(path, fig.figure, dpi=130, fallback_dir=fallback_dir)


def _frontier_panels(fig, report: BenchReport) -> None:
    f = report.frontier
    draw_frontier(fig, f.summaries, target_quality=f.target.quality)
    fig.suptitle(f"Quality against oracle spend: oracle {report.oracle}, {report.instances} instances; black: the "
                 "oracle alone (numbers: samples), markers: proxy routes with 95% intervals", fontsize=11)


"""Compression curves, shared by both targets of ``proxyx compress``: removal orders, the best point of a curve,
and one summary row per ranking (its cost, its agreement with the oracle's attributions)."""

from __future__ import annotations

import numpy as np

from ..fidelity import agreement
from .results import Curve, CurvePoint, Interval, MethodSummary
from .scoring import path_cost


def best_point(points: list[CurvePoint], base: float, keep: float) -> CurvePoint:
    """The point with the largest removed fraction whose accuracy is at least ``keep * base``.

    Any point of the curve qualifies, not only those before the first drop:
    each is a prompt that keeps the accuracy on the test instances.
    """
    ok = [p for p in points if p.accuracy >= keep * base - 1e-12]
    return max(ok or points[:1], key=lambda p: (p.removed_fraction, -p.removed_units))


def order_by(values) -> list[int]:
    """Least important first: ascending values, ties in unit order."""
    return np.argsort(np.asarray(values, dtype=float), kind="stable").tolist()


def make_curve(name: str, points: list[CurvePoint], base: float, keep: float, order: list[int] | None = None) -> Curve:
    """The curve of ranking ``name`` (``random:SEED`` for a random one) with its best point."""
    method, _, seed = name.partition(":") if name.startswith("random:") else (name, "", "")
    return Curve(method=method, seed=int(seed) if seed else None, order=order or [], points=points,
                 best=best_point(points, base, keep))


def spearman(values, oracle) -> float | None:
    """Rank agreement of unit values with the oracle's attributions: one vector each, or a list of vectors
    (one per input; the mean over them)."""
    pairs = zip(values, oracle) if isinstance(values, list) else [(values, oracle)]
    rows = [agreement(np.asarray(v, dtype=float), np.asarray(o, dtype=float), k=1)["spearman"] for v, o in pairs]
    rows = [r for r in rows if r is not None]
    return float(np.mean(rows)) if rows else None


def summarise(curves: list[Curve], session, values: dict, prompt_file=lambda curve: None) -> list[MethodSummary]:
    """One row per ranking (random: mean and t interval over seeds), with its cost and its agreement with the
    oracle's attributions (``values``: unit values by method, the oracle's under ``oracle``)."""
    summary = []
    randoms = [c.best.removed_fraction for c in curves if c.method == "random"]
    if randoms:
        iv = Interval.of(randoms)
        summary.append(MethodSummary(method="random", removed_fraction=iv.mean, interval=iv))
    for c in curves:
        if c.method == "random":
            continue
        rho = spearman(values[c.method], values["oracle"]) if "oracle" in values and c.method != "oracle" else None
        summary.append(MethodSummary(method=c.method, removed_fraction=c.best.removed_fraction,
                                     accuracy=c.best.accuracy, cost=path_cost(session, c.method),
                                     oracle_cost=path_cost(session, c.method, model=session.oracle.name),
                                     prompt_file=prompt_file(c), spearman_to_oracle=rho))
    return summary


def proxy_ratio(summary: list[MethodSummary]) -> dict[str, float | None]:
    """Each proxy's and estimator's removable share over the oracle's (published: 0.917)."""
    oracle_frac = next((m.removed_fraction for m in summary if m.method == "oracle"), None)
    return {m.method: (m.removed_fraction / oracle_frac if oracle_frac else None)
            for m in summary if m.method.startswith(("proxy:", "informed:"))}

"""Summaries of a bench: a cell's views and costs, the Pareto front, quality against the top budget, the headline.

Pure functions of typed results (``proxyx.results``); nothing here calls a model.
"""

from __future__ import annotations

import numpy as np

from ..costs import crr, fidelity_summary, instances_to_target, mean, per_hour, ratios
from ..results import (BenchCell, BestProxy, CellCost, CellRef, CellScreen, Cost, Headline, InstanceDetail,
                       InstanceResult, ProxyScreen, Reference, ReferenceCost, RunInfo, ScreenStats, Spend, SpendSplit,
                       Throughput, View, total)
from ..view.tables import num, pct


def reference_summary(method: str, samples: int, entries: list[InstanceResult], run: RunInfo) -> Reference:
    """The oracle alone at one budget, from its (scored) entries."""
    ok = [e for e in entries if e.status == "ok"]
    cost = total(e.cost.all_oracle.nominal for e in ok)
    return Reference(
        method=method, samples=samples, instances=len(ok), failed=len(entries) - len(ok),
        cost=ReferenceCost(explanation=cost, evaluation=total(e.cost.evaluation.nominal for e in ok),
                           usd_per_explanation=cost.usd / len(ok) if ok else None,
                           calls_per_explanation=cost.calls / len(ok) if ok else None),
        throughput_per_hour=per_hour(len(ok), cost.seconds),
        mean_q_oracle=mean(e.fidelity.q_oracle.aopc for e in ok),
        q_oracle_undefined=sum(e.fidelity.fidelity is None for e in ok),
        instances_q_oracle={e.id: e.fidelity.q_oracle.aopc for e in ok}, run=run)


def pipeline_entry(proxy_entry: InstanceResult, oracle_entry: InstanceResult, accepted: bool) -> InstanceResult:
    """Screen-and-apply: the proxy's explanation where accepted and the gate agrees, else the oracle's.

    The grid runs ``estimator: plain``, so an entry is the proxy's or the oracle's; any other role is a bug.
    """
    if proxy_entry.role not in ("proxy", "oracle"):
        raise ValueError(f"instance {proxy_entry.id}: role {proxy_entry.role!r} in a screen-and-apply cell, which "
                         "runs estimator: plain (role proxy or oracle)")
    if not accepted:
        return oracle_entry  # the proxy is never asked: no gate call either
    if proxy_entry.role == "proxy":
        return proxy_entry
    return proxy_entry.model_copy(update={"fidelity": oracle_entry.fidelity})  # gate disagreed: the oracle explained


def view(entries: list[InstanceResult], screen: ProxyScreen | None, oracle: str) -> View:
    """Fidelity and cost of one way of explaining the instances, screening included when ``screen`` is given."""
    c = crr(entries, screen=screen.total_cost().nominal if screen else None,
            screen_oracle=screen.cost.get(oracle, Cost()).nominal if screen else Spend())
    return View(fidelity=fidelity_summary(entries), explained_by_proxy=sum(e.role == "proxy" for e in entries),
                crr=c, usd_per_explanation=c.with_proxies.usd / len(entries), cost_share_usd=c.cost_share_usd)


def cell_screen(screened: ProxyScreen) -> CellScreen:
    """The screen's decision and statistics with nominal costs only (what a rerun reproduces)."""
    return CellScreen(**screened.model_dump(include=set(ScreenStats.model_fields)),
                      cost={m: c.nominal for m, c in screened.cost.items()},
                      distillation=screened.distillation.nominal if screened.distillation else None)


def projected_shares(share_excl_screen: float | None, screen_usd: float, oracle_usd_per_instance: float, *,
                     own: int, more: tuple[int, ...] = (300, 3000)) -> dict[str, float | None]:
    """The cost share, screening included, at ``own`` instances and at ``more``: the screen is paid once per task."""
    def at(n: int) -> float | None:
        if share_excl_screen is None or oracle_usd_per_instance <= 0:
            return None
        return share_excl_screen + screen_usd / (n * oracle_usd_per_instance)
    return {"own": at(own), **{str(n): at(n) for n in more}}


def summarise_cell(proxy: str, method: str, samples: int, proxy_entries: list[InstanceResult],
                   reference: dict[str, InstanceResult], screened: ProxyScreen, oracle: str, run: RunInfo) -> BenchCell:
    """A cell from the proxy's entries (fidelity on) and the oracle alone's entries at the same budget."""
    pairs = [(p, reference[p.id]) for p in proxy_entries if p.status == "ok" and reference[p.id].status == "ok"]
    n, n_all = len(pairs), len(proxy_entries)
    cell = BenchCell(proxy=proxy, method=method, samples=samples,
                     status="ok" if n == n_all else "complete_with_failures" if n else "failed",
                     instances=n, failed=n_all - n, errors=sorted({e.error for e in proxy_entries if e.status == "failed"}),
                     screen=cell_screen(screened), run=run)
    if not n:
        return cell
    only = [p for p, _ in pairs]
    pipe = [pipeline_entry(p, r, screened.accepted) for p, r in pairs]
    cell.gate_agreement = float(np.mean([bool(p.gate[0].agrees) for p in only]))
    cost = CellCost(
        explanation=SpendSplit(total=total(e.cost.with_proxy.nominal for e in pipe),
                               oracle=total(e.cost.with_proxy_oracle.nominal for e in pipe)),
        screening=SpendSplit(total=screened.total_cost().nominal, oracle=screened.cost.get(oracle, Cost()).nominal),
        evaluation=total(e.cost.evaluation.nominal for e in only),
        all_oracle=total(e.cost.all_oracle.nominal for e in pipe))
    cell.cost = cost
    excl = crr(pipe)
    cell.pipeline = view(pipe, screened, oracle).model_copy(update={
        "crr_excl_screen": ratios(excl), "cost_share_usd_excl_screen": excl.cost_share_usd,
        "instances_to_target": instances_to_target(excl.cost_share_usd, cost.screening.total.usd, cost.all_oracle.usd / n),
        "cost_share_usd_projected": projected_shares(excl.cost_share_usd, cost.screening.total.usd,
                                                     cost.all_oracle.usd / n, own=n)})
    cell.proxy_only = view(only, None, oracle).model_copy(
        update={"fidelity": fidelity_summary([p for p in only if p.role == "proxy"])})
    seconds = cost.explanation.total.seconds
    cell.throughput_per_hour = Throughput(
        oracle_alone=per_hour(n, cost.all_oracle.seconds), pipeline=per_hour(n, seconds),
        pipeline_with_screening=per_hour(n, seconds + cost.screening.total.seconds),
        proxy_only=per_hour(n, total(e.cost.with_proxy.nominal for e in only).seconds))
    cell.instances_detail = [InstanceDetail(
        id=p.id, gate_agrees=p.gate[0].agrees, explained_by=e.explained_by, fidelity=e.fidelity.fidelity,
        q=e.fidelity.q_proxy.aopc, q_oracle=r.fidelity.q_oracle.aopc,
        proxy_fidelity=p.fidelity.fidelity if p.role == "proxy" else None,
        proxy_spearman=p.fidelity.agreement.spearman if p.role == "proxy" else None,
        proxy_topk_jaccard=p.fidelity.agreement.topk_jaccard if p.role == "proxy" else None,
    ) for (p, r), e in zip(pairs, pipe)]
    return cell


def pareto(points: list[tuple[float, float] | None]) -> list[bool]:
    """Which (cost, fidelity) points no other point beats on both (lower cost, higher fidelity)."""
    def beaten(a, b):
        return b[0] <= a[0] and b[1] >= a[1] and (b[0] < a[0] or b[1] > a[1])
    return [p is not None and not any(q is not None and beaten(p, q) for q in points) for p in points]


def mean_fidelity(v: View | None) -> float | None:
    return v.fidelity.mean_fidelity if v and v.fidelity else None


def mark_pareto(cells: list[BenchCell]) -> None:
    """Set ``pareto`` on both views of every cell ($ per explanation against mean fidelity)."""
    for name in ("pipeline", "proxy_only"):
        views = [getattr(c, name) for c in cells]
        points = [(v.usd_per_explanation, mean_fidelity(v)) if mean_fidelity(v) is not None else None for v in views]
        for v, front in zip(views, pareto(points)):
            if v is not None:
                v.pareto = front


def quality_vs_top_budget(cells: list[BenchCell], references: list[Reference]) -> None:
    """Mean pipeline quality over the mean quality of the oracle's explanations at the method's largest budget.

    Fidelity compares with the oracle at the same budget; this compares budgets.
    """
    top: dict[str, Reference] = {}
    for r in references:
        if r.samples >= (top[r.method].samples if r.method in top else 0):
            top[r.method] = r
    for c in cells:
        ref = top[c.method].instances_q_oracle if c.method in top else {}
        rows = [(i.q, ref[i.id]) for i in c.instances_detail if i.id in ref]
        denom = sum(q for _, q in rows)
        if c.pipeline is not None:
            c.pipeline.q_vs_top_budget_oracle = sum(q for q, _ in rows) / denom if rows and denom > 0 else None


def headline(cells: list[BenchCell], tau: float) -> list[Headline]:
    """Per explainer, the cheapest cell whose pipeline fidelity reaches ``tau`` on average.

    Where the screen accepted no proxy at any budget, it says so instead; where the chosen cell's proxy was
    rejected, ``best_proxy_alone`` names the proxy that came closest to the oracle without the screen.
    """
    cells = [c for c in cells if c.pipeline is not None]
    out = []
    for method in dict.fromkeys(c.method for c in cells):
        mine = [c for c in cells if c.method == method]
        ok = [c for c in mine if (mean_fidelity(c.pipeline) or -np.inf) >= tau]
        if not any(c.screen.accepted for c in mine):
            shares = [c.pipeline.cost_share_usd for c in mine if c.pipeline.cost_share_usd is not None]
            cost = f" at {pct(min(shares))}-{pct(max(shares))} of the oracle's cost" if shares else ""
            out.append(Headline(method=method, cell=None, best_proxy_alone=best_proxy_alone(mine), text=(
                f"{method}: the screen rejected every proxy at every budget ({len(mine)} screens), so "
                f"screen-and-apply leaves every explanation to the oracle: fidelity 1{cost} "
                "(the screens are the overhead)")))
            continue
        if not ok:
            out.append(Headline(method=method, cell=None,
                                text=f"{method}: no proxy and budget reached mean fidelity {tau:g} with screen-and-apply"))
            continue
        c = min(ok, key=lambda c: (c.pipeline.usd_per_explanation, c.samples))
        p, f = c.pipeline, c.pipeline.fidelity
        ci = f" (95% CI {f.ci95[0]:.3f}-{f.ci95[1]:.3f})" if f.ci95 else ""
        how = (f"{c.proxy} accepted by the screen" if c.screen.accepted
               else f"{c.proxy} rejected by the screen ({c.screen.decision}), the oracle explains everything")
        out.append(Headline(
            method=method, cell=CellRef(proxy=c.proxy, samples=c.samples), fidelity=f.mean_fidelity, ci95=f.ci95,
            cost_share_usd=p.cost_share_usd, crr=ratios(p.crr),
            best_proxy_alone=None if c.screen.accepted else best_proxy_alone(mine),
            text=(f"{method}, {c.samples} samples: {how}: fidelity {f.mean_fidelity:.3f}{ci} at "
                  f"{100 * p.cost_share_usd:.1f}% of the oracle's cost (CRR {num(p.crr.usd, '.1f')}x $, "
                  f"{num(p.crr.calls, '.1f')}x oracle calls; screening included) over {c.instances} instances")))
    return out


def best_proxy_alone(cells: list[BenchCell]) -> BestProxy | None:
    """The cell whose proxy, used wherever its label agrees (no screen), comes closest to the oracle's quality."""
    rated = [c for c in cells if c.proxy_only.fidelity and c.proxy_only.fidelity.ratio_of_means is not None]
    if not rated:
        return None
    c = max(rated, key=lambda c: (c.proxy_only.fidelity.ratio_of_means, -c.samples))
    p, f = c.proxy_only, c.proxy_only.fidelity
    return BestProxy(
        proxy=c.proxy, samples=c.samples, ratio_of_means=f.ratio_of_means, fidelity=f.mean_fidelity,
        gate_agreement=c.gate_agreement, cost_share_usd=p.cost_share_usd,
        text=(f"closest without the screen: {c.proxy} at {c.samples} samples, used wherever its label "
              f"agrees with the oracle's ({100 * c.gate_agreement:.0f}% of instances): mean q "
              f"{f.ratio_of_means:.2f} of the oracle's (mean fidelity {num(f.mean_fidelity)}) at "
              f"{pct(p.cost_share_usd)} of the oracle's cost"))


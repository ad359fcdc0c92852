"""Cost arithmetic in one place: CRR, cost share, instances to a target share, fidelity summary.

CRR = C_all-oracle / (C_proxy + C_fallback + C_screen). Calls and tokens
count the oracle's (what is expensive); dollars count every model at its
price. Costs are nominal (cache hits at their original price), so a warm
rerun reports the same ratios.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from .results import CRR, FidelitySummary, InstanceResult, Ratios, Spend, total
from .stats import mean_t

#: the published cost share: more than 90% fidelity at 11% of the all-oracle cost
TARGET_COST_SHARE = 0.11


def mean(xs: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def per_hour(n: int, seconds: float) -> float | None:
    """Explanations per hour from the model time they took."""
    return 3600.0 * n / seconds if seconds > 0 else None


def cost_share(part: Spend, whole: Spend) -> float | None:
    """``part`` dollars as a share of ``whole`` dollars."""
    return ratio(part.nano_usd, whole.nano_usd)


def crr(instances: Sequence[InstanceResult], *, screen: Spend | None = None, screen_oracle: Spend = Spend()) -> CRR | None:
    """The cost reduction ratio of the explained (``status: ok``) instances; None when there are none.

    ``screen`` is the screening cost of every model (None: no screen was
    used), ``screen_oracle`` the oracle's share of it; both nominal.
    """
    done = [e for e in instances if e.status == "ok"]
    if not done:
        return None
    all_oracle = total(e.cost.all_oracle.nominal for e in done)
    oracle = total(e.cost.with_proxy_oracle.nominal for e in done)
    every = total(e.cost.with_proxy.nominal for e in done)
    scr = screen or Spend()
    denom = Spend(calls=oracle.calls + screen_oracle.calls, tokens=oracle.tokens + screen_oracle.tokens,
                  nano_usd=every.nano_usd + scr.nano_usd, seconds=round(every.seconds + scr.seconds, 9))
    return CRR(calls=ratio(all_oracle.calls, denom.calls), tokens=ratio(all_oracle.tokens, denom.tokens),
               usd=ratio(all_oracle.nano_usd, denom.nano_usd), all_oracle=all_oracle,
               estimated=any(e.cost.estimated for e in done), with_proxies=denom, screen=screen,
               cost_share_usd=cost_share(denom, all_oracle))


def ratios(c: CRR) -> Ratios:
    return Ratios(calls=c.calls, tokens=c.tokens, usd=c.usd)


def instances_to_target(share_excl_screen: float | None, screen_usd: float, oracle_usd_per_instance: float,
                        target: float = TARGET_COST_SHARE) -> int | None:
    """How many explained instances pay the screen back down to ``target`` of the all-oracle cost.

    The screen is paid once per task; with N instances the cost share is
    ``share_excl_screen + screen_usd / (N * oracle_usd_per_instance)``. None
    when no N reaches the target (the share without the screen is above it).
    """
    if share_excl_screen is None or share_excl_screen >= target or oracle_usd_per_instance <= 0:
        return None
    return max(1, math.ceil(screen_usd / (oracle_usd_per_instance * (target - share_excl_screen)) - 1e-9))


def fidelity_summary(instances: Sequence[InstanceResult]) -> FidelitySummary | None:
    """Mean fidelity (with a 95% Student t interval), mean qualities and rank agreement over instances with a comparison."""
    rows = [e.fidelity for e in instances if e.fidelity is not None]
    if not rows:
        return None
    fids = [r.fidelity for r in rows if r.fidelity is not None]
    interval = mean_t(fids)
    ci95 = (interval.low, interval.high) if interval.low is not None else None
    qp = float(np.mean([r.q_proxy.aopc for r in rows]))
    qo = float(np.mean([r.q_oracle.aopc for r in rows]))
    return FidelitySummary(
        n=len(rows), undefined=len(rows) - len(fids), mean_fidelity=interval.estimate, ci95=ci95, mean_q_proxy=qp,
        mean_q_oracle=qo, ratio_of_means=qp / qo if qo > 0 else None,
        mean_spearman=mean(r.agreement.spearman for r in rows),
        mean_topk_jaccard=mean(r.agreement.topk_jaccard for r in rows),
        mean_sign_agreement=mean(r.agreement.sign_agreement for r in rows))

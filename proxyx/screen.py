"""Task-level screen: may this proxy stand in for the oracle on this task?

For screening instances x_1, x_2, ... (from a split disjoint from the
instances being explained) on which the proxy's label agrees with the
oracle's (the only instances where a proxy explanation is ever used, see
the instance-level gate), both explain x_i with the same explainer, budget
and masks, both explanations are scored on the oracle, and

    d_i = q_proxy(x_i) - tau * q_oracle(x_i).

After each instance from ``min_instances`` on, with n instances, mean m and
standard deviation s, the one-sided t bound at ``confidence`` is

    m -/+ t_{confidence, n-1} * s / sqrt(n).

Accept as soon as the lower bound is above 0; reject for futility as soon
as the upper bound is below 0; reject at ``max_instances``. Looking at the
bound after every instance (optional stopping) makes the per-look
confidence nominal only: the overall false-acceptance rate can exceed
1 - confidence (``scripts/screen_error_rate.py`` measures it; README
"Screening"). ``correct_for_looks`` divides 1 - confidence by the number
of looks (Bonferroni), which bounds the overall rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from .config import Config
from .data import Instance
from .errors import BudgetExceeded, DataError
from .explain import attribute, compare, instance_seed, predict
from .ledger import Tally
from .perturb import Segments
from .scorer import Scorer
from .session import ALL, Session, distill_purpose, load_instances

#: screening looks at no more than this many times max_instances candidates
MAX_EXAMINED_FACTOR = 3


def t_bounds(d: list[float], confidence: float) -> tuple[float, float, float]:
    """(mean, lower, upper) one-sided bounds of mean(d) at ``confidence``."""
    n = len(d)
    m = float(np.mean(d))
    if n < 2:
        return m, -math.inf, math.inf
    s = float(np.std(d, ddof=1))
    half = float(stats.t.ppf(confidence, n - 1)) * s / math.sqrt(n)
    return m, m - half, m + half


@dataclass
class ProxyScreen:
    proxy: str
    decision: str = "pending"  # accepted | rejected_futility | rejected_max | rejected_data | stopped_budget
    n: int = 0  # instances with a paired difference
    examined: int = 0  # screening instances looked at (including gate disagreements)
    disagreements: int = 0  # proxy label != oracle label (skipped)
    mean_d: float | None = None
    lower: float | None = None
    upper: float | None = None
    mean_fidelity: float | None = None
    fidelity_undefined: int = 0
    mean_spearman: float | None = None
    mean_topk_jaccard: float | None = None
    cost: dict = field(default_factory=dict)  # per model: nominal and paid; the oracle's includes distillation
    distillation: dict | None = None  # the oracle calls that distilled the proxy (once per session), if any
    instances: list[dict] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.decision == "accepted"

    def to_dict(self) -> dict:
        return asdict(self)


def _mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else None


def screen_instances(config: Config, exclude_ids: set[str] = frozenset()) -> list[Instance]:
    rows = load_instances(config, split=config.dataset.screen_split, limit=ALL)
    return [x for x in rows if x.id not in exclude_ids]


def cost_order(proxies: list[Scorer], probe: str) -> list[Scorer]:
    """Cheapest first (estimated dollars per call on ``probe``), pool order on ties."""
    return sorted(proxies, key=lambda p: p.model.estimate(probe).usd)


def screen_proxy(session: Session, proxy: Scorer, instances: list[Instance],
                 on_step: Callable[[ProxyScreen], None] | None = None) -> ProxyScreen:
    cfg, ex = session.config.screen, session.config.explainer
    oracle, ledger = session.oracle, session.ledger
    result = ProxyScreen(proxy=proxy.name)
    since = ledger.snapshot()
    proxy.setup()  # a distilled proxy asks the oracle now (from the cache after the first time)
    d: list[float] = []
    for x in instances[: MAX_EXAMINED_FACTOR * cfg.max_instances]:
        result.examined += 1
        segments = Segments(x.text)
        o = predict(oracle, segments, "screen")
        if predict(proxy, segments, "screen").label != o.label:
            result.disagreements += 1
        else:
            seed = instance_seed(session.config.seed, x.id)
            pa = attribute(proxy, segments, o.label, method=ex.method, samples=ex.samples, seed=seed, purpose="screen")
            oa = attribute(oracle, segments, o.label, method=ex.method, samples=ex.samples, seed=seed, purpose="screen")
            c = compare(oracle, segments, o.label, pa, oa, k_fraction=session.config.fidelity.k_fraction, purpose="screen")
            d.append(c.q_proxy.aopc - cfg.tau * c.q_oracle.aopc)
            result.instances.append({"id": x.id, "d": d[-1], **c.to_dict()})
            result.n = len(d)
            result.mean_d, lo, hi = t_bounds(d, cfg.per_look_confidence)
            result.lower, result.upper = (lo if math.isfinite(lo) else None), (hi if math.isfinite(hi) else None)
            if len(d) >= cfg.min_instances:
                if lo > 0:
                    result.decision = "accepted"
                elif hi < 0:
                    result.decision = "rejected_futility"
                elif len(d) >= cfg.max_instances:
                    result.decision = "rejected_max"
        if on_step:
            on_step(result)
        if result.decision != "pending":
            break
    if result.decision == "pending":
        result.decision = "rejected_data"  # ran out of (agreeing) screening instances
    fids = [i["fidelity"] for i in result.instances]
    result.mean_fidelity = _mean(fids)
    result.fidelity_undefined = sum(f is None for f in fids)
    result.mean_spearman = _mean([i["agreement"]["spearman"] for i in result.instances])
    result.mean_topk_jaccard = _mean([i["agreement"]["topk_jaccard"] for i in result.instances])
    result.cost = _cost_by_model(session, since)
    # Distillation is a one-off cost of using this proxy on the task, like the screen: counted with it.
    distilled = ledger.total(model=oracle.name, purpose=distill_purpose(proxy.name))
    if distilled.nominal_calls or distilled.failures:
        result.distillation = distilled.to_dict()
        result.cost[oracle.name] = (Tally(**result.cost.get(oracle.name, {})) + distilled).to_dict()
    return result


def _cost_by_model(session: Session, since) -> dict:
    out = {}
    for s in [session.oracle, *session.proxies]:
        t = session.ledger.total(model=s.name, purpose="screen", since=since)
        if t.nominal_calls or t.failures:
            out[s.name] = t.to_dict()
    return out


@dataclass
class ScreenReport:
    proxies: list[ProxyScreen]
    config: dict
    stopped: str | None = None  # "budget" when max_usd stopped the screen

    @property
    def accepted(self) -> list[str]:
        return [p.proxy for p in self.proxies if p.accepted]

    @property
    def cost(self) -> Tally:
        total = Tally()
        for p in self.proxies:
            for t in p.cost.values():
                total.add(Tally(**t))
        return total

    def to_dict(self) -> dict:
        return {"schema": "proxyx.screen/1", "accepted": self.accepted, "stopped": self.stopped,
                "cost": self.cost.to_dict(), "proxies": [p.to_dict() for p in self.proxies], "config": self.config}

    @classmethod
    def from_dict(cls, d: dict) -> "ScreenReport":
        if d.get("schema") != "proxyx.screen/1":
            raise DataError("not a proxyx screening result (schema proxyx.screen/1); write one with 'proxyx screen CONFIG --out FILE'")
        return cls(proxies=[ProxyScreen(**p) for p in d["proxies"]], config=d.get("config", {}), stopped=d.get("stopped"))


def run_screen(session: Session, *, screen_all: bool | None = None, exclude_ids: set[str] = frozenset(),
               on_step: Callable[[ProxyScreen], None] | None = None) -> ScreenReport:
    """Screen the pool cheapest first; stop at the first accepted proxy unless ``screen_all``."""
    config = session.config
    screen_all = config.screen.all if screen_all is None else screen_all
    instances = screen_instances(config, exclude_ids)
    if not instances:
        raise DataError("no screening instances: the screen split is empty after removing the explained instances")
    report = ScreenReport(proxies=[], config=config.model_dump(mode="json"))
    for proxy in cost_order(session.proxies, instances[0].text):
        try:
            report.proxies.append(screen_proxy(session, proxy, instances, on_step))
        except BudgetExceeded:
            report.proxies.append(ProxyScreen(proxy=proxy.name, decision="stopped_budget"))
            report.stopped = "budget"
            break
        if report.proxies[-1].accepted and not screen_all:
            break
    return report

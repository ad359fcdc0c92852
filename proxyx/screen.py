"""Task-level screen: may this proxy stand in for the oracle on this task?

For screening instances x_1, x_2, ... (from a split disjoint from the
instances being explained) on which the proxy's label agrees with the
oracle's (the only instances where a proxy explanation is ever used, see
the instance-level gate), both explain x_i with the same explainer, budget
and masks, both explanations are scored on the oracle, and

    d_i = q_proxy(x_i) - tau * q_oracle(x_i),

q the explanation quality ``screen.metric`` names: AOPC of deletion, or
local fidelity on ``fidelity.heldout_samples`` held-out masks. Local
fidelity is undefined where the oracle's answers are constant on the
held-out masks: d_i is then undefined too (null in the record), the
instance is counted in ``undefined`` and left out of the test, like a gate
disagreement.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import stats

from .config import Config, ScreenConfig
from .costs import mean
from .data import Instance
from .errors import BudgetExceeded, DataError, ModelError
from .explain import attribute, compare, instance_seed, predict
from .results import (Comparison, Cost, GenScreenInstance, ProxyScreen, ScreenInstance, ScreenResult, ScreenStats,
                      ScreenValidity)
from .scorer import Scorer
from .session import ALL, Session, distill_purpose, open_session
from .tasks import task_for

#: screening looks at no more than this many times max_instances candidates
MAX_EXAMINED_FACTOR = 3

OnStep = Callable[[ProxyScreen], None]


def t_bounds(d: list[float], confidence: float) -> tuple[float, float, float]:
    """(mean, lower, upper) one-sided bounds of mean(d) at ``confidence``."""
    n = len(d)
    m = float(np.mean(d))
    if n < 2:
        return m, -math.inf, math.inf
    s = float(np.std(d, ddof=1))
    half = float(stats.t.ppf(confidence, n - 1)) * s / math.sqrt(n)
    return m, m - half, m + half


def screen_pool(config: Config, explained_ids: set[str], task=None) -> list[Instance]:
    """The screening candidates: every row of ``dataset.screen_split`` except the explained instances.

    The one rule for ``run_screen``, ``proxyx screen`` and the bench (the task's ``screen_pool``).
    """
    return (task or task_for(config)).screen_pool(explained_ids)


def no_screening_instances(config: Config, task=None) -> DataError:
    """Why ``screen_pool`` is empty, and how to fix it."""
    ds, task = config.dataset, task or task_for(config)
    if not task.instances(split=ds.screen_split, limit=ALL):
        return DataError(f"no screening instances: the {ds.screen_split} split (dataset.screen_split) is empty")
    n = len(task.instances(limit=ALL))
    same = "is the same split" if ds.screen_split == ds.split else "holds the same rows (one file)"
    return DataError(f"no instance is left to screen: dataset.limit ({ds.limit or 'not set'}) explains all {n} rows "
                     f"of the {ds.split} split, and the screen split ({ds.screen_split}) {same}; lower dataset.limit "
                     f"(or --limit) below {n}, or screen other rows: dataset.screen_split, or a screen file "
                     "(dataset.path: {test: ..., screen: ...})")


def look(result: ScreenStats, d: list[float], cfg: ScreenConfig) -> None:
    """After a new paired difference: record the bounds in ``result`` and decide when the rule allows.

    The screen's one decision rule, for every kind of task (classifier, prompt and generate screens, the apps).
    """
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


def screen_decision(d: list[float], cfg: ScreenConfig) -> ScreenStats:
    """The rule (``look``) over differences already measured, in order, stopped at its decision
    (``rejected_data`` when they run out first)."""
    result = ScreenStats()
    for n in range(1, len(d) + 1):
        look(result, d[:n], cfg)
        if result.decision != "pending":
            return result
    result.decision = "rejected_data"
    return result


#: ``judge(candidate)``: None where the proxy fails the gate, else (the instance's record, d or None where undefined)
Judge = Callable[[Any], "tuple[ScreenInstance | GenScreenInstance, float | None] | None"]


def sequential_test(record: ProxyScreen, candidates: list, judge: Judge, cfg: ScreenConfig,
                    on_step: OnStep | None = None) -> None:
    """Judge the candidates in order, at most ``MAX_EXAMINED_FACTOR * max_instances``, until ``look`` decides;
    ``rejected_data`` when they run out. Errors propagate: ``recorded`` turns them into the record's decision."""
    d: list[float] = []
    for x in candidates[: MAX_EXAMINED_FACTOR * cfg.max_instances]:
        record.examined += 1
        got = judge(x)
        if got is None:
            record.disagreements += 1
        else:
            item, diff = got
            record.instances.append(item)
            if diff is None:  # undefined (local fidelity on constant oracle answers): left out of the test, counted
                record.undefined += 1
            else:
                d.append(diff)
                look(record, d, cfg)
        if on_step:
            on_step(record)
        if record.decision != "pending":
            return
    record.decision = "rejected_data"  # ran out of (agreeing) screening instances


@contextmanager
def recorded(record: ProxyScreen) -> Iterator[None]:
    """The screen's one error contract: a failed call (``ModelError``) or the budget (``BudgetExceeded``) ends
    the screen of this proxy and is recorded (decision ``failed`` / ``stopped_budget``, ``error``), not raised,
    so the partial record (instances, differences, cost) stays."""
    try:
        yield
    except ModelError as e:
        record.decision, record.error = "failed", str(e)
    except BudgetExceeded as e:
        record.decision, record.error = "stopped_budget", str(e)


def measured_by(config: Config) -> dict:
    """The settings that change a screen's numbers (``ScreenValidity`` fields), for every kind of task."""
    ex, fid, sc = config.explainer, config.fidelity, config.screen
    return {"method": ex.method, "samples": ex.samples, "sampler": getattr(ex, "sampler", "kernel"), "unit": ex.unit,
            "tau": sc.tau, "metric": sc.metric,
            "k_fraction": fid.k_fraction, "heldout_samples": fid.heldout_samples if sc.metric == "local_fidelity" else None}


def difference(c: Comparison, cfg: ScreenConfig) -> float | None:
    """d = q_proxy - tau * q_oracle on the screen's metric; None where local fidelity is undefined."""
    if cfg.metric == "aopc":
        return c.q_proxy.aopc - cfg.tau * c.q_oracle.aopc
    if c.local_fidelity_proxy is None or c.local_fidelity_oracle is None:
        return None
    return c.local_fidelity_proxy - cfg.tau * c.local_fidelity_oracle


def screen_validity(session: Session) -> ScreenValidity:
    """What a screen run with ``session`` is valid for (``ScreenResult.check_valid_for``)."""
    return ScreenValidity(oracle=session.oracle.fingerprint, task=session.task.identity(),
                          proxies={p.name: p.fingerprint for p in session.proxies}, **measured_by(session.config))


def cost_order(proxies: list[Scorer], probe: str) -> list[Scorer]:
    """Cheapest first (estimated dollars per call on ``probe``), pool order on ties."""
    return sorted(proxies, key=lambda p: p.model.estimate(probe).usd)


def screen_proxy(session: Session, proxy: Scorer, instances: list[Instance],
                 on_step: OnStep | None = None) -> ProxyScreen:
    """Screen one proxy; a failed call or the budget is recorded in the result, not raised (``recorded``)."""
    cfg, ex, fid = session.config.screen, session.config.explainer, session.config.fidelity
    oracle = session.oracle
    result = ProxyScreen(proxy=proxy.name)
    since = session.ledger.snapshot()

    def judge(x: Instance) -> tuple[ScreenInstance, float | None] | None:
        segments = session.units(x)
        o = predict(oracle, segments, "screen")
        if predict(proxy, segments, "screen").label != o.label:
            return None
        seed = instance_seed(session.config.seed, x.id)
        how = dict(method=ex.method, samples=ex.samples, seed=seed, purpose="screen", sampler=ex.sampler)
        pa, oa = attribute(proxy, segments, o.label, **how), attribute(oracle, segments, o.label, **how)
        local = cfg.metric == "local_fidelity"  # held-out masks cost oracle calls: only when the screen tests it
        c = compare(oracle, segments, o.label, pa, oa, k_fraction=fid.k_fraction, purpose="screen",
                    heldout=fid.heldout_samples if local else 0, seed=seed)
        diff = difference(c, cfg)
        return ScreenInstance(id=x.id, d=diff, **dict(c)), diff

    with recorded(result):
        proxy.setup()  # a distilled proxy asks the oracle now (from the cache after the first time)
        sequential_test(result, instances, judge, cfg, on_step)
    _summarise(session, result, since)
    return result


def _summarise(session: Session, result: ProxyScreen, since) -> None:
    """Means over the instances done so far and the cost since ``since`` (a partial record too)."""
    oracle, ledger = session.oracle, session.ledger
    fids = [i.fidelity for i in result.instances]
    result.mean_fidelity = mean(fids)
    result.fidelity_undefined = sum(f is None for f in fids)
    result.mean_spearman = mean(i.agreement.spearman for i in result.instances)
    result.mean_topk_jaccard = mean(i.agreement.topk_jaccard for i in result.instances)
    result.cost = _cost_by_model(session, since)
    # Distillation is a one-off cost of using this proxy on the task, like the screen: counted with it.
    distilled = ledger.total(model=oracle.name, purpose=distill_purpose(result.proxy))
    if distilled.nominal.calls or distilled.failures:
        result.distillation = distilled
        result.cost[oracle.name] = result.cost.get(oracle.name, Cost()) + distilled


def _cost_by_model(session: Session, since) -> dict[str, Cost]:
    out = {}
    for s in [session.oracle, *session.proxies]:
        c = session.ledger.total(model=s.name, purpose="screen", since=since)
        if c.nominal.calls or c.failures:
            out[s.name] = c
    return out


def run_screen(session: Session | Config, *, screen_all: bool | None = None, explained_ids: set[str] | None = None,
               on_step: OnStep | None = None, task=None) -> ScreenResult:
    """Screen the pool cheapest first; stop at the first accepted proxy unless ``screen_all``.

    ``session``: an open session, or a config (a session is opened and closed
    here). ``explained_ids``: the instances to leave out of the screen pool
    (default: the config's explained instances). A proxy whose screen hits a
    failed call is recorded as ``failed`` (with the error) and the next one is
    screened; the budget stops the screen, keeping the partial record. ``task``: with a config, the
    config's kind (``proxyx.tasks``; default the one it names).
    """
    if isinstance(session, Config):
        own = open_session(session, task)
        try:
            return run_screen(own, screen_all=screen_all, explained_ids=explained_ids, on_step=on_step)
        finally:
            own.close()
    config = session.config
    if not session.proxies:
        raise DataError("'proxies' is empty; name at least one proxy model to screen")
    screen_all = config.screen.all if screen_all is None else screen_all
    if explained_ids is None:
        explained_ids = {x.id for x in session.task.instances()}
    instances = session.task.screen_pool(explained_ids)
    if not instances:
        raise no_screening_instances(config, session.task)
    result = ScreenResult(valid_for=screen_validity(session), config=config.model_dump(mode="json"))
    for proxy in cost_order(session.proxies, instances[0].text):
        record = screen_proxy(session, proxy, instances, on_step)  # failed: the next proxy may finish
        result.proxies.append(record)
        if record.decision == "stopped_budget":  # the partial record stays, cost included
            result.stopped = "budget"
            break
        if record.accepted and not screen_all:
            break
    return result

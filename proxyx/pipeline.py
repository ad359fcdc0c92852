"""sample -> screen -> explain -> score -> report.

Per instance: the oracle predicts (one call); the first eligible proxy whose
label agrees with the oracle's (the instance-level gate) answers every
perturbation; if none agrees, the oracle explains. With a proxy-informed
``explainer.estimator``, the oracle answers ``oracle_samples`` masks and the
chosen proxy ``samples`` (a gate disagreement still uses the estimator, with
the first eligible proxy: the estimator discounts a proxy that does not track
the oracle). Eligible proxies are the
screen's accepted ones when a screen ran, else the whole pool. With
``fidelity.enabled`` the oracle also explains proxy-explained instances and
both explanations are scored on the oracle. An estimator's instance also
carries the oracle alone at n, fitted on the estimator's own oracle answers
(``baseline.py``: no further call), scored with the estimate; with
``fidelity.reference: false`` the oracle does not explain it at N. With
``oracle_samples: auto`` the oracle's budget n grows in rounds until a
precision target or a cap (``adaptive.py``); with ``estimator: plain`` the
oracle alone explains so (no proxy is asked), scored against itself at N. The
instances, their units, the labels and the models are the session's task's
(``proxyx.tasks``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .adaptive import Asked, explain_in_rounds
from .baseline import baseline_record
from .config import Config
from .data import Instance
from .errors import BudgetExceeded, ModelError
from .explain import (attribute, compare_masks, estimate_attribution_cost, informed_attribute, instance_seed,
                      oracle_mask_value, predict)
from .explainers.uncertainty import listed
from .models.learned import Learning
from .perturb import Segments
from .report import explain_report
from .results import ExplainReport, GateCheck, InstanceCost, InstanceResult, OracleLabel, ScreenResult
from .screen import run_screen, screen_validity
from .session import Session, open_session

#: (done, total, the instance just finished or None, stage) -> None
OnInstance = Callable[[int, int, "InstanceResult | None", str], None]


class _Watched:
    """A proxy scorer that keeps its own failed call, so an oracle failure in the same step is not blamed on it."""

    def __init__(self, scorer):
        self.scorer, self.error = scorer, None

    def __call__(self, texts, purpose: str):
        try:
            return self.scorer(texts, purpose)
        except ModelError as e:
            self.error = e
            raise


def _gate(session: Session, segments: Segments, label: int, candidates, gate: list[GateCheck], down: dict | None):
    """The next candidate whose label agrees with the oracle's (any, with ``gate: false``), else the oracle.

    With ``down`` (a dict), a proxy whose gate call fails is put there (name -> error) and skipped.
    """
    for proxy in candidates:
        try:
            p = predict(proxy, segments, "gate")
        except ModelError as e:
            if down is None:
                raise
            down[proxy.name] = str(e)
            continue
        gate.append(GateCheck(proxy=proxy.name, label=session.task.labels[p.label], agrees=p.label == label))
        if p.label == label or not session.config.gate:
            return proxy
    return session.oracle


def explain_instance(session: Session, x: Instance, eligible: list, *,
                     on_stage: Callable[[str], None] = lambda s: None,
                     unavailable: dict[str, str] | None = None) -> InstanceResult:
    """Gate, explain and (with ``fidelity.enabled``) score one instance; raises ``ModelError`` when a call fails.

    ``unavailable``: proxies that failed for good in this run (name -> error).
    With it, a proxy whose call fails at the gate or in its explanation is
    added to it and the instance goes on with the next eligible proxy or the
    oracle; proxies already in it are skipped. Without it, any failure raises.
    """
    config, ledger, oracle, labels = session.config, session.ledger, session.oracle, session.task.labels
    ex = config.explainer
    segments = session.units(x)
    seed = instance_seed(config.seed, x.id)
    start = ledger.snapshot()  # every cost of this instance is measured from here, before its first call
    down = unavailable

    on_stage("oracle label")
    o = predict(oracle, segments, "gate")
    auto = ex.oracle_samples == "auto"
    alone_in_rounds = auto and ex.estimator == "plain"  # the oracle alone, to a precision: no proxy is asked
    candidates = iter([p for p in eligible if (down is None or p.name not in down) and not alone_in_rounds])
    gate: list[GateCheck] = []
    while True:
        chosen = _gate(session, segments, o.label, candidates, gate, down)
        partner = chosen if chosen is not oracle else next(
            (p for p in eligible if down is None or p.name not in down), None)  # the estimator's proxy
        informed = ex.estimator != "plain" and partner is not None
        chosen = partner if informed else chosen
        on_stage(f"explain with {chosen.name}")
        watched = _Watched(chosen)

        def explain(oracle_scorer, n: int):
            if informed:
                return informed_attribute(oracle_scorer, watched, segments, o.label, method=ex.method,
                                          samples=ex.samples, oracle_samples=n, estimator=ex.estimator, seed=seed,
                                          purpose="explain", sampler=ex.sampler)
            return attribute(oracle_scorer if chosen is oracle else watched, segments, o.label, method=ex.method,
                             samples=n, seed=seed, purpose="explain", sampler=ex.sampler)
        try:
            if auto:
                asked, p = Asked(oracle), ex.precision
                rounds = explain_in_rounds(lambda n: explain(asked, n), (lambda r: r[0]) if informed else (lambda r: r),
                                           asked, target=p.target, start=p.start, cap=p.cap)
                result, adaptive = rounds.result, rounds.info
            else:
                result, adaptive = explain(oracle, ex.oracle_samples if informed else ex.samples), None
            attr, estimator, alone = result if informed else (result, None, None)
            break
        except ModelError as e:
            if down is None or chosen is oracle or watched.error is None:
                raise
            down[chosen.name] = str(e)  # this proxy is dead for the run: the next one, or the oracle

    # Gate: the oracle's label, the proxies' labels (and a distilled proxy's distillation, on its first use).
    spent, oracle_spent = ledger.total(since=start), ledger.total(model=oracle.name, since=start)
    explain_cost = ledger.total(purpose="explain", since=start)
    oracle_explain = ledger.total(model=oracle.name, purpose="explain", since=start)
    oracle_label = ledger.total(model=oracle.name, purpose="gate", since=start)
    # What explaining this instance with the oracle alone costs: measured where the oracle ran, else estimated.
    fid = config.fidelity
    fidelity = oracle_attribution = oracle_errors = oracle_attr = baseline = None
    if chosen is oracle and not alone_in_rounds:
        all_oracle, estimated = oracle_explain, False
    elif fid.enabled and (alone is None or fid.reference):
        on_stage("oracle reference")
        before = ledger.snapshot()
        oracle_attr = attribute(oracle, segments, o.label, method=ex.method, samples=ex.samples, seed=seed,
                                purpose="evaluate", sampler=ex.sampler)
        all_oracle, estimated = ledger.total(since=before), False
        oracle_attribution = oracle_attr.values.tolist()
        oracle_errors = listed(oracle_attr.standard_errors)
    else:
        all_oracle = estimate_attribution_cost(oracle, segments, method=ex.method, samples=ex.samples, seed=seed,
                                               sampler=ex.sampler)
        estimated = True
    scored_on = None  # masks -> the oracle's values, when explanations are scored
    if fid.enabled and (chosen is not oracle or alone_in_rounds):
        on_stage("fidelity")
        scored_on = oracle_mask_value(oracle, segments, o.label)
    n_oracle = adaptive.oracle_samples if adaptive else ex.oracle_samples
    scoring = dict(k_fraction=fid.k_fraction, heldout=fid.heldout_samples, seed=seed)
    if alone is not None:  # the oracle alone at n (the estimator's own oracle answers), scored with the estimate
        baseline, fidelity = baseline_record(attr, alone, samples=n_oracle, value_of_masks=scored_on,
                                             reference=oracle_attr, **scoring)
    elif oracle_attr is not None:
        fidelity = compare_masks(scored_on, attr, oracle_attr, **scoring)
    cost = InstanceCost(
        gate=spent - explain_cost, explanation=explain_cost, evaluation=ledger.total(purpose="evaluate", since=start),
        all_oracle=all_oracle + oracle_label, estimated=estimated, with_proxy=spent, with_proxy_oracle=oracle_spent)
    return InstanceResult(
        id=x.id, text=x.text, gold_label=x.label, units=list(segments.units), explainer=ex.method,
        samples=n_oracle if alone_in_rounds else ex.samples,
        seed=seed, oracle=OracleLabel(label=labels[o.label], probs=dict(zip(labels, o.probs))),
        gate=gate, explained_by=chosen.name if estimator is None else f"{ex.estimator}({oracle.name}, {chosen.name})",
        role=chosen.role if estimator is None else "estimator", estimator=estimator, attribution=attr.values.tolist(),
        standard_errors=listed(attr.standard_errors),
        base_value=attr.base_value, full_value=attr.full_value, n_evals=attr.n_evals, fidelity=fidelity,
        oracle_attribution=oracle_attribution, oracle_standard_errors=oracle_errors, baseline=baseline,
        adaptive=adaptive, cost=cost, status="ok")


def failed_instance(x: Instance, error: ModelError) -> InstanceResult:
    return InstanceResult(id=x.id, text=x.text, gold_label=x.label, status="failed", error=str(error))


def run_explain(config: Config, *, screen: ScreenResult | None = None, session: Session | None = None,
                on_instance: OnInstance = lambda i, n, e, s: None, task=None) -> ExplainReport:
    """Explain ``config``'s instances; always returns what finished (budget and failures included).

    ``screen``: a saved screening result to use (checked against this run
    before any call: ``DataError`` when it was made for another oracle, task,
    explainer, budget, tau or quality measure; with a proxy-informed estimator
    it is not used, not charged, and a note says so). Without it, screens first when
    ``screen.enabled``: a proxy whose screen fails is recorded as failed
    (status ``complete_with_failures``); a budget stop while screening ends
    the run (``stopped_budget``) with the screen's partial record. A proxy
    whose call fails for good while explaining is not asked again in this run
    (a line in ``notes``; status ``complete_with_failures``). ``task``: the config's kind
    (``proxyx.tasks``; default the one it names): its instances, units and models.
    """
    started = time.perf_counter()
    own = session is None
    session = session or open_session(config, task)
    try:
        # guards per instance (as does the oracle alone in rounds); the screen tests substitution
        informed = config.explainer.estimator != "plain" or config.explainer.oracle_samples == "auto"
        unused = None  # a saved screen the estimator does not use: not charged
        if screen is not None:
            screen.check_valid_for(screen_validity(session))
            if informed:
                unused, screen = screen, None
        learning = Learning(session)  # local/learned proxies hear the oracle's answers
        instances = session.task.instances()
        entries: list[InstanceResult] = []
        cluster_flags: dict[str, dict[str, int]] = {}
        status, reason = "complete", None
        unavailable: dict[str, str] = {}  # proxies that failed for good: not asked again in this run
        since: dict[str, str] = {}  # proxy -> the instance where it failed
        try:
            if screen is None and config.screen.enabled and session.proxies and not informed:
                on_instance(0, len(instances), None, "screening proxies")
                screen = run_screen(session, explained_ids={x.id for x in instances})
                if screen.stopped == "budget":  # the report keeps the screen's partial record
                    raise BudgetExceeded(screen.proxies[-1].error or "budget max_usd reached while screening")
                if any(p.decision == "failed" for p in screen.proxies):
                    status = "complete_with_failures"
            eligible = session.proxies if screen is None or informed else [p for p in session.proxies
                                                                             if p.name in screen.accepted]
            if config.engine.kind == "ray":  # the same loop on a cluster's workers (proxyx.engine)
                from .engine.cluster import explain_on_cluster

                learning.refuse_cluster()
                on_instance(0, len(instances), None, f"starting {config.engine.workers} Ray workers")
                run = explain_on_cluster(config, instances, [p.name for p in eligible],
                                         explain_instance=explain_instance, failed_instance=failed_instance,
                                         spent=session.ledger.snapshot(), unavailable=unavailable,
                                         on_instance=on_instance)
                entries, cluster_flags = run.entries, run.flags
                session.ledger.absorb(run.costs)
                since.update({name: "a worker's instance" for name in unavailable})
                if unavailable or any(e.status == "failed" for e in entries):
                    status = "complete_with_failures"
                if run.stopped:
                    raise BudgetExceeded(run.stopped)
            else:
                for i, x in enumerate(instances):
                    learning.step()  # refitted on the instances before this one
                    on_instance(i, len(instances), None, x.id)
                    try:
                        entry = explain_instance(session, x, eligible, unavailable=unavailable,
                                                 on_stage=lambda s: on_instance(i, len(instances), None, s))
                    except ModelError as e:
                        entry = failed_instance(x, e)
                        status = "complete_with_failures"
                    finally:
                        since.update({name: x.id for name in unavailable if name not in since})
                    if unavailable:
                        status = "complete_with_failures"
                    entries.append(entry)
                    on_instance(i + 1, len(instances), entry, x.id)
        except BudgetExceeded as e:
            status, reason = "stopped_budget", str(e)
        flags = {s.name: dict(s.flags) for s in [session.oracle, *session.proxies] if s.flags}
        for name, counts in cluster_flags.items():
            flags[name] = {f: flags.get(name, {}).get(f, 0) + counts.get(f, 0) for f in {*flags.get(name, {}), *counts}}
        report = explain_report(config, entries, screen=screen, ledger=session.ledger.rows(), status=status,
                                stop_reason=reason, wall_time_s=time.perf_counter() - started, flags=flags)
        if unused is not None:
            who = (f"estimator {config.explainer.estimator} guards every instance, the screen tests substituting a "
                   "proxy (estimator: plain)" if config.explainer.estimator != "plain" else
                   "with oracle_samples: auto and estimator: plain the oracle explains every instance alone")
            report.notes.append(f"the saved screen was not used and its cost is not counted: {who}")
        report.notes.extend(f"proxy {name} unavailable from instance {since[name]} on, after a failed call "
                            f"({error}); the next eligible proxy or the oracle explained instead"
                            for name, error in unavailable.items())
        return report
    finally:
        if own:
            session.close()

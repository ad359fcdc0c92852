"""sample -> screen -> explain -> score -> report.

Per instance: the oracle predicts (one call); the first eligible proxy whose
label agrees with the oracle's (the instance-level gate) answers every
perturbation; if none agrees, the oracle explains. Eligible proxies are the
screen's accepted ones when a screen ran, else the whole pool. With
``fidelity.enabled`` the oracle also explains proxy-explained instances and
both explanations are scored on the oracle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .config import Config
from .data import Instance
from .errors import BudgetExceeded, ModelError
from .explain import attribute, compare, estimate_attribution_cost, instance_seed, predict
from .ledger import Tally
from .perturb import Segments
from .screen import ScreenReport, run_screen
from .session import Session, load_instances, open_session


@dataclass
class ExplainResult:
    config: Config
    instances: list[dict]
    screen: ScreenReport | None
    ledger_rows: list[dict]
    status: str  # complete | complete_with_failures | stopped_budget
    wall_time_s: float
    flags: dict = field(default_factory=dict)
    stop_reason: str | None = None


def _tally_dict(t: Tally) -> dict:
    return {"calls": t.nominal_calls, "tokens": t.nominal_tokens, "usd": t.nominal_usd, "seconds": t.nominal_seconds,
            "paid_calls": t.calls, "paid_tokens": t.tokens, "paid_usd": t.usd, "cache_hits": t.hits}


def explain_instance(session: Session, x: Instance, eligible: list, *, on_stage: Callable[[str], None] = lambda s: None) -> dict:
    config, ledger, oracle = session.config, session.ledger, session.oracle
    ex = config.explainer
    segments = Segments(x.text)
    seed = instance_seed(config.seed, x.id)
    start = ledger.snapshot()
    entry: dict = {"id": x.id, "text": x.text, "gold_label": x.label, "units": list(segments.units),
                   "explainer": ex.method, "samples": ex.samples, "seed": seed}

    on_stage("oracle label")
    o = predict(oracle, segments, "gate")
    entry["oracle"] = {"label": config.task.labels[o.label], "probs": dict(zip(config.task.labels, o.probs))}
    chosen, gate = oracle, []
    for proxy in eligible:
        p = predict(proxy, segments, "gate")
        gate.append({"proxy": proxy.name, "label": config.task.labels[p.label], "agrees": p.label == o.label})
        if p.label == o.label or not config.gate:
            chosen = proxy
            break
    entry["gate"] = gate
    gate_cost = ledger.total(since=start)

    on_stage(f"explain with {chosen.name}")
    before = ledger.snapshot()
    attr = attribute(chosen, segments, o.label, method=ex.method, samples=ex.samples, seed=seed, purpose="explain")
    explain_cost = ledger.total(since=before)
    entry.update({"explained_by": chosen.name, "role": chosen.role, "attribution": attr.values.tolist(),
                  "base_value": attr.base_value, "full_value": attr.full_value, "n_evals": attr.n_evals})

    # What explaining this instance with the oracle alone costs: measured where the oracle ran, else estimated.
    oracle_gate = ledger.total(model=oracle.name, purpose="gate", since=start)
    if chosen is oracle:
        all_oracle, estimated = explain_cost, False
    elif config.fidelity.enabled:
        on_stage("oracle reference")
        before = ledger.snapshot()
        oracle_attr = attribute(oracle, segments, o.label, method=ex.method, samples=ex.samples, seed=seed, purpose="evaluate")
        all_oracle, estimated = ledger.total(since=before), False
        on_stage("fidelity")
        entry["fidelity"] = compare(oracle, segments, o.label, attr, oracle_attr, k_fraction=config.fidelity.k_fraction).to_dict()
        entry["oracle_attribution"] = oracle_attr.values.tolist()
    else:
        all_oracle = estimate_attribution_cost(oracle, segments, method=ex.method, samples=ex.samples, seed=seed)
        estimated = True
    all_oracle = all_oracle + oracle_gate
    entry["cost"] = {
        "gate": _tally_dict(gate_cost),
        "explanation": _tally_dict(explain_cost),
        "evaluation": _tally_dict(ledger.total(purpose="evaluate", since=start)),
        "all_oracle": {**_tally_dict(all_oracle), "estimated": estimated},
        "with_proxy": _tally_dict(gate_cost + explain_cost),
        "with_proxy_oracle": _tally_dict(oracle_gate + explain_cost if chosen is oracle else oracle_gate),
    }
    entry["status"] = "ok"
    return entry


def crr(instances: list[dict], screen: ScreenReport | None, oracle_name: str) -> dict:
    """Cost reduction ratio C_all_oracle / (C_proxy + C_fallback + C_screen).

    Calls and tokens count the oracle's (what is expensive); dollars count
    every model at its price. Nominal costs (cache hits at their original
    price), so a warm rerun reports the same ratio.
    """
    done = [e for e in instances if e.get("status") == "ok"]
    if not done:
        return {}
    screen_cost = screen.cost if screen else Tally()
    screen_oracle = Tally()
    if screen:
        for p in screen.proxies:
            if oracle_name in p.cost:
                screen_oracle.add(Tally(**p.cost[oracle_name]))
    all_o = {k: sum(e["cost"]["all_oracle"][k] for e in done) for k in ("calls", "tokens", "usd")}
    with_oracle = {k: sum(e["cost"]["with_proxy_oracle"][k] for e in done) for k in ("calls", "tokens")}
    with_usd = sum(e["cost"]["with_proxy"]["usd"] for e in done)
    denom = {"calls": with_oracle["calls"] + screen_oracle.nominal_calls,
             "tokens": with_oracle["tokens"] + screen_oracle.nominal_tokens,
             "usd": with_usd + screen_cost.nominal_usd}
    ratio = {k: (all_o[k] / denom[k] if denom[k] else None) for k in denom}
    return {"calls": ratio["calls"], "tokens": ratio["tokens"], "usd": ratio["usd"],
            "all_oracle": {**all_o, "estimated": any(e["cost"]["all_oracle"]["estimated"] for e in done)},
            "with_proxies": denom, "screen": screen_cost.to_dict() if screen else None,
            "cost_share_usd": (denom["usd"] / all_o["usd"]) if all_o["usd"] else None}


def fidelity_summary(instances: list[dict]) -> dict | None:
    rows = [e["fidelity"] for e in instances if e.get("fidelity")]
    if not rows:
        return None
    fids = [r["fidelity"] for r in rows if r["fidelity"] is not None]
    out = {"n": len(rows), "undefined": len(rows) - len(fids), "mean_fidelity": float(np.mean(fids)) if fids else None}
    if len(fids) > 1:
        half = 1.96 * float(np.std(fids, ddof=1)) / np.sqrt(len(fids))
        out["ci95"] = [out["mean_fidelity"] - half, out["mean_fidelity"] + half]
    qp = float(np.mean([r["q_proxy"]["aopc"] for r in rows]))
    qo = float(np.mean([r["q_oracle"]["aopc"] for r in rows]))
    out.update({"mean_q_proxy": qp, "mean_q_oracle": qo, "ratio_of_means": qp / qo if qo > 0 else None})
    for k in ("spearman", "topk_jaccard", "sign_agreement"):
        vals = [r["agreement"][k] for r in rows if r["agreement"][k] is not None]
        out[f"mean_{k}"] = float(np.mean(vals)) if vals else None
    return out


def run_explain(config: Config, *, screen: ScreenReport | None = None, session: Session | None = None,
                on_instance: Callable[[int, int, dict | None, str], None] = lambda i, n, e, s: None) -> ExplainResult:
    """Explain ``config``'s instances; always returns what finished (budget and failures included)."""
    started = time.perf_counter()
    own = session is None
    session = session or open_session(config)
    instances = load_instances(config)
    entries: list[dict] = []
    status, reason = "complete", None
    try:
        if screen is None and config.screen.enabled and session.proxies:
            on_instance(0, len(instances), None, "screening proxies")
            screen = run_screen(session, exclude_ids={x.id for x in instances})
        eligible = session.proxies if screen is None else [p for p in session.proxies if p.name in screen.accepted]
        for i, x in enumerate(instances):
            on_instance(i, len(instances), None, x.id)
            try:
                entry = explain_instance(session, x, eligible, on_stage=lambda s: on_instance(i, len(instances), None, s))
            except ModelError as e:
                entry = {"id": x.id, "text": x.text, "status": "failed", "error": str(e)}
                status = "complete_with_failures"
            entries.append(entry)
            on_instance(i + 1, len(instances), entry, x.id)
    except BudgetExceeded as e:
        status, reason = "stopped_budget", str(e)
    flags = {s.name: dict(s.flags) for s in [session.oracle, *session.proxies] if s.flags}
    result = ExplainResult(config=config, instances=entries, screen=screen, ledger_rows=session.ledger.rows(),
                           status=status, wall_time_s=time.perf_counter() - started, flags=flags, stop_reason=reason)
    if own:
        session.close()
    return result

"""proxyx bench: fidelity against cost over proxies x explainers x sample budgets.

    proxyx bench configs/bench_small.yaml --out runs/bench_small

Which proxy and how many samples give faithful explanations of the oracle
for the least money? For every budget (method, samples) of the config's
``bench:`` block, on the config's data set:

* **reference**: the oracle explains every instance alone (the pipeline's
  ``explain_instance`` with no proxy), and each explanation is scored on the
  oracle. It is the reference of fidelity (q_proxy / q_oracle at the same
  budget and masks), the pipeline's fallback (fidelity 1 by definition, null
  when q_oracle <= 0), and the all-oracle cost.
* **one cell per proxy**: ``screen_proxy`` at that budget on the screen split
  (its oracle explanations are shared across proxies through the cache), then
  ``explain_instance`` with the proxy and fidelity on, which gives two views:

  - *proxy only*: the proxy's explanation on every instance where its label
    agrees with the oracle's (the gate), whatever the screen decided;
  - *pipeline* (screen-and-apply): the proxy's explanation where the screen
    accepted it and the gate agrees, else the oracle's.

Costs are nominal (cache hits at the price they were paid; see
``proxyx.ledger``), so a bench killed and started again reuses every paid call
and reports the same numbers; only ``created`` and the ``run`` blocks (paid in
this run, wall time) change. Throughput uses the model time the answers took
when they were paid (kept in the cache with each answer). CRR follows
``pipeline.crr``: calls and tokens count the oracle, dollars every model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from .config import Config, apply_overrides
from .data import Instance
from .errors import BudgetExceeded, ConfigError, DataError, ModelError
from .explain import compare
from .explainers import Attribution
from .ledger import Tally
from .perturb import Segments
from .pipeline import _tally_dict, crr, explain_instance, fidelity_summary
from .report import _num, _usd, versions, write_json
from .screen import ProxyScreen, ScreenReport, _mean, screen_instances, screen_proxy
from .session import Session, load_instances, open_session

BENCH_SCHEMA = "proxyx.bench/1"
FILES = ("bench.json", "bench.md", "fidelity_vs_cost.png")

#: (label of the bar, done, total, stage) -> None; one label per cell
OnProgress = Callable[[str, int, int, str], None]

_COST_KEYS = ("calls", "tokens", "usd", "seconds")


def _sum(tallies: Iterable[dict]) -> dict:
    """Nominal calls, tokens, dollars and model seconds of ``pipeline`` cost dicts, summed."""
    out = dict.fromkeys(_COST_KEYS, 0)
    for t in tallies:
        for k in _COST_KEYS:
            out[k] += t[k]
    return out


def _nominal(tally: dict) -> dict:
    """A ``Tally.to_dict`` without what this run paid (which a rerun changes)."""
    return {k: v for k, v in tally.items() if k.startswith("nominal_") or k == "failures"}


def rounded(obj, digits: int = 10):
    """Floats to ``digits`` significant digits, everywhere in a JSON-like document.

    Nominal sums are added up in the order the answers arrive (paid calls and
    cache hits are recorded apart), so a resumed run can differ in the last
    bits; the document holds the digits that do not depend on it.
    """
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rounded(v, digits) for v in obj]
    return obj


def _per_hour(n: int, seconds: float) -> float | None:
    return 3600.0 * n / seconds if seconds > 0 else None


def bench_proxies(config: Config) -> list[str]:
    """The proxies the grid runs (``bench.proxies``, default the whole pool), checked against the pool."""
    pool = [p.name for p in config.proxies]
    if not pool:
        raise DataError("'proxies' is empty; name at least one proxy model to bench against the oracle")
    names = config.bench.proxies if config.bench.proxies is not None else pool
    unknown = [n for n in names if n not in pool]
    if unknown:
        raise ConfigError(f"bench.proxies: {unknown} not in the proxy pool {pool}; list names (or aliases) from 'proxies'")
    if not names:
        raise ConfigError(f"bench.proxies is empty; list at least one of {pool} (or leave it out for all)")
    return names


def _run_info(session: Session, since: dict, started: float) -> dict:
    """What this run paid and how long it took: the only numbers a rerun changes."""
    t = session.ledger.total(since=since)
    return {"wall_time_s": time.perf_counter() - started, "paid_calls": t.calls, "paid_usd": t.usd,
            "cache_hits": t.hits, "failures": t.failures}


def _explain(session: Session, x: Instance, eligible: list) -> dict:
    try:
        return explain_instance(session, x, eligible)
    except ModelError as e:
        return {"id": x.id, "status": "failed", "error": str(e)}


def _score_oracle_explanation(session: Session, x: Instance, entry: dict) -> None:
    """The oracle's explanation scored on the oracle, as the pipeline's fallback: fidelity 1 (or null)."""
    attr = Attribution(values=np.asarray(entry["attribution"]), base_value=entry["base_value"],
                       full_value=entry["full_value"], n_evals=entry["n_evals"], method=entry["explainer"])
    target = session.config.task.labels.index(entry["oracle"]["label"])
    before = session.ledger.snapshot()
    entry["fidelity"] = compare(session.oracle, Segments(x.text), target, attr, attr,
                                k_fraction=session.config.fidelity.k_fraction).to_dict()
    entry["cost"]["evaluation"] = _tally_dict(session.ledger.total(since=before))


def _reference(session: Session, instances: list[Instance], progress: OnProgress) -> tuple[dict, dict[str, dict]]:
    """The oracle alone at this budget: summary and entries by instance id."""
    ex = session.config.explainer
    label = f"{session.oracle.name} alone · {ex.method} · {ex.samples}"
    since, started = session.ledger.snapshot(), time.perf_counter()
    entries: dict[str, dict] = {}
    for i, x in enumerate(instances):
        progress(label, i, len(instances), x.id)
        entries[x.id] = e = _explain(session, x, [])
        if e["status"] == "ok":
            _score_oracle_explanation(session, x, e)
    progress(label, len(instances), len(instances), "done")
    ok = [e for e in entries.values() if e["status"] == "ok"]
    cost = _sum(e["cost"]["all_oracle"] for e in ok)
    summary = {
        "method": ex.method, "samples": ex.samples, "instances": len(ok), "failed": len(entries) - len(ok),
        "cost": {"explanation": cost, "evaluation": _sum(e["cost"]["evaluation"] for e in ok),
                 "usd_per_explanation": cost["usd"] / len(ok) if ok else None,
                 "calls_per_explanation": cost["calls"] / len(ok) if ok else None},
        "throughput_per_hour": _per_hour(len(ok), cost["seconds"]),
        "mean_q_oracle": _mean(e["fidelity"]["q_oracle"]["aopc"] for e in ok),
        "q_oracle_undefined": sum(e["fidelity"]["fidelity"] is None for e in ok),
        "instances_q_oracle": {e["id"]: e["fidelity"]["q_oracle"]["aopc"] for e in ok},
        "run": _run_info(session, since, started),
    }
    return summary, entries


def _pipeline_entry(proxy_entry: dict, oracle_entry: dict, accepted: bool) -> dict:
    """Screen-and-apply: the proxy's explanation where accepted and the gate agrees, else the oracle's."""
    if not accepted:
        return oracle_entry  # the proxy is never asked: no gate call either
    if proxy_entry["role"] == "proxy":
        return proxy_entry
    return {**proxy_entry, "fidelity": oracle_entry["fidelity"]}  # gate disagreed: the oracle explained


def _view(entries: list[dict], screen: ScreenReport | None, oracle: str) -> dict:
    """Fidelity and cost of one way of explaining the instances (entries from ``explain_instance``)."""
    c = crr(entries, screen, oracle)
    n = len(entries)
    return {
        "fidelity": fidelity_summary(entries),
        "explained_by_proxy": sum(e["role"] == "proxy" for e in entries),
        "crr": c,
        "usd_per_explanation": c["with_proxies"]["usd"] / n,
        "cost_share_usd": c["cost_share_usd"],
    }


def _cell(session: Session, proxy, instances: list[Instance], screen_pool: list[Instance],
          reference: dict[str, dict], progress: OnProgress) -> dict:
    config, oracle = session.config, session.oracle.name
    ex = config.explainer
    label = f"{proxy.name} · {ex.method} · {ex.samples}"
    since, started = session.ledger.snapshot(), time.perf_counter()
    n_all = len(instances)
    cell: dict = {"proxy": proxy.name, "method": ex.method, "samples": ex.samples}

    progress(label, 0, n_all, "screening")
    screened = screen_proxy(session, proxy, screen_pool,
                            on_step=lambda p: progress(label, 0, n_all, f"screening: n={p.n}, examined {p.examined}"))
    proxy_entries = []
    for i, x in enumerate(instances):
        progress(label, i, n_all, x.id)
        proxy_entries.append(_explain(session, x, [proxy]))
    progress(label, n_all, n_all, screened.decision)

    pairs = [(p, reference[p["id"]]) for p in proxy_entries if p["status"] == "ok" and reference[p["id"]]["status"] == "ok"]
    n = len(pairs)
    cell.update({"status": "ok" if n == n_all else "complete_with_failures" if n else "failed",
                 "instances": n, "failed": n_all - n,
                 "errors": sorted({e["error"] for e in proxy_entries if e["status"] == "failed"})})
    cell["screen"] = {**{k: v for k, v in screened.to_dict().items() if k not in ("instances", "cost", "distillation")},
                      "cost": {m: _nominal(t) for m, t in screened.cost.items()},
                      "distillation": _nominal(screened.distillation) if screened.distillation else None}
    if n:
        cell.update(_summary(pairs, screened, oracle))
    cell["run"] = _run_info(session, since, started)
    return cell


def _summary(pairs: list[tuple[dict, dict]], screened: ProxyScreen, oracle: str) -> dict:
    """A cell's views, costs, throughput and instances from (proxy entry, reference entry) pairs."""
    only = [p for p, _ in pairs]
    pipe = [_pipeline_entry(p, r, screened.accepted) for p, r in pairs]
    n = len(pairs)
    cell: dict = {}
    agrees = [bool(p["gate"][0]["agrees"]) for p in only]
    cell["gate_agreement"] = float(np.mean(agrees))

    screen_models = [Tally(**t) for t in screened.cost.values()]
    screen_oracle = [Tally(**t) for m, t in screened.cost.items() if m == oracle]
    cost = {
        "explanation": {**_sum(e["cost"]["with_proxy"] for e in pipe), "oracle": _sum(e["cost"]["with_proxy_oracle"] for e in pipe)},
        "screening": {**_sum(_tally_dict(t) for t in screen_models), "oracle": _sum(_tally_dict(t) for t in screen_oracle)},
        "evaluation": _sum(e["cost"]["evaluation"] for e in only),
        "all_oracle": _sum(e["cost"]["all_oracle"] for e in pipe),
    }
    cell["cost"] = cost
    excl = crr(pipe, None, oracle)
    cell["pipeline"] = {**_view(pipe, ScreenReport(proxies=[screened], config={}), oracle),
                        "crr_excl_screen": {k: excl[k] for k in ("calls", "tokens", "usd")},
                        "cost_share_usd_excl_screen": excl["cost_share_usd"]}
    cell["pipeline"]["instances_to_target"] = instances_to_target(
        excl["cost_share_usd"], cost["screening"]["usd"], cost["all_oracle"]["usd"] / n)
    cell["pipeline"]["crr"]["screen"] = _nominal(cell["pipeline"]["crr"]["screen"])
    cell["proxy_only"] = {**_view(only, None, oracle), "fidelity": fidelity_summary([p for p in only if p["role"] == "proxy"])}
    seconds = cost["explanation"]["seconds"]
    cell["throughput_per_hour"] = {
        "oracle_alone": _per_hour(n, cost["all_oracle"]["seconds"]),
        "pipeline": _per_hour(n, seconds),
        "pipeline_with_screening": _per_hour(n, seconds + cost["screening"]["seconds"]),
        "proxy_only": _per_hour(n, _sum(e["cost"]["with_proxy"] for e in only)["seconds"]),
    }
    cell["instances_detail"] = [{
        "id": p["id"],
        "gate_agrees": p["gate"][0]["agrees"],
        "explained_by": e["explained_by"],
        "fidelity": e["fidelity"]["fidelity"],
        "q": e["fidelity"]["q_proxy"]["aopc"],
        "q_oracle": r["fidelity"]["q_oracle"]["aopc"],
        "proxy_fidelity": p["fidelity"]["fidelity"] if p["role"] == "proxy" else None,
        "proxy_spearman": p["fidelity"]["agreement"]["spearman"] if p["role"] == "proxy" else None,
        "proxy_topk_jaccard": p["fidelity"]["agreement"]["topk_jaccard"] if p["role"] == "proxy" else None,
    } for (p, r), e in zip(pairs, pipe)]
    return cell


#: the published cost share: more than 90% fidelity at 11% of the all-oracle cost
TARGET_COST_SHARE = 0.11


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


# ----------------------------------------------------------------------------- summaries


def _fidelity(cell: dict, view: str) -> float | None:
    f = cell.get(view, {}).get("fidelity")
    return f["mean_fidelity"] if f else None


def pareto(points: list[tuple[float, float] | None]) -> list[bool]:
    """Which (cost, fidelity) points no other point beats on both (lower cost, higher fidelity)."""
    def beaten(a, b):
        return b[0] <= a[0] and b[1] >= a[1] and (b[0] < a[0] or b[1] > a[1])
    return [p is not None and not any(q is not None and beaten(p, q) for q in points) for p in points]


def _mark_pareto(cells: list[dict]) -> None:
    for view in ("pipeline", "proxy_only"):
        points = [(c[view]["usd_per_explanation"], _fidelity(c, view)) if _fidelity(c, view) is not None else None
                  for c in cells]
        for c, front in zip(cells, pareto(points)):
            if view in c:
                c[view]["pareto"] = front


def _quality_vs_top_budget(cells: list[dict], references: list[dict]) -> None:
    """Mean pipeline quality over the mean quality of the oracle's explanations at the method's largest budget.

    Fidelity compares with the oracle at the same budget; this compares budgets.
    """
    top = {}
    for r in references:
        if r["samples"] >= top.get(r["method"], {"samples": 0})["samples"]:
            top[r["method"]] = r
    for c in cells:
        ref = top.get(c["method"], {}).get("instances_q_oracle", {})
        rows = [(i["q"], ref[i["id"]]) for i in c.get("instances_detail", []) if i["id"] in ref]
        denom = sum(q for _, q in rows)
        if "pipeline" in c:
            c["pipeline"]["q_vs_top_budget_oracle"] = sum(q for q, _ in rows) / denom if rows and denom > 0 else None


def headline(cells: list[dict], tau: float) -> list[dict]:
    """Per explainer, the cheapest cell whose pipeline fidelity reaches ``tau`` on average.

    Where the screen accepted no proxy at any budget, it says so instead; where the chosen cell's proxy was
    rejected, ``best_proxy_alone`` names the proxy that came closest to the oracle without the screen.
    """
    out = []
    for method in dict.fromkeys(c["method"] for c in cells):
        mine = [c for c in cells if c["method"] == method]
        ok = [c for c in mine if (_fidelity(c, "pipeline") or -np.inf) >= tau]
        if not any(c["screen"]["decision"] == "accepted" for c in mine):
            shares = [c["pipeline"]["cost_share_usd"] for c in mine if c["pipeline"]["cost_share_usd"] is not None]
            cost = f" at {_pct(min(shares))}-{_pct(max(shares))} of the oracle's cost" if shares else ""
            out.append({"method": method, "cell": None, "best_proxy_alone": _best_proxy_alone(mine),
                        "text": (f"{method}: the screen rejected every proxy at every budget ({len(mine)} screens), so "
                                 f"screen-and-apply leaves every explanation to the oracle: fidelity 1{cost} "
                                 "(the screens are the overhead)")})
            continue
        if not ok:
            out.append({"method": method, "cell": None,
                        "text": f"{method}: no proxy and budget reached mean fidelity {tau:g} with screen-and-apply"})
            continue
        c = min(ok, key=lambda c: (c["pipeline"]["usd_per_explanation"], c["samples"]))
        p, f = c["pipeline"], c["pipeline"]["fidelity"]
        ci = f" (95% CI {f['ci95'][0]:.3f}-{f['ci95'][1]:.3f})" if f.get("ci95") else ""
        how = (f"{c['proxy']} accepted by the screen" if c["screen"]["decision"] == "accepted"
               else f"{c['proxy']} rejected by the screen ({c['screen']['decision']}), the oracle explains everything")
        out.append({
            "method": method, "cell": {"proxy": c["proxy"], "samples": c["samples"]},
            "fidelity": f["mean_fidelity"], "ci95": f.get("ci95"), "cost_share_usd": p["cost_share_usd"],
            "crr": {k: p["crr"][k] for k in ("calls", "tokens", "usd")},
            "text": (f"{method}, {c['samples']} samples: {how}: fidelity {f['mean_fidelity']:.3f}{ci} at "
                     f"{100 * p['cost_share_usd']:.1f}% of the oracle's cost (CRR {_num(p['crr']['usd'], '.1f')}x $, "
                     f"{_num(p['crr']['calls'], '.1f')}x oracle calls; screening included) over {c['instances']} instances"),
        })
        if c["screen"]["decision"] != "accepted":
            out[-1]["best_proxy_alone"] = _best_proxy_alone(mine)
    return out


def _best_proxy_alone(cells: list[dict]) -> dict | None:
    """The cell whose proxy, used wherever its label agrees (no screen), comes closest to the oracle's quality."""
    rated = [c for c in cells if (c["proxy_only"]["fidelity"] or {}).get("ratio_of_means") is not None]
    if not rated:
        return None
    c = max(rated, key=lambda c: (c["proxy_only"]["fidelity"]["ratio_of_means"], -c["samples"]))
    p, f = c["proxy_only"], c["proxy_only"]["fidelity"]
    return {"proxy": c["proxy"], "samples": c["samples"], "ratio_of_means": f["ratio_of_means"],
            "fidelity": f["mean_fidelity"], "gate_agreement": c["gate_agreement"],
            "cost_share_usd": p["cost_share_usd"],
            "text": (f"closest without the screen: {c['proxy']} at {c['samples']} samples, used wherever its label "
                     f"agrees with the oracle's ({100 * c['gate_agreement']:.0f}% of instances): mean q "
                     f"{f['ratio_of_means']:.2f} of the oracle's (mean fidelity {_num(f['mean_fidelity'])}) at "
                     f"{_pct(p['cost_share_usd'])} of the oracle's cost")}


PUBLISHED = "published (GPT-4o oracle, LIME/Kernel SHAP at 1000 samples): more than 90% fidelity at 11% of the oracle's cost, CRR 10.3-17"


# ----------------------------------------------------------------------------- running


def _checkpoint(doc: dict, out_dir: Path | None) -> None:
    if out_dir is not None:
        write_json(Path(out_dir) / "bench.json", rounded(doc))


def run_bench(config: Config, *, out_dir: str | Path | None = None, session: Session | None = None,
              on_progress: OnProgress = lambda label, done, total, stage: None) -> dict:
    """Run the grid; return the ``proxyx.bench/1`` document and, with ``out_dir``, write ``FILES`` there.

    ``bench.json`` is rewritten after every cell (``status: running``), so a
    killed bench leaves what finished; run it again to resume from the cache.
    """
    started = time.perf_counter()
    names = bench_proxies(config)
    instances = load_instances(config)
    if not instances:
        raise DataError("no instances to explain: the data set split is empty")
    pool = screen_instances(config, exclude_ids={x.id for x in instances})
    if not pool:
        raise DataError("no screening instances: the screen split is empty after removing the explained instances")
    own = session is None
    session = session or open_session(config)
    doc = {"schema": BENCH_SCHEMA, "command": "bench", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "status": "running", "stop_reason": None, "seed": config.seed, "versions": versions(),
           "config": config.model_dump(mode="json"), "oracle": config.oracle.name, "proxies": names,
           "instances": len(instances), "screen_pool": len(pool), "references": [], "cells": []}
    since = session.ledger.snapshot()
    # Largest budget first: smaller budgets' masks are nearly all among its masks (see
    # proxyx.explainers.base), so they come from the cache, and a bench stopped early has
    # its most telling cells. The document lists cells in the config's order.
    order = [(m, s) for s in sorted(config.bench.samples, reverse=True) for m in config.bench.methods]
    try:
        for method, samples in order:
            cfg = apply_overrides(config, **{"explainer.method": method, "explainer.samples": samples,
                                             "fidelity.enabled": True})
            budget = replace(session, config=cfg)
            summary, reference = _reference(budget, instances, on_progress)
            doc["references"].append(summary)
            for name in names:
                try:
                    cell = _cell(budget, session.proxy(name), instances, pool, reference, on_progress)
                except ModelError as e:  # the screen could not finish: the cell has nothing to show
                    cell = {"proxy": name, "method": method, "samples": samples, "status": "failed", "errors": [str(e)]}
                doc["cells"].append(cell)
                _checkpoint(doc, out_dir)
        failed = any(c["status"] != "ok" for c in doc["cells"]) or any(r["failed"] for r in doc["references"])
        doc["status"] = "complete_with_failures" if failed else "complete"
    except BudgetExceeded as e:
        doc["status"], doc["stop_reason"] = "stopped_budget", str(e)
    finally:
        doc["run"] = {**_run_info(session, since, started), "ledger": session.ledger.rows()}
        if own:
            session.close()
    rank = {key: i for i, key in enumerate((m, s) for m in config.bench.methods for s in config.bench.samples)}
    doc["references"].sort(key=lambda r: rank[r["method"], r["samples"]])
    doc["cells"].sort(key=lambda c: (rank[c["method"], c["samples"]], names.index(c["proxy"])))
    doc = rounded(doc)
    cells = [c for c in doc["cells"] if "pipeline" in c]
    _mark_pareto(cells)
    _quality_vs_top_budget(cells, doc["references"])
    doc["headline"] = headline(cells, config.screen.tau)
    if out_dir is not None:
        write_outputs(doc, out_dir)
    return doc


def write_outputs(doc: dict, out_dir: str | Path) -> dict[str, Path]:
    """bench.json, bench.md and fidelity_vs_cost.png in ``out_dir``."""
    from .plot import plot_fidelity_vs_cost

    out = Path(out_dir)
    paths = dict(zip(FILES, (out / f for f in FILES)))
    write_json(paths["bench.json"], doc)
    paths["bench.md"].write_text(bench_markdown(doc), encoding="utf-8")
    plot_fidelity_vs_cost(doc, paths["fidelity_vs_cost.png"])
    return paths


# ----------------------------------------------------------------------------- tables


def _fid(f: dict | None) -> str:
    """mean ± half the 95% interval."""
    if not f or f["mean_fidelity"] is None:
        return "-"
    half = f"±{(f['ci95'][1] - f['ci95'][0]) / 2:.2f}" if f.get("ci95") else ""
    return f"{f['mean_fidelity']:.2f}{half}"


def _int(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _short(x: float | None) -> str:
    """1,234 or 12k or 1.2M."""
    if x is None:
        return "-"
    return f"{x / 1e6:.1f}M" if x >= 1e6 else f"{x / 1e3:.0f}k" if x >= 1e4 else f"{x:,.0f}"


def _split(cost: dict, key: str, fmt: Callable[[float], str]) -> str:
    """explanation / screening / evaluation: the oracle's calls and tokens, every model's dollars."""
    parts = [cost["explanation"], cost["screening"], cost["evaluation"]]
    return "/".join(fmt(p[key] if key == "usd" else p.get("oracle", p)[key]) for p in parts)


def _screen(c: dict, short: bool = False) -> str:
    decision = c["screen"]["decision"]
    return f"{decision.split('_')[0] if short else decision}, n={c['screen']['n']}"


KEY = ("proxy", "explainer", "samples")

#: (Markdown header, terminal table or None, terminal header, cell -> text); the key columns start both tables
COLUMNS: list[tuple[str, str | None, str, Callable[[dict], str]]] = [
    ("proxy", "both", "proxy", lambda c: c["proxy"]),
    ("explainer", "both", "explainer", lambda c: c["method"]),
    ("samples", "both", "samples", lambda c: str(c["samples"])),
    ("screen", "fidelity", "screen", lambda c: _screen(c, short=True)),
    ("gate agrees", "fidelity", "gate agrees", lambda c: f"{100 * c['gate_agreement']:.0f}%"),
    ("fidelity, pipeline (± 95% CI)", "fidelity", "pipeline",
     lambda c: _fid(c["pipeline"]["fidelity"]) + (" *" if c["pipeline"].get("pareto") else "")),
    ("fidelity, proxy only (± 95% CI)", "fidelity", "proxy only", lambda c: _fid(c["proxy_only"]["fidelity"])),
    ("mean q proxy / mean q oracle, proxy only", "fidelity", "q ratio",
     lambda c: _num((c["proxy_only"]["fidelity"] or {}).get("ratio_of_means"))),
    ("Spearman", "fidelity", "Spearman", lambda c: _num((c["proxy_only"]["fidelity"] or {}).get("mean_spearman"))),
    ("top-k Jaccard", "fidelity", "top-k J.", lambda c: _num((c["proxy_only"]["fidelity"] or {}).get("mean_topk_jaccard"))),
    ("q / q oracle at top budget", None, "", lambda c: _num(c["pipeline"].get("q_vs_top_budget_oracle"))),
    ("oracle calls expl/screen/eval", "cost", "oracle calls expl/screen/eval", lambda c: _split(c["cost"], "calls", _short)),
    ("oracle tokens expl/screen/eval", None, "", lambda c: _split(c["cost"], "tokens", _short)),
    ("$ expl/screen/eval", None, "", lambda c: _split(c["cost"], "usd", _usd)),
    ("$ / expl.", "cost", "$ / expl.", lambda c: _usd(c["pipeline"]["usd_per_explanation"])),
    ("% of oracle $", "cost", "of oracle $", lambda c: _pct(c["pipeline"]["cost_share_usd"])),
    ("CRR $ (calls)", "cost", "CRR $ (calls)",
     lambda c: f"{_num(c['pipeline']['crr']['usd'], '.1f')} ({_num(c['pipeline']['crr']['calls'], '.1f')})"),
    ("CRR $ excl. screen", None, "", lambda c: _num(c["pipeline"]["crr_excl_screen"]["usd"], ".1f")),
    ("% of oracle $ excl. screen", None, "",
     lambda c: _pct(c["pipeline"]["cost_share_usd_excl_screen"])),
    (f"instances to reach {100 * TARGET_COST_SHARE:.0f}% of oracle $", None, "",
     lambda c: _int(c["pipeline"]["instances_to_target"])),
    ("expl./h pipeline vs oracle", "cost", "expl./h pipeline / oracle",
     lambda c: f"{_short(c['throughput_per_hour']['pipeline'])} / {_short(c['throughput_per_hour']['oracle_alone'])}"),
    ("expl./h proxy only", None, "", lambda c: _short(c["throughput_per_hour"].get("proxy_only"))),
    ("wall", "cost", "wall", lambda c: f"{c['run']['wall_time_s']:.0f} s"),
]


def _rows(doc: dict, table: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the Markdown table (``table=None``) or of terminal table ``table``."""
    cols = [(md, f) for md, t, _, f in COLUMNS] if table is None else \
        [(term, f) for _, t, term, f in COLUMNS if t in ("both", table)]

    def row(c: dict) -> list[str]:
        if "pipeline" not in c:  # nothing finished in this cell
            return [c["proxy"], c["method"], str(c["samples"]), c["status"]] + ["-"] * (len(cols) - 4)
        return [f(c) for _, f in cols]

    return [h for h, _ in cols], [row(c) for c in doc["cells"]]


def bench_tables(doc: dict) -> list[Table]:
    """Two terminal tables, fidelity then cost (bench.md has every column in one)."""
    data = doc["config"]["dataset"]["name"] or doc["config"]["dataset"]["path"]
    titles = {"fidelity": f"proxyx bench: fidelity (oracle {doc['oracle']}, {doc['instances']} instances of {data})",
              "cost": "proxyx bench: cost (nominal; screening included)"}
    captions = {"fidelity": "fidelity: mean ± 95% CI; * Pareto front ($ per explanation vs pipeline fidelity)",
                "cost": "expl./h from model time; bench.md has tokens, $ by part and more"}
    tables = []
    for name in ("fidelity", "cost"):
        headers, rows = _rows(doc, name)
        t = Table(title=titles[name], caption=captions[name], box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for i, h in enumerate(headers):  # cells keep their width; headers wrap
            t.add_column(h, justify="left" if h in KEY[:2] or h == "screen" else "right",
                         min_width=max((len(r[i]) for r in rows), default=1))
        for row in rows:
            if name == "fidelity":
                row[3] = f"[{'green' if row[3].startswith('accepted') else 'red'}]{row[3]}[/]"
            t.add_row(*row)
        tables.append(t)
    return tables


def print_bench(doc: dict, console: Console, out_dir: Path | None = None) -> None:
    for table in bench_tables(doc):
        console.print(table)
    for h in doc["headline"]:
        console.print(f"[bold]headline[/] {h['text']}", highlight=False)
        if h.get("best_proxy_alone"):
            console.print(f"         {h['best_proxy_alone']['text']}", highlight=False)
    r = doc["run"]
    console.print(f"this run: {r['paid_calls']} calls paid, {r['cache_hits']} cache hits, {_usd(r['paid_usd'])}, "
                  f"{r['wall_time_s']:.1f} s", highlight=False)
    if doc["status"] != "complete":
        console.print(f"[bold red]{doc['status']}[/]: {doc.get('stop_reason') or 'see failed cells'}")
    if out_dir is not None:
        console.print(f"bench: {Path(out_dir) / 'bench.json'}, bench.md, fidelity_vs_cost.png")


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def bench_markdown(doc: dict) -> str:
    cfg = doc["config"]
    s = cfg["screen"]
    refs = [[r["method"], str(r["samples"]), str(r["instances"]), _int(r["cost"]["calls_per_explanation"]),
             _usd(r["cost"]["usd_per_explanation"]), _int(r["throughput_per_hour"]), _num(r["mean_q_oracle"], ".3f"),
             str(r["q_oracle_undefined"])] for r in doc["references"]]
    headers, rows = _rows(doc)
    parts = [
        f"# proxyx bench: fidelity against cost\n",
        f"Oracle `{doc['oracle']}`; proxies {', '.join(f'`{p}`' for p in doc['proxies'])}; data set "
        f"`{cfg['dataset']['name'] or cfg['dataset']['path']}` ({cfg['dataset']['split']} split, {doc['instances']} instances "
        f"explained; screening on the {cfg['dataset']['screen_split']} split, tau={s['tau']}, confidence={s['confidence']}, "
        f"{s['min_instances']}-{s['max_instances']} instances). Status: {doc['status']}; created {doc['created']}; "
        f"proxyx {doc['versions']['proxyx']}.\n",
        "## Headline\n",
        *[f"- {h['text']}" + (f"; {h['best_proxy_alone']['text']}" if h.get("best_proxy_alone") else "")
          for h in doc["headline"]],
        f"- {PUBLISHED}\n",
        "## Grid\n",
        _md_table(headers, rows) + "\n",
        "## The oracle alone (the reference)\n",
        _md_table(["explainer", "samples", "instances", "oracle calls / expl.", "$ / expl.", "expl./h", "mean q (AOPC)",
                   "q undefined"], refs) + "\n",
        "## Reading the table\n",
        "- *fidelity* = q(explanation) / q(the oracle's own explanation at the same explainer, budget and masks), "
        "q = AOPC of deleting the top-ranked words, measured on the oracle; mean over instances where it is defined, "
        "95% CI = mean ± 1.96 s/√n. A ratio per instance is heavy-tailed where q_oracle is small; "
        "*mean q proxy / mean q oracle* (the ratio of means) is steadier, and is what the screen tests "
        "(mean d > 0 means mean q_proxy > tau · mean q_oracle).",
        "- *pipeline* (screen-and-apply): the proxy's explanation where the screen accepted the proxy and its label "
        "agrees with the oracle's, else the oracle's (fidelity 1). *proxy only*: the proxy's explanation on every "
        "instance where the labels agree, whatever the screen said. \\* marks the Pareto front (pipeline).",
        "- *q / q oracle at top budget*: mean pipeline quality over the mean quality of the oracle's own explanations "
        "at the explainer's largest budget (compares budgets; fidelity does not).",
        "- Costs are nominal (cache hits at the price first paid). Oracle calls and tokens: explanation (gate, proxy "
        "and fallback explanations) / screening / evaluation (the oracle's reference explanations and quality scoring, "
        "which only a benchmark pays). *$ / expl.* and *% of oracle $*: explanation plus screening, every model. "
        "CRR = all-oracle cost / (proxy + fallback + screening): calls count the oracle, $ every model.",
        f"- The screen is paid once per task, so its share falls with the number of instances explained: "
        f"*instances to reach {100 * TARGET_COST_SHARE:.0f}% of oracle $* is how many it takes for the pipeline's "
        f"cost share, screening included, to reach the published {100 * TARGET_COST_SHARE:.0f}% (- where the share "
        "without the screen is already above it).",
        "- *expl./h*: explanations per hour from the model time the answers took when paid (kept in the cache), "
        "pipeline without screening vs the oracle alone; *proxy only*: the proxy wherever the gate agrees, the "
        "oracle elsewhere.",
        "",
    ]
    return "\n".join(parts)

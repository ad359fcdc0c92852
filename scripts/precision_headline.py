"""Issue 21's headline: oracle calls to reach 0.95 of the reference, per route, against shap and lime.

    PYTHONPATH=. flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/precision_headline.py \
        [--config configs/bench_fine_foods.yaml] [--sets headline other] [--methods lime kernel_shap] [--limit 30] [--oracle local/vader]
        [--cache-dir DIR] [--out docs/tables/precision_headline.json]

Instances: the bench config's 30 explained reviews (``headline``) and 30
other test reviews drawn with another seed (``other``: ``dataset.seed`` + 1,
the headline's left out). Per explainer, every route runs through the bench's
own machinery (``proxyx.bench.frontier``: the same cache and ledger, the same
scoring: AOPC of deletion and local fidelity on the held-out masks):

- the oracle alone over the ladder (the kernel sampler; 1000: the reference)
  and, for Kernel SHAP, with the leverage sampler at n = 25, 50, 100;
- each proxy-informed estimator with VADER as the proxy (N = 1000) at n;
- the same estimator that measured best (control variate for LIME, prior
  for Kernel SHAP) with ``local/learned``: before each instance refitted on
  the oracle's answers that route asked on the instances before it;
- adaptive budgets (``explainer.oracle_samples: auto``, ``proxyx.adaptive``):
  the oracle alone and the best estimator with VADER, precision targets
  ``--targets``, rounds from 25 to a cap of 200;
- the peers (``bench.peers``): shap's KernelExplainer and PartitionExplainer,
  lime's LimeTextExplainer, at n.

Per route: mean oracle calls and quality as a share of the reference's
(ratio of means, paired bootstrap 95% interval), the paired difference to
the oracle alone at the same calls (per instance: its own n; Student t 95%)
and to each peer at the same n;
the effective-sample multiplier (the calls the oracle alone needs for the
route's quality, read off its ladder by linear interpolation, over the
route's calls); per route family, the calls at which the share reaches 0.95
(interpolated over n; ">" the largest n when not reached). Coverage: the
share of units whose 90% interval (``value +- 1.645 se``, the reference's own
error added in quadrature) covers the reference's value (units with an error
not estimable counted apart). Prints a table that fits in 80 columns and
writes the JSON (``--out``). Everything is cached: a rerun pays nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from proxyx.adaptive import explain_in_rounds
from proxyx.bench.frontier import _Judge, _Recorder, routes, run_frontier
from proxyx.bench.peers import PEERS
from proxyx.config import ModelConfig, apply_overrides, load_config
from proxyx.explain import instance_seed
from proxyx.explainers import explain_informed, make_explainer
from proxyx.explainers.uncertainty import explain_with_errors
from proxyx.models.learned import LearnedModel
from proxyx.session import open_session
from proxyx.stats import paired_t, ratio_of_means
from proxyx.tasks.labelled import ALL
from proxyx.view.style import Z90

OUT = Path("docs/tables/precision_headline.json")
PROXY, LEARNED, N, CAP, REFERENCE = "local/vader", "local/learned", 1000, 200, 1000
STAND_IN = "local/tfidf-lr"  # the proxy when VADER is the oracle (a fast stand-in for Gemma)
BEST = {"lime": "control_variate", "kernel_shap": "prior"}  # docs/results.md
ESTIMATORS = ("prior", "control_variate", "regression_adjusted", "prior_control_variate")
LADDER, BUDGETS = (25, 50, 100, 200, 300, REFERENCE), (25, 50, 100)
GOAL, SHARE = 0.95, 0.06
METHODS = ("lime", "kernel_shap")


def instance_sets(task, config, limit: int) -> dict[str, list]:
    """The config's explained instances, and as many others drawn with the next seed (none of the first)."""
    headline = task.instances(limit=limit)
    seen = {x.id for x in headline}
    other_task = type(task)(apply_overrides(config, **{"dataset.seed": config.dataset.seed + 1}))
    other = [x for x in other_task.instances(limit=ALL) if x.id not in seen][:limit]
    return {"headline": headline, "other": other}


class Point(SimpleNamespace):
    """One explanation of one instance: id, aopc, local_fidelity, oracle_calls (and for rounds: n)."""


def adaptive_points(session, instances, method: str, estimator: str | None, target: float, seed: int) -> list:
    """Each instance explained in rounds 25, 50, ... up to CAP until every |se| <= target x the largest value."""
    out = []
    proxy = session.proxies[0]
    for x in instances:
        segments, s = session.task.units(x), instance_seed(seed, x.id)
        label = int(np.argmax(session.oracle([segments.full], "explain")[0]))
        o = _Recorder(session.oracle, segments, label, "explain")
        if estimator is None:
            at = lambda n: explain_with_errors(make_explainer(method, samples=n, seed=s),  # noqa: E731
                                               len(segments), o)
        else:
            p = _Recorder(proxy, segments, label, "explain")
            at = lambda n: explain_informed(method, len(segments), o, p, samples=N, oracle_samples=n,  # noqa: E731
                                            estimator=estimator, seed=s)[0]
        rounds = explain_in_rounds(at, lambda a: a, SimpleNamespace(texts=o.answers), target=target, start=25, cap=CAP)
        judge = _Judge(session.oracle, segments, label, method, s, session.config.fidelity.heldout_samples,
                       session.config.fidelity.k_fraction)
        q = judge.point(rounds.result, x.id, o)
        out.append(Point(id=x.id, aopc=q.aopc, local_fidelity=q.local_fidelity, oracle_calls=o.calls,
                         n=rounds.info.oracle_samples, stopped=rounds.info.stopped))
    return out


def learned_points(session, instances, method: str, n: int, seed: int) -> list:
    """The best estimator with ``local/learned``, refitted before each instance on this route's oracle answers
    to the instances before it (n masks each): what a run of ``proxyx explain`` at n would give it."""
    scorer = session.proxy(LEARNED)
    model: LearnedModel = scorer.model
    model.heard_, model.fitted_on_, model.digest_, model.ridge_ = {}, 0, "nothing", None
    model.following_ = True
    scorer.refresh()
    out = []
    for x in instances:
        segments, s = session.task.units(x), instance_seed(seed, x.id)
        label = int(np.argmax(session.oracle([segments.full], "explain")[0]))
        o, p = (_Recorder(m, segments, label, "explain") for m in (session.oracle, scorer))
        attr, info = explain_informed(method, len(segments), o, p, samples=N, oracle_samples=n,
                                      estimator=BEST[method], seed=s)
        judge = _Judge(session.oracle, segments, label, method, s, session.config.fidelity.heldout_samples,
                       session.config.fidelity.k_fraction)
        q = judge.point(attr, x.id, o, p, rho=info.rho)
        out.append(Point(id=x.id, aopc=q.aopc, local_fidelity=q.local_fidelity, oracle_calls=o.calls, n=n,
                         rho=info.rho))
        model.hear({t: a for t, a in o.answers.items()})
        if model.refit():
            scorer.refresh()
    return out


def coverage(session, instances, method: str, seed: int) -> dict:
    """Per oracle budget n and estimator (plain: the oracle alone), the share of units whose 90% interval covers
    the reference's value (the reference's error added), over the units whose error is estimable."""
    proxy = session.proxies[0]
    cells: dict[str, list] = {}
    for x in instances:
        segments, s = session.task.units(x), instance_seed(seed, x.id)
        label = int(np.argmax(session.oracle([segments.full], "explain")[0]))
        o, p = (_Recorder(m, segments, label, "explain") for m in (session.oracle, proxy))
        ref = explain_with_errors(make_explainer(method, samples=REFERENCE, seed=s), len(segments), o)
        for n in BUDGETS:
            got = {"plain": explain_with_errors(make_explainer(method, samples=n, seed=s), len(segments), o)}
            for estimator in ESTIMATORS:
                got[estimator] = explain_informed(method, len(segments), o, p, samples=N, oracle_samples=n,
                                                  estimator=estimator, seed=s)[0]
            for name, a in got.items():
                se = np.sqrt(a.standard_errors**2 + ref.standard_errors**2)
                cells.setdefault(f"{name} n={n}", []).append(np.stack([np.abs(a.values - ref.values), se]))
    out = {}
    for key, rows in cells.items():
        err, se = np.concatenate(rows, axis=1)
        known = ~np.isnan(se)
        out[key] = {"units": int(len(se)), "not_estimable": float(np.mean(~known)),
                    "coverage": float(np.mean(err[known] <= Z90 * se[known])) if known.any() else None}
    return out


def frontier_cells(session, instances, method: str, seed: int) -> dict[str, list]:
    """The bench's routes (oracle ladder, estimators with VADER, peers; Kernel SHAP also with leverage masks)."""
    fid = session.config.fidelity
    rs = routes(method, LADDER, [session.proxies[0].name], ESTIMATORS, BUDGETS, N, substitute=False, peers=PEERS)
    cells, _ = run_frontier(session.oracle, {session.proxies[0].name: session.proxies[0]}, instances, rs, seed=seed,
                            heldout=fid.heldout_samples, k_fraction=fid.k_fraction, units_of=session.task.units,
                            on_progress=progress)
    out = {_name(c.route): c.points for c in cells}
    if method == "kernel_shap":
        rs = routes(method, BUDGETS, [], (), BUDGETS, N, substitute=False)
        cells, _ = run_frontier(session.oracle, {}, instances, rs, seed=seed, heldout=fid.heldout_samples,
                                k_fraction=fid.k_fraction, sampler="leverage", units_of=session.task.units,
                                on_progress=progress)
        out.update({f"leverage n={c.route.oracle_samples}": c.points for c in cells})
    return out


def progress(label: str, done: int, total: int, stage: str) -> None:
    print(f"    {label}: {done}/{total} {stage} ({time.strftime('%H:%M:%S')})", flush=True)


def _name(r) -> str:
    if r.kind == "oracle":
        return f"alone n={r.oracle_samples}"
    if r.kind == "peer":
        return f"{r.peer} n={r.oracle_samples}"
    return f"{r.estimator} n={r.oracle_samples}"


def family(name: str) -> str:
    return name.rsplit(" n=", 1)[0] if " n=" in name else name


def needed(calls: list[float], shares: list[float]) -> float | None:
    """The calls at which a curve of shares (in order of calls) first reaches GOAL, interpolated; None if never."""
    for i, (c, q) in enumerate(zip(calls, shares)):
        if q is not None and q >= GOAL:
            if i == 0 or shares[i - 1] is None:
                return c
            c0, q0 = calls[i - 1], shares[i - 1]
            return c0 + (GOAL - q0) * (c - c0) / (q - q0)
    return None


def equivalent(alone: list[tuple[float, float]], share: float | None) -> float | None:
    """The calls the oracle alone needs to reach ``share`` (its ladder, running max, linear interpolation)."""
    if share is None:
        return None
    best, prev = -np.inf, (0.0, 0.0)
    for c, q in alone:
        if q is None:
            continue
        if q >= share and q > best:
            c0, q0 = prev
            return c0 + (share - q0) * (c - c0) / (q - q0) if q > q0 else c
        if q > best:
            best, prev = q, (c, q)
    return None


def vs_peers(points: dict[str, list], name: str, pts: list, metric: str) -> dict:
    """A route at n minus each peer at the same n, paired over the instances (Student t 95%)."""
    if " n=" not in name or family(name) in PEERS:
        return {}
    n = name.rsplit("=", 1)[1]
    out = {}
    for peer in PEERS:
        theirs = {p.id: getattr(p, metric) for p in points.get(f"{peer} n={n}", [])}
        if theirs:
            d = paired_t([getattr(p, metric) for p in pts], [theirs[p.id] for p in pts])
            out[peer] = {"estimate": d.estimate, "low": d.low, "high": d.high}
    return out


def summarise(points: dict[str, list], metric: str) -> dict:
    """Per route: calls, share of the reference, difference to the oracle alone at the same n, multiplier."""
    reference = {p.id: getattr(p, metric) for p in points[f"alone n={REFERENCE}"]}
    alone_at = {n: {p.id: getattr(p, metric) for p in points[f"alone n={n}"]} for n in LADDER}
    rows = {}
    for name, pts in points.items():
        ids = [p.id for p in pts]
        share = ratio_of_means([getattr(p, metric) for p in pts], [reference[i] for i in ids])
        own_n = [getattr(p, "n", None) or int(name.rsplit("=", 1)[1]) for p in pts]
        diff = paired_t([getattr(p, metric) for p in pts], [alone_at[n][i] for n, i in zip(own_n, ids)])
        rows[name] = {"calls": float(np.mean([p.oracle_calls for p in pts])), "share": share.estimate,
                      "share_low": share.low, "share_high": share.high, "vs_alone": diff.estimate,
                      "vs_alone_low": diff.low, "vs_alone_high": diff.high, "instances": len(pts),
                      "vs_peer": vs_peers(points, name, pts, metric)}
    ladder = [(rows[f"alone n={n}"]["calls"], rows[f"alone n={n}"]["share"]) for n in LADDER]
    for name, r in rows.items():
        eq = equivalent(ladder, r["share"])
        r["multiplier"] = None if eq is None else eq / r["calls"]
    families = {}
    for name, r in rows.items():
        families.setdefault(family(name), []).append(r)
    reach = {}
    for fam, rs in families.items():
        rs = sorted(rs, key=lambda r: r["calls"])
        calls = needed([r["calls"] for r in rs], [r["share"] for r in rs])
        reach[fam] = {"calls": calls, "share_of_reference_calls": None if calls is None else calls / REFERENCE,
                      "largest_calls": rs[-1]["calls"]}
    return {"routes": rows, "reach": reach}


def run_set(session, instances, seed: int, targets: list[float], methods=METHODS) -> dict:
    out = {}
    for method in methods:
        started = time.perf_counter()
        points = frontier_cells(session, instances, method, seed)
        for n in BUDGETS:
            progress(f"learned · {method}", n, BUDGETS[-1], "")
            points[f"learned n={n}"] = learned_points(session, instances, method, n, seed)
        for target in targets:
            progress(f"adaptive · {method}", 0, len(targets), f"target {target}")
            points[f"adapt alone t={target}"] = adaptive_points(session, instances, method, None, target, seed)
            points[f"adapt {BEST[method]} t={target}"] = adaptive_points(session, instances, method,
                                                                            BEST[method], target, seed)
        out[method] = {m: summarise(points, m) for m in ("aopc", "local_fidelity")}
        progress(f"coverage · {method}", 0, 1, "")
        out[method]["coverage"] = coverage(session, instances, method, seed)
        out[method]["adaptive_stopped"] = {k: {s: sum(p.stopped == s for p in v) for s in ("target", "cap",
                                                                                           "not_estimable")}
                                           for k, v in points.items() if k.startswith("adapt ")}
        out[method]["seconds"] = time.perf_counter() - started
        print(f"  {method}: {out[method]['seconds']:.0f} s", flush=True)
    return out


def _f(v, spec: str, width: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:{spec}}"


def print_table(name: str, result: dict) -> None:
    for method, r in result.items():
        print(f"\n{name} · {method}: share of the reference (AOPC / local fid.), vs alone at same n")
        print(f"{'route':28} {'calls':>6} {'AOPC':>5} {'diff':>7} {'x':>5} {'LF':>5} {'diff':>7} {'x':>5}")
        a, lf = r["aopc"]["routes"], r["local_fidelity"]["routes"]
        for route in a:
            x, y = a[route], lf[route]
            print(f"{route[:28]:28} {x['calls']:6.1f} {_f(x['share'], '5.2f', 5)} {_f(x['vs_alone'], '+7.3f', 7)} "
                  f"{_f(x['multiplier'], '5.2f', 5)} {_f(y['share'], '5.2f', 5)} {_f(y['vs_alone'], '+7.3f', 7)} "
                  f"{_f(y['multiplier'], '5.2f', 5)}")
        print(f"calls to reach {GOAL:.2f} of the reference (AOPC / local fid.):")
        for fam, x in r["aopc"]["reach"].items():
            y = r["local_fidelity"]["reach"][fam]
            show = lambda z: f"{z['calls']:.0f}" if z["calls"] is not None else f"> {z['largest_calls']:.0f}"  # noqa
            print(f"  {fam[:30]:30} {show(x):>8} {show(y):>8}")
        print("coverage of 90% intervals (not estimable apart):")
        for key, c in r["coverage"].items():
            print(f"  {key:30} {_f(c['coverage'], '6.1%', 6)}  no se {c['not_estimable']:5.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/bench_fine_foods.yaml")
    parser.add_argument("--sets", nargs="+", default=["headline", "other"], choices=["headline", "other"])
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="one explainer per process: two processes (one llama.cpp thread each) warm the cache"
                             " twice as fast")
    parser.add_argument("--targets", type=float, nargs="+", default=[0.2, 0.4])
    parser.add_argument("--oracle", help="another oracle (e.g. local/vader, a fast stand-in); it leaves the proxies")
    parser.add_argument("--cache-dir")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if set(args.methods) != set(METHODS) and args.out == OUT:
        parser.error(f"--methods {' '.join(args.methods)} writes a partial table: give --out (not {OUT})")
    config = load_config(args.config)
    proxies = [ModelConfig(model=STAND_IN if args.oracle == PROXY else PROXY), ModelConfig(model=LEARNED)]
    config = apply_overrides(config, **{"oracle": args.oracle and {"model": args.oracle}, "cache_dir": args.cache_dir,
                                        "proxies": [p.model_dump(exclude_defaults=True) for p in proxies]})
    session = open_session(config)
    started = time.perf_counter()
    try:
        sets = instance_sets(session.task, config, args.limit)
        result = {"config": args.config, "oracle": config.oracle.model, "proxy": proxies[0].model, "goal": GOAL,
                  "share": SHARE, "sets": {}}
        for name in args.sets:
            print(f"{name}: {len(sets[name])} reviews", flush=True)
            result["sets"][name] = {"ids": [x.id for x in sets[name]],
                                    "results": run_set(session, sets[name], config.seed, args.targets, args.methods)}
            print_table(name, result["sets"][name]["results"])
        result["paid_oracle_calls"] = session.ledger.total(role="oracle").paid.calls
        result["wall_time_s"] = time.perf_counter() - started
    finally:
        session.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nwrote {args.out}; paid {result['paid_oracle_calls']} oracle calls, {result['wall_time_s']:.0f} s")


if __name__ == "__main__":
    main()

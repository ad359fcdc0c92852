"""How a proxy learned from the oracle during a run grows: its correlation and the quality it gives.

    PYTHONPATH=. flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/learned_proxy.py \
        [--config configs/bench_fine_foods.yaml] [--limit 30] [--oracle-samples 25 50] [--estimators ...] [--json PATH]
    PYTHONPATH=. .venv/bin/python scripts/learned_proxy.py --local-fidelity-only ...   # cached answers only, no lock

The bench config's reviews (Gemma oracle), explained in run order by
``proxyx explain`` itself (``run_explain``) once per explainer, oracle budget
n and proxy, with the proxy-informed estimator that measured best for the
explainer (``--estimators``: control variate for LIME, prior for Kernel SHAP),
the proxy at N = 1000 and ``fidelity.reference: true``: each estimate is
scored on the oracle next to the oracle alone at the same n (its free
baseline) and the oracle at N (the reference), as the bench scores them (AOPC
of deletion, local fidelity on the held-out masks). Proxies: ``local/learned``
(learns from the oracle's answers on the instances before: n masks each),
``local/vader`` and ``local/tfidf-lr``.

Per instance: the proxy's Pearson r with the oracle on the instance's 1000
masks (the target label's probability; the learned proxy as it was for that
instance, read from the cache), and the qualities. Per route, the first ten
instances against the last ten (halves below 20 instances): mean r, the estimate's and the oracle
alone's quality as a share of the reference (ratio of means), and the mean
paired difference estimate - oracle alone with its 95% t interval.

Per explainer, only the leading instances whose 1000-sample and held-out
masks the cache already holds are used (``--limit`` at most): the reference is paid
elsewhere (``scripts/warm_headline.py``); what this pays is the deletion
masks of new explanations (a few per explanation) and any estimator mask not
among the 1000 (``--local-fidelity-only``: nothing, AOPC is not scored).
Prints the table and writes ``docs/tables/learned_proxy.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from proxyx.config import apply_overrides, load_config
from proxyx.explain import attribute, instance_seed
from proxyx.explainers import Attribution, make_explainer
from proxyx.fidelity import heldout_masks, local_fidelity
from proxyx.pipeline import run_explain
from proxyx.session import load_instances, open_session
from proxyx.stats import paired_t, ratio_of_means

PROXIES = ("local/learned", "local/vader", "local/tfidf-lr")
BEST = {"lime": "control_variate", "kernel_shap": "prior"}  # docs/results.md, last round
N = 1000
WINDOW = 10


def cached_prefix(config, methods, limit: int) -> int:
    """How many leading instances have every 1000-sample and held-out mask answered in the cache."""
    session = open_session(config)
    try:
        for i, x in enumerate(load_instances(config)[:limit]):
            segments, seed = session.segments(x.text), instance_seed(config.seed, x.id)
            for method in methods:
                masks = np.vstack([make_explainer(method, samples=N, seed=seed).sample_masks(len(segments)),
                                   heldout_masks(method, len(segments), samples=config.fidelity.heldout_samples,
                                                 seed=seed)])
                texts = segments.render_many(masks)
                if len(session.cache.get_many(session.oracle.fingerprint, texts)) < len(set(texts)):
                    return i
        return limit
    finally:
        session.close()


def one_run(config, method: str, n: int, proxy: str, estimator: str, aopc: bool = True) -> list[dict]:
    """``proxyx explain`` with ``proxy`` alone; per instance its r with the oracle and the three qualities.

    Without ``aopc``, local fidelity only, scored here on the cached held-out masks: no new oracle call.
    """
    cfg = apply_overrides(config, **{"proxies": [{"model": proxy}], "explainer.method": method,
                                     "explainer.samples": N, "explainer.oracle_samples": n,
                                     "explainer.estimator": estimator, "fidelity.enabled": aopc,
                                     "fidelity.reference": True})
    session = open_session(cfg)
    rows: list[dict] = []

    def measure(done: int, total: int, entry, stage: str) -> None:
        if entry is None or entry.status != "ok":
            return
        # The proxy as it answered this instance (the learned one refits before the next): from the cache.
        segments = session.segments(entry.text)
        texts = segments.render_many(make_explainer(method, samples=N, seed=entry.seed).sample_masks(len(segments)))
        target = cfg.task.labels.index(entry.oracle.label)
        o = session.cache.get_many(session.oracle.fingerprint, texts)
        p = session.cache.get_many(session.proxies[0].fingerprint, texts)
        y_o = np.array([o[t].probs[target] for t in texts])
        y_p = np.array([p[t].probs[target] for t in texts])
        r = float(np.corrcoef(y_o, y_p)[0, 1]) if y_p.std() > 0 and y_o.std() > 0 else None
        b, f = entry.baseline, entry.fidelity
        if aopc:
            row = dict(aopc=b.q_estimate.aopc, aopc_alone=b.q_baseline.aopc, aopc_reference=f.q_oracle.aopc,
                       lf=b.local_fidelity_estimate, lf_alone=b.local_fidelity_baseline,
                       lf_reference=f.local_fidelity_oracle)
        else:
            row = dict(aopc=None, aopc_alone=None, aopc_reference=None,
                       **cached_local_fidelity(session, segments, entry, method, target))
        rows.append(dict(id=entry.id, r=r, rho_n=entry.estimator.rho, **row))
        print(f"  {method} n={n} {proxy} {done}/{total} {entry.id}: r {fmt(r)}, AOPC {fmt(row['aopc'], '.3f')} vs "
              f"alone {fmt(row['aopc_alone'], '.3f')}, local fidelity {fmt(row['lf'], '.3f')} vs alone "
              f"{fmt(row['lf_alone'], '.3f')} (reference {fmt(row['lf_reference'], '.3f')})", flush=True)

    try:
        report = run_explain(cfg, session=session, on_instance=measure)
    finally:
        session.close()
    if report.status not in ("complete",):
        raise SystemExit(f"{method} n={n} {proxy}: run ended {report.status} ({report.stop_reason})")
    paid = sum(row.cost.paid.calls for row in report.ledger if row.role == "oracle")
    print(f"  {method} n={n} {estimator} {proxy}: {paid} oracle calls paid", flush=True)
    return rows


def cached_local_fidelity(session, segments, entry, method: str, target: int) -> dict:
    """Local fidelity of the estimate, the oracle alone at n and the oracle at N, as the bench scores it, on
    the held-out masks; the oracle at N is fitted on its cached 1000-sample answers (purpose evaluate)."""
    config = session.config
    reference = attribute(session.oracle, segments, target, method=method, samples=N, seed=entry.seed,
                          purpose="evaluate")
    held = heldout_masks(method, len(segments), samples=config.fidelity.heldout_samples, seed=entry.seed)
    y = session.oracle(segments.render_many(held), "evaluate")[:, target]
    w = make_explainer(method, samples=config.fidelity.heldout_samples, seed=entry.seed).kernel(held)

    def lf(values, base):
        return local_fidelity(Attribution(values=np.asarray(values), base_value=base, full_value=entry.full_value,
                                          n_evals=0, method=method), held, y, w)

    return dict(lf=lf(entry.attribution, entry.base_value), lf_alone=lf(entry.baseline.attribution,
                                                                       entry.baseline.base_value),
                lf_reference=local_fidelity(reference, held, y, w))


def window(rows: list[dict]) -> dict:
    """Mean r, quality shares of the reference and the paired difference with the oracle alone."""
    def col(key):
        return [r[key] for r in rows]

    out = {"instances": len(rows), "ids": col("id"),
           "mean_r": float(np.mean([r for r in col("r") if r is not None])) if any(col("r")) else None}
    for metric, ref in (("aopc", "aopc_reference"), ("lf", "lf_reference")):
        est, alone = ratio_of_means(col(metric), col(ref)), ratio_of_means(col(f"{metric}_alone"), col(ref))
        diff = paired_t(col(metric), col(f"{metric}_alone"))
        out[metric] = {"share_of_reference": est.estimate, "alone_share_of_reference": alone.estimate,
                       "difference": diff.estimate, "low": diff.low, "high": diff.high}
    return out


def fmt(x, spec=".2f") -> str:
    return "-" if x is None else format(x, spec)


def table(results: list[dict], metric: str) -> str:
    """One row per route: the first window against the last (``instances`` says which); the last column is
    the paired difference estimate - oracle alone of ``metric`` over the last window."""
    head = (f"{'method':12} {'n':>3} {'estimator':21} {'proxy':15} {'instances':>14} | {'r first':>8} {'last':>6} | "
            f"{'AOPC/ref first':>14} {'alone':>6} {'last':>6} {'alone':>6} | {'LF/ref first':>12} "
            f"{'alone':>6} {'last':>6} {'alone':>6} | {'d' + metric.upper() + ' last [95%]':>28}")
    lines = [head, "-" * len(head)]
    for res in results:
        a, b = res["first"], res["last"]
        d = b[metric]
        lines.append(
            f"{res['method']:12} {res['oracle_samples']:>3} {res['estimator']:21} {res['proxy']:15} "
            f"{res['windows'][0] + ' / ' + res['windows'][1]:>14} | {fmt(a['mean_r']):>8} {fmt(b['mean_r']):>6} | "
            f"{fmt(a['aopc']['share_of_reference']):>14} {fmt(a['aopc']['alone_share_of_reference']):>6} "
            f"{fmt(b['aopc']['share_of_reference']):>6} {fmt(b['aopc']['alone_share_of_reference']):>6} | "
            f"{fmt(a['lf']['share_of_reference']):>12} {fmt(a['lf']['alone_share_of_reference']):>6} "
            f"{fmt(b['lf']['share_of_reference']):>6} {fmt(b['lf']['alone_share_of_reference']):>6} | "
            f"{fmt(d['difference'], '+.4f'):>9} [{fmt(d['low'], '+.4f')}, {fmt(d['high'], '+.4f')}]")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="configs/bench_fine_foods.yaml")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--methods", nargs="+", default=["lime", "kernel_shap"])
    ap.add_argument("--oracle-samples", type=int, nargs="+", default=[25, 50])
    ap.add_argument("--estimators", nargs="+", default=None, help="default: the best per method (module doc)")
    ap.add_argument("--proxies", nargs="+", default=list(PROXIES))
    ap.add_argument("--json", default="docs/tables/learned_proxy.json")
    ap.add_argument("--local-fidelity-only", action="store_true",
                    help="no AOPC: nothing but cached answers, so no new oracle call (and no lock needed)")
    args = ap.parse_args()
    base = load_config(args.config)
    started, results = time.perf_counter(), []
    for method in args.methods:
        limit = cached_prefix(base, [method], args.limit)
        if limit < 2:
            print(f"{method}: {limit} instance(s) have the reference's masks cached; run scripts/warm_headline.py")
            continue
        config = apply_overrides(base, **{"dataset.limit": limit})
        w = min(WINDOW, limit // 2)
        windows = [f"1-{w}", f"{limit - w + 1}-{limit}"]
        print(f"{method}: {limit} instances with the reference's masks cached; windows {windows}", flush=True)
        for estimator in args.estimators or [BEST[method]]:
            for n in args.oracle_samples:
                for proxy in args.proxies:
                    rows = one_run(config, method, n, proxy, estimator, aopc=not args.local_fidelity_only)
                    results.append(dict(method=method, oracle_samples=n, estimator=estimator, proxy=proxy,
                                        windows=windows, first=window(rows[:w]), last=window(rows[-w:]),
                                        instances=rows))
    print()
    print(table(results, "lf" if args.local_fidelity_only else "aopc"))
    out = dict(config=args.config, proxy_samples=N, aopc=not args.local_fidelity_only,
               seconds=round(time.perf_counter() - started, 1), results=results)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()

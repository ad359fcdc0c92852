"""Why is shap's KernelExplainer ahead of proxyx's Kernel SHAP at n = 50 (docs/results.md, precision headline)?

    PYTHONPATH=. .venv/bin/python scripts/shap_gap.py [--oracles local/vader local/tfidf-lr] [--instances 30]
        [--seeds 5] [--budgets 25 50 100] [--out docs/tables/shap_gap.json]

On the precision headline's reviews (the bench config's, 13-40 units), with a
local model as the oracle (its answers remembered per mask, as in
``se_coverage.py``), at oracle budgets n, the AOPC of deletion (K = 20% of the
units, as the bench scores it) of:

- proxyx's Kernel SHAP with the kernel and the leverage sampler (the oracle alone);
- the same masks and answers, fitted as shap does with its default
  ``l1_reg="num_features(10)"``: the 10 units LARS selects first on shap's
  augmented problem, the rest 0 (``sparse``: what a proxyx option could do);
- shap's KernelExplainer (``proxyx.bench.peers``) with its default
  ``l1_reg`` and with ``l1_reg=False`` (every unit fitted: its sampling alone).

Per route, mean AOPC over the reviews (each the mean over ``--seeds``) as a
share of the 1,000-sample reference's, and the paired difference (Student t
95% over the reviews) to proxyx's kernel sampler and to shap's default.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from se_coverage import Remembered, headline_texts
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import lars_path

from proxyx.bench.peers import _Counted, _numpy_seed
from proxyx.config import ModelConfig, load_config
from proxyx.data import load_split
from proxyx.explainers import make_explainer
from proxyx.fidelity import mask_quality
from proxyx.models import build_model
from proxyx.stats import paired_t

OUT = Path("docs/tables/shap_gap.json")
REFERENCE, SELECTED = 1000, 10
ROUTES = ("proxyx kernel", "proxyx leverage", "proxyx kernel, sparse", "proxyx leverage, sparse",
          "shap, l1_reg default", "shap, l1_reg off")


def shap_kernel(n_units: int, oracle, samples: int, seed: int, l1_reg) -> np.ndarray:
    """shap's KernelExplainer as ``proxyx.bench.peers`` runs it, with ``l1_reg`` given."""
    import shap

    f = _Counted(oracle, n_units)
    with _numpy_seed(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.KernelExplainer(f, np.zeros((1, n_units)))
        values = explainer.shap_values(np.ones((1, n_units)), nsamples=max(samples - 2, 1), silent=True,
                                       l1_reg=l1_reg)
    return np.asarray(values, dtype=float).reshape(n_units)


def sparse_fit(n_units: int, oracle, samples: int, seed: int, sampler: str) -> np.ndarray:
    """proxyx's masks and answers, fitted as shap's ``l1_reg="num_features(10)"`` fits them: LARS on the
    augmented weighted problem picks ``SELECTED`` units, the constrained weighted fit gives them their values."""
    explainer = make_explainer("kernel_shap", samples=samples, seed=seed, sampler=sampler)
    masks = explainer.sample_masks(n_units)
    y, w = oracle(masks), np.asarray(explainer.kernel(masks), dtype=float)
    empty, full = oracle(np.array([[False] * n_units, [True] * n_units]))
    inner = (masks.any(axis=1) & ~masks.all(axis=1)) & np.isfinite(w) & (w > 0)
    x, y, w = masks[inner].astype(float), y[inner] - empty, w[inner]
    kept, total = x.sum(axis=1), full - empty
    chosen = np.arange(n_units)
    if n_units > SELECTED:
        root = np.sqrt(np.hstack((w * (n_units - kept), w * kept)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            chosen = np.asarray(lars_path(root[:, None] * np.vstack((x, x - 1)), root * np.hstack((y, y - total)),
                                          max_iter=SELECTED)[1])
    last, rest = chosen[-1], chosen[:-1]
    design = x[:, rest] - x[:, [last]]
    fitted = np.linalg.lstsq(np.sqrt(w)[:, None] * design, np.sqrt(w) * (y - x[:, last] * total), rcond=None)[0]
    values = np.zeros(n_units)
    values[rest], values[last] = fitted, total - fitted.sum()
    return values


def explain(route: str, n_units: int, oracle, samples: int, seed: int) -> np.ndarray:
    if route.startswith("shap"):
        return shap_kernel(n_units, oracle, samples, seed, False if route.endswith("off") else "num_features(10)")
    sampler = route.split()[1].rstrip(",")
    if route.endswith("sparse"):
        return sparse_fit(n_units, oracle, samples, seed, sampler)
    return make_explainer("kernel_shap", samples=samples, seed=seed, sampler=sampler).explain(n_units, oracle).values


def run(oracle_model, instances, budgets: list[int], seeds: int) -> dict:
    """Per budget and route, the AOPC per review (mean over seeds), and the reference's."""
    aopc = {(n, r): [] for n in budgets for r in ROUTES}
    reference = []
    for segments in instances:
        oracle, n_units = Remembered(oracle_model, segments), len(segments)
        score = lambda values: mask_quality(values, oracle, k_fraction=0.2).aopc  # noqa: E731
        ref = make_explainer("kernel_shap", samples=REFERENCE, seed=0).explain(n_units, oracle)
        reference.append(score(ref.values))
        for n in budgets:
            for r in ROUTES:
                aopc[(n, r)].append(float(np.mean([score(explain(r, n_units, oracle, n, s)) for s in range(seeds)])))
    rows = []
    for (n, r), got in aopc.items():
        row = {"n": n, "route": r, "aopc_share": float(np.mean(got) / np.mean(reference))}
        for base in ("proxyx kernel", "shap, l1_reg default"):
            d = paired_t(got, aopc[(n, base)])
            row[f"vs {base}"] = [d.estimate, d.low, d.high]
        rows.append(row)
    return {"reference_aopc": float(np.mean(reference)), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oracles", nargs="+", default=["local/vader", "local/tfidf-lr"])
    parser.add_argument("--instances", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--config", default="configs/bench_fine_foods.yaml")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    instances = headline_texts(args.config, args.instances)
    task = load_config(args.config).task
    out = {"instances": len(instances), "seeds": args.seeds, "oracles": {}}
    for name in args.oracles:
        train = load_split("fine_foods", "train") if name == "local/tfidf-lr" else None
        result = run(build_model(ModelConfig(model=name), task, train=train), instances, args.budgets, args.seeds)
        out["oracles"][name] = result
        print(f"\noracle {name}: {len(instances)} reviews x {args.seeds} seeds; AOPC as a share of the reference's, "
              f"paired differences (95%)")
        print(f"{'n':>4} {'route':<24} {'share':>6} {'vs proxyx kernel':>26} {'vs shap default':>26}")
        for r in result["rows"]:
            cells = [f"{d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}]" if d[1] is not None else "-"
                     for d in (r["vs proxyx kernel"], r["vs shap, l1_reg default"])]
            print(f"{r['n']:>4} {r['route']:<24} {r['aopc_share']:6.3f} {cells[0]:>26} {cells[1]:>26}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

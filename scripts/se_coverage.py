"""Do the nominal 90% intervals of the attributions cover the large-sample value 90% of the time?

    PYTHONPATH=. .venv/bin/python scripts/se_coverage.py [--texts short headline] [--instances 30] [--seeds 10]
        [--budgets 25 50 100]

Two pairs of real local models, each as the oracle with the other as the
proxy: VADER (``local/vader``) and TF-IDF + logistic regression
(``local/tfidf-lr``, trained on the fine-food training split); VADER's
explanations of the TF-IDF model are worth taking, TF-IDF's of VADER seldom
(there the estimators mostly keep the oracle alone). Instances: fine-food test reviews cut to their first words so that they have
9 to 14 units (a short review whole), the target label the oracle's on the
whole text (``--texts short``). Each model answers every one of the ``2**n`` coalitions once
(a table read by every route: no call repeated), so the reference is exact:

- Kernel SHAP (both samplers): the Shapley values (every coalition enumerated);
- LIME: its fit on every coalition with lime's kernel at a budget of a
  million draws (the ridge's pull is then nil): the value LIME's fit tends to
  as the budget grows.

``--texts headline``: the bench config's explained reviews (those of the
precision headline, 13-40 units; ``n = 25`` is below the units of most), each
model's answers remembered per mask; the reference is the explainer's own at
``REFERENCE`` samples, its standard error added in quadrature (as
``scripts/precision_headline.py`` does).

Per explainer (LIME; Kernel SHAP with the kernel and the leverage sampler),
oracle budget n (``--budgets``, the proxy's N = 1000) and estimator (plain:
the oracle alone at n; the four proxy-informed estimators), over instances x
seeds x units (leaving out the units whose value is exact, error and
standard error both 0: a word the oracle ignores), the share of units whose interval ``value +- 1.645 se``
(what the views draw; ``uncertainty.py`` widens ``se`` where few blocks
make it) covers the reference, the root mean squared
error over the root mean squared standard error (1: the errors are as large as
claimed), and the share of estimates where the estimator kept the oracle
alone; and the share of units whose standard error is not estimable though
their value is not exact (no residual in the explanation's answers: the game
looked additive on the masks drawn, VADER's rules for negation and contrast
firing only on coalitions not drawn; null in a report), the coverage and the
other figures being over the units whose error is estimable. The target:
85-95%. Writes ``docs/tables/se_coverage.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from proxyx.config import ModelConfig, load_config
from proxyx.data import load_split
from proxyx.explainers import ESTIMATORS, explain_informed, make_explainer
from proxyx.explainers.masks import all_coalitions
from proxyx.explainers.uncertainty import LEVEL, explain_with_errors
from proxyx.models import build_model
from proxyx.perturb import Segments
from proxyx.tasks import task_for
from proxyx.view.style import Z90

OUT = Path("docs/tables/se_coverage.json")
ROUTES = (("lime", "kernel"), ("kernel_shap", "kernel"), ("kernel_shap", "leverage"))
MIN_UNITS, MAX_UNITS, PROXY_SAMPLES, REFERENCE = 9, 14, 1000, 10000


class Table:
    """A model's answers on every coalition of a text, read by the integer a mask's bits spell."""

    def __init__(self, model, segments: Segments, label: int | None = None):
        n = len(segments)
        masks = all_coalitions(n)
        probs = np.array([a.probs for a in model.predict(segments.render_many(masks))])
        self.label = int(np.argmax(probs[0])) if label is None else label  # row 0: the whole text
        self.table = np.empty(2**n)
        self.table[masks.astype(np.int64) @ 2 ** np.arange(n)] = probs[:, self.label]
        self.bits = 2 ** np.arange(n)

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        return self.table[np.asarray(masks, dtype=bool).astype(np.int64) @ self.bits]


class Remembered:
    """A model's answers on the masks of a text too long to enumerate, each mask asked once."""

    def __init__(self, model, segments: Segments, label: int | None = None):
        self.model, self.segments, self.known = model, segments, {}
        full = model.predict([segments.full])[0].probs
        self.label = int(np.argmax(full)) if label is None else label

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool)
        keys = [m.tobytes() for m in masks]
        new = list({k: i for i, k in reversed(list(enumerate(keys))) if k not in self.known}.values())
        for i, answer in zip(new, self.model.predict(self.segments.render_many(masks[new]))):
            self.known[keys[i]] = answer.probs[self.label]
        return np.array([self.known[k] for k in keys])


def headline_texts(config: str, count: int) -> list[Segments]:
    """The bench config's first ``count`` explained reviews, as its task cuts them into units."""
    task = task_for(load_config(config))
    return [task.units(x) for x in task.instances(limit=count)]


def texts(count: int) -> list[Segments]:
    """``count`` fine-food test reviews, each cut to its first words so that it has at most MAX_UNITS units."""
    out = []
    for x in load_split("fine_foods", "test"):
        words = x.text.split()
        k = min(len(words), MAX_UNITS)
        while k >= MIN_UNITS and len(Segments(" ".join(words[:k]))) > MAX_UNITS:
            k -= 1
        segments = Segments(" ".join(words[:k]))
        if MIN_UNITS <= len(segments) <= MAX_UNITS:
            out.append(segments)
        if len(out) == count:
            return out
    return out


def reference(method: str, oracle, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The value the intervals must cover, and its own standard error."""
    if isinstance(oracle, Remembered):  # sampled: its error counts
        a = explain_with_errors(make_explainer(method, samples=REFERENCE, seed=12345), n, oracle)
        return a.values, np.nan_to_num(a.standard_errors)
    if method == "kernel_shap":  # every coalition: the Shapley values
        return make_explainer(method, samples=2**n, seed=0).explain(n, oracle).values, np.zeros(n)
    return make_explainer(method, samples=10**6, seed=0).explain(n, oracle).values, np.zeros(n)


def run(instances: list[Segments], oracle_model, proxy_model, seeds: int, budgets: list[int]) -> list[dict]:
    cells: dict[tuple, dict] = {}
    for segments in instances:
        n = len(segments)
        answers = Table if n <= MAX_UNITS else Remembered
        oracle = answers(oracle_model, segments)
        proxy = answers(proxy_model, segments, label=oracle.label)
        references = {method: reference(method, oracle, n) for method in dict(ROUTES)}
        for method, sampler in ROUTES:
            exact, exact_se = references[method]
            for budget in budgets:
                for seed in range(seeds):
                    explainer = make_explainer(method, samples=budget, seed=seed, sampler=sampler)
                    plain = explain_with_errors(explainer, n, oracle)
                    routes = {"plain": (plain, True)}
                    for estimator in ESTIMATORS:
                        attr, info = explain_informed(method, n, oracle, proxy, samples=PROXY_SAMPLES,
                                                      oracle_samples=budget, estimator=estimator, seed=seed,
                                                      sampler=sampler)
                        routes[estimator] = (attr, np.allclose(attr.values, info.baseline.values, atol=1e-12))
                    for estimator, (attr, alone) in routes.items():
                        cell = cells.setdefault((method, sampler, budget, estimator), {
                            "err": [], "se": [], "alone": []})
                        cell["err"].append(attr.values - exact)
                        cell["se"].append(np.sqrt(attr.standard_errors**2 + exact_se**2))
                        cell["alone"].append(alone)
    rows = []
    for (method, sampler, budget, estimator), c in cells.items():
        err, se = (np.concatenate(c[k]) for k in ("err", "se"))
        unknown = np.isnan(se)  # not estimable: the answers drawn show no residual
        exact = (np.abs(err) <= 1e-12) & (unknown | (se <= 1e-12))
        err, se, unknown = err[~exact], se[~exact], unknown[~exact]
        rows.append({"method": method, "sampler": sampler, "oracle_samples": budget, "estimator": estimator,
                     "units": len(err), "exact": int(exact.sum()), "not_estimable": float(np.mean(unknown)),
                     **claimed(err[~unknown], se[~unknown]), "oracle_alone": float(np.mean(c["alone"]))})
    return rows


def claimed(err: np.ndarray, se: np.ndarray) -> dict:
    """Coverage and size of the errors claimed, over the units whose error is estimable."""
    if not len(err):
        return {"coverage": None, "zero_se": None, "rmse_over_se": None, "mean_se": None}
    return {"coverage": float(np.mean(np.abs(err) <= Z90 * se)), "zero_se": float(np.mean(se <= 1e-12)),
            "rmse_over_se": float(np.sqrt(np.mean(err**2)) / np.sqrt(np.mean(se**2))), "mean_se": float(np.mean(se))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", nargs="+", default=["short", "headline"], choices=["short", "headline"])
    parser.add_argument("--instances", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--config", default="configs/bench_fine_foods.yaml", help="for the task and labels")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    task = load_config(args.config).task
    models = {"local/vader": build_model(ModelConfig(model="local/vader"), task),
              "local/tfidf-lr": build_model(ModelConfig(model="local/tfidf-lr"), task,
                                            train=load_split("fine_foods", "train"))}
    rows = []
    for kind in args.texts:
        instances = texts(args.instances) if kind == "short" else headline_texts(args.config, args.instances)
        units = [len(s) for s in instances]
        print(f"\n{kind}: {len(instances)} reviews of {min(units)}-{max(units)} units, {args.seeds} seeds, the proxy's "
              f"N = {PROXY_SAMPLES}; nominal {LEVEL:.0%} intervals")
        for oracle, proxy in (("local/vader", "local/tfidf-lr"), ("local/tfidf-lr", "local/vader")):
            found = run(instances, models[oracle], models[proxy], args.seeds, args.budgets)
            rows += [{"texts": kind, "oracle": oracle, "proxy": proxy, **r} for r in found]
            print(f"\noracle {oracle}, proxy {proxy}")
            print(f"{'method':<12} {'sampler':<9} {'n':>4} {'estimator':<22} {'units':>6} {'no se':>6} "
                  f"{'coverage':>8} {'se = 0':>6} {'rmse/se':>7} {'mean se':>8} {'alone':>6}")
            for r in found:
                known = r["coverage"] is not None
                print(f"{r['method']:<12} {r['sampler']:<9} {r['oracle_samples']:>4} {r['estimator']:<22} "
                      f"{r['units']:>6} {r['not_estimable']:6.1%} "
                      + (f"{r['coverage']:8.1%} {r['zero_se']:6.1%} {r['rmse_over_se']:7.2f} {r['mean_se']:8.4f} "
                         if known else f"{'-':>8} {'-':>6} {'-':>7} {'-':>8} ")
                      + f"{r['oracle_alone']:6.0%}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"level": LEVEL, "instances": args.instances, "seeds": args.seeds,
                                    "proxy_samples": PROXY_SAMPLES, "reference_samples": REFERENCE,
                                    "rows": rows}, indent=1) + "\n")
    print(f"wrote {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

"""The proxy-informed estimators' own time against the model time of the same explanation.

    .venv/bin/python scripts/estimator_time.py [--instances 10] [--proxy local/tfidf-lr] [--samples 1000]

For short fine-food test reviews (at most 40 words), each explainer, each
oracle budget n and each estimator, one ``explain_informed`` call is timed
in three parts: the proxy's answers on its N masks (a real local proxy,
TF-IDF + logistic regression or VADER, predicting the rendered texts), the
oracle's answers (VADER stands in for the oracle here: its time is left
out), and everything else, the estimator's own time: drawing and matching
masks, kernel weights, the proxy's and the oracle's fits, cross-validation.
It prints the medians over instances: the estimator's own time (everything
but the masks), the time to draw the masks (both budgets; the plain explainer
draws the same N masks, so this is not the estimator's), the proxy's time,
and the estimator's share of the proxy time, without and with the masks; the
target is under 10% without. BLAS threads fight over a small machine's
cores: run it with ``OPENBLAS_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from proxyx.config import ModelConfig, load_config
from proxyx.data import load_split
from proxyx.explainers import ESTIMATORS, explain_informed, make_explainer
from proxyx.models import build_model
from proxyx.perturb import Segments


class Timed:
    """A value function (masks -> probability of the first label) that adds up its own time."""

    def __init__(self, model, segments: Segments):
        self.model, self.segments, self.seconds = model, segments, 0.0

    def __call__(self, masks):
        started = time.perf_counter()
        answers = self.model.predict(self.segments.render_many(masks))
        self.seconds += time.perf_counter() - started
        return np.array([a.probs[0] for a in answers])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--proxy", default="local/tfidf-lr", choices=["local/tfidf-lr", "local/vader"])
    parser.add_argument("--samples", type=int, default=1000, help="the proxy's budget N")
    parser.add_argument("--config", default="configs/bench_fine_foods.yaml", help="for the task and labels")
    args = parser.parse_args()

    task = load_config(args.config).task
    train = load_split("fine_foods", "train") if args.proxy == "local/tfidf-lr" else None
    proxy = build_model(ModelConfig(model=args.proxy), task, train=train)
    stand_in = build_model(ModelConfig(model="local/vader"), task)
    texts = [x.text for x in load_split("fine_foods", "test") if 10 <= len(x.text.split()) <= 40][: args.instances]
    proxy.predict(["warm up"])
    stand_in.predict(["warm up"])

    print(f"proxy {args.proxy}, N = {args.samples}, {len(texts)} reviews of 10-40 words; medians per explanation")
    print(f"{'method':<12} {'n':>4} {'estimator':<22} {'estimator ms':>12} {'masks ms':>8} {'proxy ms':>9} "
          f"{'share':>6} {'w/ masks':>8}")
    worst = 0.0
    for method in ("lime", "kernel_shap"):
        for n in (25, 50, 100, 200):
            for estimator in ESTIMATORS:
                own, model, masks = [], [], []
                for text in texts:
                    segments = Segments(text)
                    oracle_fn, proxy_fn = Timed(stand_in, segments), Timed(proxy, segments)
                    started = time.perf_counter()
                    explain_informed(method, len(segments), oracle_fn, proxy_fn, samples=args.samples,
                                     oracle_samples=n, estimator=estimator, seed=0)
                    total = time.perf_counter() - started
                    own.append(total - oracle_fn.seconds - proxy_fn.seconds)
                    model.append(proxy_fn.seconds)
                    started = time.perf_counter()
                    for budget in (n, args.samples):
                        make_explainer(method, samples=budget, seed=0).sample_masks(len(segments))
                    masks.append(time.perf_counter() - started)
                k, m = np.median(masks) * 1e3, np.median(model) * 1e3
                e = np.median(np.array(own) - np.array(masks)) * 1e3
                worst = max(worst, e / m)
                print(f"{method:<12} {n:>4} {estimator:<22} {e:12.2f} {k:8.2f} {m:9.1f} {e / m:6.1%} {(e + k) / m:8.1%}")
    print(f"largest share of the proxy time: {worst:.1%} (target: under 10%)")


if __name__ == "__main__":
    main()

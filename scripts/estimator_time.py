"""The proxy-informed estimators' own time against the model time of the same explanation.

    .venv/bin/python scripts/estimator_time.py [--instances 10] [--proxy local/tfidf-lr] [--samples 1000]

For short fine-food test reviews (at most 40 words), each explainer, each
oracle budget n and each estimator, one ``explain_informed`` call is timed
in three parts: the proxy's answers on its N masks (a real local proxy,
TF-IDF + logistic regression or VADER, predicting the rendered texts), the
oracle's answers (VADER stands in for the oracle here: its time is left
out), and everything else, the estimator's own time: drawing and matching
masks, kernel weights, the proxy's and the oracle's fits, cross-validation
(reading the probabilities off the models' answers is the value functions'
work: it counts in neither).
It prints the medians over instances: the estimator's own time (everything
but the masks), the time to draw the masks (both budgets; the plain explainer
draws the same N masks, so this is not the estimator's), the proxy model's
own time and the estimator's share of it, without and with the masks; then
the time of the same proxy calls as proxyx makes them (through a ``Scorer``:
the on-disk cache, fresh, so every call is paid and written, and the ledger)
and the estimator's share of that. The target: under 10%. BLAS threads fight over a small machine's
cores: run it with ``OPENBLAS_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from proxyx.cache import CallCache
from proxyx.config import ModelConfig, load_config
from proxyx.data import load_split
from proxyx.explainers import ESTIMATORS, explain_informed, make_explainer
from proxyx.ledger import Ledger
from proxyx.models import build_model
from proxyx.perturb import Segments
from proxyx.scorer import Scorer


class Timed:
    """A value function (masks -> probability of the first label) that adds up its model's time (rendering
    the texts and predicting: ``seconds``) and its whole time (``total``: also reading the probabilities off
    the answers and dropping them, which is the value function's work, not the estimator's)."""

    def __init__(self, model, segments: Segments):
        self.model, self.segments, self.seconds, self.total, self.asked = model, segments, 0.0, 0.0, None

    def __call__(self, masks):
        self.asked = masks
        started = time.perf_counter()
        answers = self.model.predict(self.segments.render_many(masks))
        self.seconds += time.perf_counter() - started
        probs = np.array([a.probs[0] for a in answers])
        del answers
        self.total += time.perf_counter() - started
        return probs


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
    print(f"{'method':<12} {'n':>4} {'estimator':<22} {'estimator ms':>12} {'masks ms':>8} {'model ms':>8} "
          f"{'share':>6} {'w/ masks':>8} {'calls ms':>8} {'share':>6}")
    worst = worst_calls = 0.0
    scratch = tempfile.TemporaryDirectory()
    for method in ("lime", "kernel_shap"):
        for n in (25, 50, 100, 200):
            for estimator in ESTIMATORS:
                own, model, masks, calls, asked = [], [], [], [], []
                for text in texts:
                    segments = Segments(text)
                    oracle_fn, proxy_fn = Timed(stand_in, segments), Timed(proxy, segments)
                    started = time.perf_counter()
                    explain_informed(method, len(segments), oracle_fn, proxy_fn, samples=args.samples,
                                     oracle_samples=n, estimator=estimator, seed=0)
                    total = time.perf_counter() - started
                    own.append(total - oracle_fn.total - proxy_fn.total)
                    model.append(proxy_fn.seconds)
                    started = time.perf_counter()
                    for budget in (n, args.samples):
                        make_explainer(method, samples=budget, seed=0).sample_masks(len(segments))
                    masks.append(time.perf_counter() - started)
                    asked.append(segments.render_many(proxy_fn.asked))
                # the same proxy calls through proxyx (separately: their garbage would be collected on the
                # estimator's clock)
                cache = CallCache(Path(scratch.name) / f"{method}-{n}-{estimator}")
                scorer = Scorer(proxy, cache=cache, ledger=Ledger(), role="proxy")
                scorer(["warm up"], "explain")  # opens the cache
                for texts_asked in asked:
                    started = time.perf_counter()
                    scorer(texts_asked, "explain")
                    calls.append(time.perf_counter() - started)
                cache.close()
                k, m, c = np.median(masks) * 1e3, np.median(model) * 1e3, np.median(calls) * 1e3
                e = np.median(np.array(own) - np.array(masks)) * 1e3
                worst, worst_calls = max(worst, e / m), max(worst_calls, e / c)
                print(f"{method:<12} {n:>4} {estimator:<22} {e:12.2f} {k:8.2f} {m:8.1f} {e / m:6.1%} "
                      f"{(e + k) / m:8.1%} {c:8.1f} {e / c:6.1%}")
    scratch.cleanup()
    print(f"largest share of the proxy model's time: {worst:.1%}; of the proxy calls as proxyx makes them: "
          f"{worst_calls:.1%} (target: under 10%)")


if __name__ == "__main__":
    main()

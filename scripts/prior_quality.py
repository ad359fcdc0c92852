"""How closely cheap proxies follow the oracle on the texts an explainer asks, and how fast they answer.

    # 1. pay the oracle's answers into the cache (Gemma: take the lock; minutes)
    flock /tmp/proxyx-gemma.lock .venv/bin/python scripts/prior_quality.py --oracle --instances 4
    # 2. measure: the oracle is read from the cache only (never loaded), the proxies answer live
    .venv/bin/python scripts/prior_quality.py --instances 4

Proxies: tf-idf, VADER and MiniLM on gold labels, and tf-idf and MiniLM
distilled on ``--distill`` oracle answers to training texts (the first texts
of the bench's ``distill: 2000``). For each explained instance of the config
and each method, over the explainer's masks at ``--samples``:

- the share of masked texts on which a proxy's label is the oracle's;
- rho, the Pearson correlation of the proxy's and the oracle's probability of
  the oracle's label (on the whole text);
- r, the correlation of the proxy's own explanation with the oracle's;
- the gate (labels agree on the whole text) and answers/s (one batch).

Then the ``prior`` estimator with each proxy at ``--ns`` oracle answers, next
to the oracle alone at the same n: local fidelity on the cached masks at N it
did not fit, and r with the oracle's explanation at N. Step 2 skips (and
names) the instances whose masks are not all cached.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict

import numpy as np
import yaml

from proxyx.config import parse_config
from proxyx.explain import instance_seed
from proxyx.explainers import explain_informed, make_explainer
from proxyx.fidelity import local_fidelity
from proxyx.models.local import distillation_texts
from proxyx.perturb import Segments
from proxyx.session import load_instances, open_session


def proxies(distill: int) -> list[dict]:
    return [{"model": "local/tfidf-lr"}, {"model": "local/vader"}, {"model": "local/minilm-lr"},
            {"model": "local/tfidf-lr", "alias": "tfidf-distilled", "distill": distill},
            {"model": "local/minilm-lr", "alias": "minilm-distilled", "distill": distill}]


def masks_of(method: str, n_units: int, samples: int, seed: int) -> np.ndarray:
    return make_explainer(method, samples=samples, seed=seed).sample_masks(n_units)


class Job:
    """One (method, instance): the masks at N and every text the oracle answers (N's and each n's masks)."""

    def __init__(self, method: str, instance, seed: int, samples: int, ns: list[int]):
        self.method, self.id, self.seed, self.ns = method, instance.id, seed, ns
        self.segments = Segments(instance.text)
        self.large = make_explainer(method, samples=samples, seed=seed)
        self.masks = self.large.sample_masks(len(self.segments))
        self.texts = self.segments.render_many(self.masks)
        small = [t for n in ns for t in self.segments.render_many(masks_of(method, len(self.segments), n, seed))]
        self.asks = list(dict.fromkeys(self.texts + small))  # Kernel SHAP's small budgets are not nested in N's


def measure(job: Job, answers: dict, scorers, rows, prior_rows, samples: int) -> None:
    """Add one job's figures for every proxy to ``rows`` and ``prior_rows``."""
    label = int(np.argmax(answers[job.texts[0]].probs))  # row 0: the whole text
    known = {t: a.probs[label] for t, a in answers.items()}
    o = np.array([answers[t].probs for t in job.texts])
    reference = job.large.fit(job.masks, o[:, label]).values
    n_units = len(job.segments)

    def oracle_fn(m):
        return np.array([known[t] for t in job.segments.render_many(m)])

    def score(attribution, n):
        fitted = set(job.segments.render_many(masks_of(job.method, n_units, n, job.seed)))
        held = np.array([t not in fitted for t in job.texts])
        y = np.array([known[t] for t, h in zip(job.texts, held) if h])
        lf = local_fidelity(attribution, job.masks[held], y, job.large.kernel(job.masks)[held])
        return lf, float(np.corrcoef(attribution.values, reference)[0, 1])

    for n in job.ns:
        alone = make_explainer(job.method, samples=n, seed=job.seed).explain(n_units, oracle_fn)
        prior_rows[job.method, n, "oracle alone"].append(score(alone, n))
    for scorer in scorers:
        started = time.perf_counter()
        p = np.array([a.probs for a in scorer.model.predict(job.texts)])
        r = rows[scorer.name, job.method]
        r["seconds"].append(time.perf_counter() - started)
        r["answers"].append(len(job.texts))
        r["agree"].append(float(np.mean(p.argmax(1) == o.argmax(1))))
        r["rho"].append(float(np.corrcoef(p[:, label], o[:, label])[0, 1]) if np.std(p[:, label]) > 0 else 0.0)
        r["r"].append(float(np.corrcoef(job.large.fit(job.masks, p[:, label]).values, reference)[0, 1]))
        r["gate"].append(int(p[0].argmax() == label))
        said = {t: row[label] for t, row in zip(job.texts, p)}

        def proxy_fn(m, scorer=scorer, said=said):
            asked = job.segments.render_many(m)
            new = [t for t in dict.fromkeys(asked) if t not in said]
            said.update({t: a.probs[label] for t, a in zip(new, scorer.model.predict(new))})
            return np.array([said[t] for t in asked])

        for n in job.ns:
            estimate, _ = explain_informed(job.method, n_units, oracle_fn, proxy_fn, samples=samples,
                                           oracle_samples=n, estimator="prior", seed=job.seed)
            prior_rows[job.method, n, f"prior: {scorer.name}"].append(score(estimate, n))


def report(rows, prior_rows, pairs: int, samples: int, distill: int) -> None:
    print(f"\n{pairs} (method, instance) pairs, {samples} samples, {distill} distillation texts; "
          "mean over instances (min..max)\n")
    print("| proxy | method | label agreement | rho, p(oracle's label) | r, explanations | gate | answers/s |")
    print("|---|---|---|---|---|---|---|")
    for (name, method), r in rows.items():
        a, rho = np.array(r["agree"]), np.array(r["rho"])
        speed = sum(r["answers"]) / sum(r["seconds"])
        print(f"| {name} | {method} | {a.mean():.3f} ({a.min():.2f}..{a.max():.2f}) | {rho.mean():.3f} "
              f"({rho.min():.2f}..{rho.max():.2f}) | {np.mean(r['r']):.3f} | {sum(r['gate'])}/{len(r['gate'])} "
              f"| {speed:.0f} |")
    print(f"\nThe prior estimator at n oracle answers: local fidelity (weighted R^2 on the masks at {samples} it "
          f"did not fit) and r with the oracle's own explanation at {samples}; mean over instances\n")
    print("| method | n | estimator | local fidelity | r with the oracle at N | instances |")
    print("|---|---|---|---|---|---|")
    for (method, n, name), scores in sorted(prior_rows.items()):
        lf = [s[0] for s in scores if s[0] is not None]
        print(f"| {method} | {n} | {name} | {np.mean(lf):.3f} | {np.mean([s[1] for s in scores]):.3f} "
              f"| {len(scores)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="configs/bench_fine_foods.yaml")
    ap.add_argument("--instances", type=int, default=4, help="the first N explained instances")
    ap.add_argument("--methods", default="lime,kernel_shap")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--distill", type=int, default=1000)
    ap.add_argument("--ns", default="25,50,100", help="oracle answers of the prior estimator")
    ap.add_argument("--oracle", action="store_true", help="pay the oracle's answers into the cache, then stop")
    args = ap.parse_args()

    with open(args.config, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    raw["proxies"] = proxies(args.distill)
    raw.pop("bench", None)
    config = parse_config(raw, source=args.config)
    session = open_session(config)
    oracle = session.oracle
    ns = [int(n) for n in args.ns.split(",")]
    jobs = [Job(m, x, instance_seed(config.seed, x.id), args.samples, ns)
            for m in args.methods.split(",") for x in load_instances(config)[: args.instances]]
    distilled = session.proxy("minilm-distilled").model
    teach = distillation_texts(distilled.train, args.distill, distilled.seed)

    if args.oracle:
        for job in jobs:
            started = time.perf_counter()
            oracle(job.asks, "prior-quality")
            print(f"{job.method} {job.id}: {session.ledger.total().paid.calls} paid so far, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        oracle(teach, "distill")
        print(f"distillation texts: {len(teach)}; {session.ledger.total().paid.calls} oracle calls paid")
        session.close()
        return

    def cached(texts: list[str]) -> dict:
        found = session.cache.get_many(oracle.fingerprint, texts)
        return found if len(found) == len(set(texts)) else {}

    if not cached(teach):
        sys.exit(f"the oracle's answers to the {len(teach)} distillation texts are not all cached; "
                 "run with --oracle first (under flock /tmp/proxyx-gemma.lock)")
    for scorer in session.proxies:
        started = time.perf_counter()
        scorer.setup()  # the distilled ones read their teacher's answers from the cache
        print(f"{scorer.name}: fitted in {time.perf_counter() - started:.1f} s", flush=True)
    rows, prior_rows, pairs = defaultdict(lambda: defaultdict(list)), defaultdict(list), 0
    for job in jobs:
        answers = cached(job.asks)
        if not answers:
            print(f"skipped {job.method} {job.id}: its masks are not all in the cache")
            continue
        measure(job, answers, session.proxies, rows, prior_rows, args.samples)
        pairs += 1
    report(rows, prior_rows, pairs, args.samples, args.distill)
    session.close()


if __name__ == "__main__":
    main()

"""The retrieval benchmark of ``proxyx influence CONFIG`` ("Select or project", arXiv 2601.16651, offline).

Each source is a training review; each setting alters it into a query
(``proxyx.influence.queries``) whose label is the source's, or, in the hard
setting, the oracle's own prediction. BM25 proposes ``candidates`` training
reviews; a method is right when the source scores highest among them. The
sources are split once, seeded, into dev and test: greedy selection sees
the dev queries only, and every method is reported on the test queries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..results.influence import InfluenceBench, MethodScore, SettingInfo
from .context import InfluenceContext, open_influence
from .engine import PURPOSE, ROLE, GradientEngine
from .gradients import Example
from .queries import BM25Index, alter, load_synonyms
from .scoring import Stats, component_cosines, correct, select_then_test, sketch_cosines, wilson
from .timing import component_seconds

OnProgress = Callable[[str, int, int], None]


@dataclass
class Setting:
    name: str
    description: str
    strength: float
    model_labels: bool
    texts: list[str]
    labels: list[str]
    candidates: list[list[int]]  # BM25's top k, train indices, best first


def _settings(ctx: InfluenceContext, sources: list[int]) -> list[Setting]:
    ic, seed = ctx.config.influence, ctx.config.seed
    synonyms = load_synonyms()
    index = BM25Index([x.text for x in ctx.train])
    gold = [str(ctx.train[i].label) for i in sources]
    out = []
    for s in sorted(set(ic.strengths)):
        texts = [alter(ctx.train[i].text, s, random.Random(f"{seed}:{s}:{i}"), synonyms) for i in sources]
        out.append(Setting(f"altered {s:g}", f"word dropout {s / 2:g}, WordNet synonyms {s:g}, adjacent swaps {s / 2:g}",
                           s, False, texts, gold, index.top(texts, ic.candidates)))
    if ic.hard:
        strong = out[-1]
        labels = ctx.oracle_labels(strong.texts)
        out.append(Setting(f"hard {strong.strength:g}", f"{strong.name}, labelled with the oracle's own prediction",
                           strong.strength, True, strong.texts, labels, strong.candidates))
    return out


def _gather(ctx: InfluenceContext, engine: GradientEngine, settings: list[Setting], sources: list[int],
            on_progress: OnProgress | None) -> dict[str, Stats]:
    """Gradient statistics of every setting's queries and candidates, source by source."""
    k, n_comp, dim = ctx.config.influence.candidates, len(engine.components), engine.sketch.dim if engine.sketch else 0
    arrays = {s.name: Stats(np.zeros((len(sources), k, n_comp)), np.zeros((len(sources), n_comp)),
                            np.zeros((len(sources), k, n_comp)), np.zeros((len(sources), dim)),
                            np.zeros((len(sources), k, dim)), np.full(len(sources), -1)) for s in settings}
    for p, src in enumerate(sources):
        examples: dict[Example, int] = {}
        pairs, where = [], []
        for s in settings:
            q = examples.setdefault(Example(s.texts[p], s.labels[p]), len(examples))
            for j, c in enumerate(s.candidates[p]):
                ci = examples.setdefault(ctx.example(ctx.train[c]), len(examples))
                pairs.append((q, ci))
                where.append((s.name, q, j, ci))
        ex_list = list(examples)
        on_progress and on_progress("gradients", p, len(sources))
        stats, dots = engine.compute(ex_list, pairs)
        for (name, q, j, ci), pair in zip(where, pairs):
            a = arrays[name]
            a.dots[p, j], a.cn[p, j], a.cs[p, j] = dots[pair], stats[ci].norms, stats[ci].sketch
            a.qn[p], a.qs[p] = stats[q].norms, stats[q].sketch
        for s in settings:
            texts = [ctx.train[c].text for c in s.candidates[p]]
            arrays[s.name].truth[p] = texts.index(ctx.train[src].text) if ctx.train[src].text in texts else -1
    on_progress and on_progress("gradients", len(sources), len(sources))
    return arrays


def _score(setting: str, method: str, representation: str, ok: np.ndarray, *, params: int, seconds: float | None,
           components: list[str] | None = None, dims: int | None = None) -> MethodScore:
    k, n = int(ok.sum()), len(ok)
    low, high = wilson(k, n)
    return MethodScore(setting=setting, method=method, representation=representation, components=components, dims=dims,
                       params=params, correct=k, n=n, accuracy=k / n if n else 0.0, low=low, high=high,
                       seconds_per_example=seconds)


def _evaluate(ctx: InfluenceContext, engine: GradientEngine, name: str, stats: Stats, dev: np.ndarray,
              test: np.ndarray, timings: dict) -> tuple[list[MethodScore], list[str]]:
    ic, comps = ctx.config.influence, engine.components
    sizes = ctx.model.sizes()
    total = sum(sizes.values())
    t = stats.subset(test)
    grad_s, sketch_s = timings["full"], timings["sketch"]
    out = [_score(name, "bm25", "BM25 rank", t.truth == 0, params=0, seconds=None)]
    found = int((t.truth >= 0).sum())
    lo, hi = wilson(found, len(test))
    k = t.dots.shape[1]
    out.append(MethodScore(setting=name, method="random", representation=f"random among {k}", params=0,
                           correct=found / k, n=len(test), accuracy=found / k / len(test), low=lo / k, high=hi / k))
    out.append(_score(name, "full", "full gradient", correct(component_cosines(t, np.ones(len(comps))), t.truth),
                      params=total, seconds=grad_s))
    for d in sorted(ic.dims):
        out.append(_score(name, "projection", f"CountSketch d={d}",
                          correct(sketch_cosines(t, d), t.truth), params=total, seconds=grad_s + sketch_s, dims=d))
    chosen, ok = select_then_test(stats, dev, test, ic.max_components)
    names = [comps[c] for c in chosen]
    out.append(_score(name, "greedy", f"{len(chosen)} selected component{'s' * (len(chosen) != 1)}",
                      ok, params=sum(sizes[n] for n in names),
                      seconds=component_seconds(ctx, names, timings), components=names))
    rng = np.random.default_rng(ctx.config.seed)
    accs, params = [], []
    for _ in range(ic.random_draws):
        m = np.zeros(len(comps))
        picked = rng.choice(len(comps), size=len(chosen), replace=False)
        m[picked] = 1.0
        accs.append(correct(component_cosines(t, m), t.truth).mean())
        params.append(sum(sizes[comps[c]] for c in picked))
    mean = float(np.mean(accs))
    out.append(MethodScore(setting=name, method="random_components",
                           representation=f"{len(chosen)} random component{'s' * (len(chosen) != 1)} "
                                          f"(mean of {ic.random_draws} draws)",
                           params=round(float(np.mean(params))), correct=mean * len(test), n=len(test), accuracy=mean,
                           low=float(np.percentile(accs, 2.5)), high=float(np.percentile(accs, 97.5))))
    return out, names


def run_influence_bench(config: Config, *, on_progress: OnProgress | None = None) -> InfluenceBench:
    """Run the benchmark (every gradient through the store and the ledger) and return its report."""
    start = time.monotonic()
    ctx = open_influence(config)
    try:
        ic = config.influence
        if ic.sources > len(ctx.train):
            ic = ic.model_copy(update={"sources": len(ctx.train)})
        order = list(range(len(ctx.train)))
        random.Random(config.seed).shuffle(order)
        sources = order[: ic.sources]
        n_dev = min(max(round(ic.dev_fraction * len(sources)), 1), len(sources) - 1)
        dev, test = np.arange(n_dev), np.arange(n_dev, len(sources))
        on_progress and on_progress("queries", 0, 1)
        settings = _settings(ctx, sources)
        engine = GradientEngine(model=ctx.model, store=ctx.store, ledger=ctx.ledger, components=ctx.components(None),
                                sketch_dim=max(ic.dims), seed=config.seed)
        arrays = _gather(ctx, engine, settings, sources, on_progress)
        timings = _timings(arrays, engine)
        scores, infos = [], []
        for s in settings:
            rows, chosen = _evaluate(ctx, engine, s.name, arrays[s.name], dev, test, timings)
            scores += rows
            truth = arrays[s.name].truth[test]
            gold = [str(ctx.train[i].label) for i in sources]
            infos.append(SettingInfo(name=s.name, description=s.description, strength=s.strength,
                                     model_labels=s.model_labels, queries=len(sources), test_queries=len(test),
                                     recall_at_k=float((truth >= 0).mean()),
                                     labels_changed=sum(a != b for a, b in zip(s.labels, gold)), selected=chosen))
        return InfluenceBench(model=ctx.model.name, training_examples=len(ctx.train), candidates=ic.candidates,
                              dev_sources=len(dev), test_sources=len(test), components=len(engine.components),
                              parameters=sum(ctx.model.sizes().values()), seed=config.seed, settings=infos,
                              scores=scores, cost=ctx.ledger.total(role=ROLE, purpose=PURPOSE),
                              oracle_cost=ctx.ledger.total(role="oracle"), wall_seconds=time.monotonic() - start)
    finally:
        ctx.close()


def _timings(arrays: dict[str, Stats], engine: GradientEngine) -> dict:
    """Median seconds of one full backward pass and of one projection, over the examples of this run."""
    recs = list(engine.seen_stats.values())
    return {"full": float(np.median([r.seconds for r in recs])) if recs else 0.0,
            "sketch": float(np.median([r.sketch_seconds for r in recs])) if recs else 0.0}

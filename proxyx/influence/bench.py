"""The retrieval benchmark of ``proxyx influence CONFIG`` ("Select or project", arXiv 2601.16651, offline).

Each source is a training review; each setting turns it into a query that
says the same thing in other words:

- ``wordnet``: most content words replaced by WordNet synonyms (``queries.synonymize``);
- ``wordnet_reordered``: the same words with the clauses in another order (same BM25 candidates);
- ``gemma``: the embedded Gemma's paraphrase, kept only when it keeps the meaning (``paraphrase``);
- ``gemma_oracle_label``: that paraphrase with the oracle's own label as the loss target
  (the analogue of the paper's model-generated responses).

The query's loss target is the source's label (the oracle's in the last
setting). BM25 proposes ``candidates`` training reviews; when the source is
not among them it replaces the last one, as the published code does, and
BM25's recall is reported apart. A method ranks the candidates by cosine;
it is scored by top-1, top-5, and top-1 among BM25's first five (the
published protocol). The sources are split once, seeded, into dev and test:
greedy selection sees the dev queries only, every figure is on test queries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..config import Config
from ..errors import BudgetExceeded, DataError
from ..results.influence import FilterCounts, InfluenceBench, MethodScore, SettingInfo
from .context import InfluenceContext, open_influence
from .engine import PURPOSE, ROLE, GradientEngine, component_seconds
from .gradients import Example
from .paraphrase import gemma_paraphrases
from .queries import BM25Index, rule_paraphrases
from .scoring import Stats, component_cosines, correct, ranks, select_then_test, sketch_cosines, top5_of_bm25, wilson

OnProgress = Callable[[str, int, int], None]

DESCRIPTIONS = {
    "wordnet": "WordNet synonyms for {rate:.0%} of the content words that have one",
    "wordnet_reordered": "the same synonyms, clauses in another order",
    "gemma": "Gemma 3 270M's paraphrase, kept when it keeps the meaning",
    "gemma_oracle_label": "Gemma's kept paraphrase, labelled with the oracle's own prediction",
}


@dataclass
class Setting:
    name: str
    texts: list[str | None]  # per source; None: no query in this setting
    labels: list[str]
    candidates: list[list[int]]  # BM25's top k, train indices, best first, the source put in last if missing
    found: list[bool]  # BM25 found the source by itself


def _candidates(index: BM25Index, texts: list[str | None], sources: list[int], k: int) -> tuple[list, list]:
    top = index.top([t or "" for t in texts], k)
    found = [src in row for src, row in zip(sources, top)]
    return [row if ok else row[:-1] + [src] for row, ok, src in zip(top, found, sources)], found


def _settings(ctx: InfluenceContext, sources: list[int]) -> tuple[list[Setting], FilterCounts | None]:
    ic, seed = ctx.config.influence, ctx.config.seed
    texts = [x.text for x in ctx.train]
    index = BM25Index(texts)
    src = [texts[i] for i in sources]
    gold = [str(ctx.train[i].label) for i in sources]
    made: dict[str, list[str | None]] = dict(rule_paraphrases(texts, sources, ic.synonym_rate, seed))
    counts = None
    if {"gemma", "gemma_oracle_label"} & set(ic.settings):
        made["gemma"], counts = gemma_paraphrases(ctx, src, min_similarity=ic.min_similarity,
                                                  max_overlap=ic.max_overlap)
    out = []
    for name in ic.settings:
        qs = made["gemma" if name == "gemma_oracle_label" else name]
        labels = list(gold)
        if name == "gemma_oracle_label":
            have = [p for p, t in enumerate(qs) if t is not None]
            for p, lab in zip(have, ctx.oracle_labels([qs[p] for p in have])):
                labels[p] = lab
        cands, found = _candidates(index, qs, sources, ic.candidates)
        out.append(Setting(name, qs, labels, cands, found))
    ctx.close()  # the oracle is done: free its memory before the gradients
    return out, counts


def _source(ctx: InfluenceContext, settings: list[Setting], arrays: dict[str, Stats], p: int, src: int
            ) -> tuple[list[Example], list[tuple[int, int]], list[tuple[str, int, int, int]]]:
    """Source ``p``'s examples (its queries, then their candidates), the (query, candidate) pairs and where each
    pair's figures go; records where the source is among each setting's candidates."""
    examples: dict[Example, int] = {}
    pairs, where = [], []
    for s in (s for s in settings if s.texts[p] is not None):
        q = examples.setdefault(Example(s.texts[p], s.labels[p]), len(examples))
        for j, c in enumerate(s.candidates[p]):
            ci = examples.setdefault(ctx.example(ctx.train[c]), len(examples))
            pairs.append((q, ci))
            where.append((s.name, q, j, ci))
        arrays[s.name].truth[p] = s.candidates[p].index(src)
    return list(examples), pairs, where


def _compute_here(engine: GradientEngine, work: list, on_progress: OnProgress | None) -> Iterator:
    """Each source's (stats, inner products) in this process, one source at a time."""
    for p, (examples, pairs) in enumerate(work):
        on_progress and on_progress("gradients", p, len(work))
        yield engine.compute(examples, pairs)


def _gather(ctx: InfluenceContext, engine: GradientEngine, settings: list[Setting], sources: list[int],
            on_progress: OnProgress | None) -> dict[str, Stats]:
    """Gradient statistics of every setting's queries and candidates, source by source (on the cluster's workers
    with ``engine.kind: ray``)."""
    k, n_comp, dim = ctx.config.influence.candidates, len(engine.components), engine.sketch.dim if engine.sketch else 0
    n = len(sources)
    arrays = {s.name: Stats(np.zeros((n, k, n_comp)), np.zeros((n, n_comp)), np.zeros((n, k, n_comp)),
                            np.zeros((n, dim), np.float16), np.zeros((n, k, dim), np.float16), np.full(n, -1))
              for s in settings}
    work = [_source(ctx, settings, arrays, p, src) for p, src in enumerate(sources)]
    if ctx.config.engine.kind == "ray":
        from .sharded import compute_on_cluster

        results = compute_on_cluster(ctx, engine, [str(ctx.train[src].id) for src in sources],
                                     [(examples, pairs) for examples, pairs, _ in work], on_progress)
    else:
        results = _compute_here(engine, [(examples, pairs) for examples, pairs, _ in work], on_progress)
    for p, ((_, pairs, where), (stats, dots)) in enumerate(zip(work, results)):
        for (name, q, j, ci), pair in zip(where, pairs):
            a = arrays[name]
            a.dots[p, j], a.cn[p, j], a.cs[p, j] = dots[pair], stats[ci].norms, stats[ci].sketch
            a.qn[p], a.qs[p] = stats[q].norms, stats[q].sketch
    on_progress and on_progress("gradients", n, n)
    return arrays


def _score(setting: str, method: str, representation: str, scores: np.ndarray, truth: np.ndarray, *,
           params: int, seconds: float | None, components: list[str] | None = None,
           dims: int | None = None) -> MethodScore:
    r = ranks(scores, truth)
    k, n = int((r == 0).sum()), len(r)
    low, high = wilson(k, n)
    five = correct(*top5_of_bm25(scores, truth))
    return MethodScore(setting=setting, method=method, representation=representation, components=components, dims=dims,
                       params=params, n=n, top1=k / n, low=low, high=high, top5=float((r < 5).mean()),
                       top1_of_5=float(five.mean()), seconds_per_example=seconds)


def _evaluate(ctx: InfluenceContext, engine: GradientEngine, name: str, stats: Stats, dev: np.ndarray,
              test: np.ndarray, timings: dict) -> tuple[list[MethodScore], list[str]]:
    ic, comps = ctx.config.influence, engine.components
    sizes = ctx.model.sizes()
    total = sum(sizes.values())
    t = stats.subset(test)
    q, k = t.dots.shape[:2]
    grad_s, sketch_s = timings["full"], timings["sketch"]
    bm25 = np.tile(-np.arange(k, dtype=float), (q, 1))
    out = [_score(name, "bm25", "BM25 rank", bm25, t.truth, params=0, seconds=None)]
    out.append(MethodScore(setting=name, method="random", representation=f"random among {k}", params=0, n=q,
                           top1=1 / k, low=1 / k, high=1 / k, top5=min(5 / k, 1.0), top1_of_5=0.2))
    out.append(_score(name, "full", "full gradient", component_cosines(t, np.ones(len(comps))), t.truth,
                      params=total, seconds=grad_s))
    for d in sorted(ic.dims):
        out.append(_score(name, "projection", f"CountSketch d={d}", sketch_cosines(t, d), t.truth,
                          params=total, seconds=grad_s + sketch_s, dims=d))
    chosen, _ = select_then_test(stats, dev, test, ic.max_components)
    names = [comps[c] for c in chosen]
    mask = np.zeros(len(comps))
    mask[chosen] = 1.0
    out.append(_score(name, "greedy", f"{len(chosen)} selected component{'s' * (len(chosen) != 1)}",
                      component_cosines(t, mask), t.truth, params=sum(sizes[n] for n in names),
                      seconds=component_seconds(ctx, names, timings), components=names))
    rng = np.random.default_rng(ctx.config.seed)
    draws = []
    for _ in range(ic.random_draws):
        m = np.zeros(len(comps))
        m[rng.choice(len(comps), size=len(chosen), replace=False)] = 1.0
        draws.append(_score(name, "random_components", "", component_cosines(t, m), t.truth,
                            params=int(sum(sizes[c] for c, on in zip(comps, m) if on)), seconds=None))
    top1 = [d.top1 for d in draws]
    out.append(MethodScore(setting=name, method="random_components",
                           representation=f"{len(chosen)} random component{'s' * (len(chosen) != 1)} "
                                          f"(mean of {ic.random_draws} draws)",
                           params=round(float(np.mean([d.params for d in draws]))), n=q, top1=float(np.mean(top1)),
                           low=float(np.percentile(top1, 2.5)), high=float(np.percentile(top1, 97.5)),
                           top5=float(np.mean([d.top5 for d in draws])),
                           top1_of_5=float(np.mean([d.top1_of_5 for d in draws]))))
    return out, names


def run_influence_bench(config: Config, *, on_progress: OnProgress | None = None) -> InfluenceBench:
    """Run the benchmark (every gradient through the store and the ledger) and return its report.

    Stopped by ``max_usd`` (the oracle's paraphrases and labels are its only paid calls), it returns a
    ``stopped_budget`` report with what was paid; the paid calls are cached for the next run. With
    ``engine.kind: ray`` the cluster is reached first: one that cannot be reached is reported before anything
    is paid.
    """
    if config.engine.kind == "ray":
        from ..engine.cluster import connected

        with connected(config.engine):
            return _run_bench(config, on_progress)
    return _run_bench(config, on_progress)


def _run_bench(config: Config, on_progress: OnProgress | None) -> InfluenceBench:
    start = time.monotonic()
    ctx = open_influence(config)
    try:
        ic = config.influence
        if len(ctx.train) < ic.candidates:
            raise DataError(f"influence.candidates is {ic.candidates} but only {len(ctx.train)} training examples have "
                            f"{ic.min_words}-{ic.max_words} words; lower influence.candidates or raise max_words")
        order = list(range(len(ctx.train)))
        random.Random(config.seed).shuffle(order)
        sources = order[: min(ic.sources, len(ctx.train))]
        n_dev = min(max(round(ic.dev_fraction * len(sources)), 1), len(sources) - 1)
        on_progress and on_progress("queries", 0, 1)
        head = dict(model=ctx.model.name, training_examples=len(ctx.train), candidates=ic.candidates,
                    dev_sources=n_dev, test_sources=len(sources) - n_dev, seed=config.seed)
        try:
            settings, counts = _settings(ctx, sources)  # the only paid step: the oracle's paraphrases and labels
        except BudgetExceeded as e:
            return InfluenceBench(**head, status="stopped_budget", stop_reason=str(e), settings=[], scores=[],
                                  cost=ctx.ledger.total(role=ROLE, purpose=PURPOSE),
                                  oracle_cost=ctx.ledger.total(role="oracle"), wall_seconds=time.monotonic() - start)
        engine = GradientEngine(model=ctx.model, store=ctx.store, ledger=ctx.ledger, components=ctx.components(None),
                                sketch_dim=max(ic.dims), seed=config.seed)
        arrays = _gather(ctx, engine, settings, sources, on_progress)
        recs = list(engine.seen_stats.values())
        timings = {"full": float(np.median([r.seconds for r in recs])),
                   "sketch": float(np.median([r.sketch_seconds for r in recs]))}
        scores, infos = [], []
        for s in settings:
            have = np.array([t is not None for t in s.texts])
            dev, test = np.flatnonzero(have[:n_dev]), n_dev + np.flatnonzero(have[n_dev:])
            rows, chosen = _evaluate(ctx, engine, s.name, arrays[s.name], dev, test, timings) if len(dev) and len(
                test) else ([], [])  # e.g. no Gemma paraphrase kept: the setting is listed, not scored
            scores += rows
            gold = [str(ctx.train[i].label) for i in sources]
            infos.append(SettingInfo(name=s.name, description=DESCRIPTIONS[s.name].format(rate=ic.synonym_rate),
                                     model_labels=s.name == "gemma_oracle_label", queries=int(have.sum()),
                                     test_queries=len(test),
                                     bm25_recall=float(np.mean([s.found[p] for p in test])) if len(test) else 0.0,
                                     labels_changed=sum(a != b for a, b, h in zip(s.labels, gold, have) if h),
                                     selected=chosen))
        return InfluenceBench(**head, components=len(engine.components),
                              parameters=sum(ctx.model.sizes().values()), settings=infos,
                              scores=scores, paraphrases=counts, cost=ctx.ledger.total(role=ROLE, purpose=PURPOSE),
                              oracle_cost=ctx.ledger.total(role="oracle"),
                              peak_rss_gb=max(r.rss_gb for r in recs),
                              seconds_per_1000=1000 * float(np.mean([r.seconds + r.sketch_seconds for r in recs])),
                              wall_seconds=time.monotonic() - start)
    finally:
        ctx.close()

"""Speed of explaining generated answers on the embedded Gemma (issue 11): prints every figure it measures.

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/gen_speed.py [--questions 3] [--documents 6]
        [--words 120] [--masks 64] [--flat 64,128,256,512] [--top 3] [--threads 1]

On the Debian FAQ questions (``dataset.name: debian_faq``; each context is the
question's answer section among its neighbours, ``--documents`` passages of
``--words`` words), with ``value: answer_logprob`` and the default QA prompt:

1. calls/s with and without prefix ordering (Kernel SHAP word masks of the
   whole context, each run on a fresh cache), and tokens evaluated per call;
2. decodes saved by decoded-output reuse (``answer_match``, document-level
   exact Shapley and the word masks of 1.), with identical values checked;
3. time and calls per explanation by level of the hierarchy
   document > sentence > word (top-1 refined at each level);
4. the budget a flat word-level Kernel SHAP explanation needs to find the same
   top-``--top`` words as the hierarchy (budgets ``--flat``);
5. a lexical proxy (``AnswerOverlap``: share of the answer's words in the kept
   context, no model call): its correlation with the oracle's values, and the
   proxy-informed estimators with it at ``--masks`` oracle calls against the
   oracle alone at the same calls, both scored against the flat explanation at
   the largest budget.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from proxyx.cache import CallCache
from proxyx.config import GenTask, ModelConfig
from proxyx.explain import instance_seed
from proxyx.explainers.hierarchy import HierarchicalExplainer
from proxyx.explainers import make_explainer
from proxyx.explainers.estimators import explain_informed
from proxyx.fidelity import agreement
from proxyx.generation import AnswerMatch, AnswerOverlap, Generator, make_value
from proxyx.generation.data import faq_instances
from proxyx.models.llamacpp import LlamaCppModel
from proxyx.ledger import Ledger
from proxyx.perturb import ContextSegments

TASK = GenTask(instruction="Answer the question in one short sentence, using the context.", max_tokens=24)


def fresh(backend: LlamaCppModel, order: bool = True) -> Generator:
    return Generator(backend, cache=CallCache(Path(tempfile.mkdtemp(prefix="gen_speed_"))), ledger=Ledger(), order=order)


def setup(x, unit="word"):
    segs = ContextSegments(x.documents, unit=unit, separator=TASK.separator)
    words = ContextSegments(x.documents, unit="word", separator=TASK.separator)
    render = lambda m: TASK.prompt(words.render_words(m), x.question)  # noqa: E731 (a word mask -> prompt)
    return segs, words, render


def topk(values: np.ndarray, k: int) -> set[int]:
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=-np.inf)
    return set(np.argsort(-v, kind="stable")[:k].tolist())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=3)
    ap.add_argument("--documents", type=int, default=6)
    ap.add_argument("--words", type=int, default=120)
    ap.add_argument("--masks", type=int, default=64)
    ap.add_argument("--flat", default="64,128,256,512")
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parts", default="1,2,3", help="which measurements: 1, 2, 3 (3 includes 4 and 5)")
    args = ap.parse_args()
    rows = faq_instances(documents=args.documents, document_words=args.words, seed=args.seed)
    rows = [rows[i] for i in np.random.default_rng(args.seed).permutation(len(rows))[: args.questions]]
    backend = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=TASK, n_threads=args.threads)
    print(f"gen_speed: {len(rows)} Debian FAQ questions, {args.documents} passages x <= {args.words} words, "
          f"Gemma 3 270M, n_threads={args.threads}, block={backend.block}, max_tokens={TASK.max_tokens}")

    # answers (cached for everything below)
    base = fresh(backend)
    answers = {}
    for x in rows:
        _, words, render = setup(x)
        p = render(np.ones(len(words.all_words), bool))
        answers[x.id] = base.answer([p])[0].text
        print(f"  {x.id}: {base.check_fits(p)} prompt tokens, {len(words.all_words)} words; answer {answers[x.id].strip()!r}")

    parts = {int(p) for p in args.parts.split(",")}
    if 1 in parts:
        ordering(backend, rows, answers, args)
    if 2 in parts:
        reuse(backend, rows, answers, args)
    if 3 in parts:
        hierarchy(backend, rows, answers, args)
    backend.close()


def ordering(backend, rows, answers, args) -> None:
    print(f"\n1. calls/s, answer_logprob on {args.masks} Kernel SHAP word masks per question (fresh cache each)")
    for order in (True, False):
        g = fresh(backend, order=order)
        before, t0, calls = backend.evaluated_, time.perf_counter(), 0
        for x in rows:
            _, words, render = setup(x)
            masks = make_explainer("kernel_shap", samples=args.masks, seed=args.seed).sample_masks(len(words.all_words))
            make_value("answer_logprob", g, render, answers[x.id])(masks)
            calls += len(masks)
        dt = time.perf_counter() - t0
        print(f"   ordered={order!s:5}  {calls} teacher-forced calls in {dt:.1f} s = {calls / dt:.2f} calls/s; "
              f"{(backend.evaluated_ - before) / calls:.0f} tokens evaluated per call")



def reuse(backend, rows, answers, args) -> None:
    print("\n2. answer_match (token F1) with decoded-output reuse vs without")
    for unit, masks_of in (("document", None), ("word", args.masks)):
        tot = {True: [0, 0, 0.0], False: [0, 0, 0.0]}
        same = True
        for x in rows:
            segs, words, render = setup(x, unit)
            masks = (make_explainer("kernel_shap", samples=2 ** len(segs), seed=0).sample_masks(len(segs))
                     if masks_of is None else make_explainer("kernel_shap", samples=masks_of, seed=args.seed)
                     .sample_masks(len(segs)))
            wmasks = np.array([segs.words(m) for m in masks])
            vals = {}
            for reuse in (True, False):
                g = fresh(backend)
                g.answer([render(np.ones(len(words.all_words), bool))])
                v = AnswerMatch(g, render, answers[x.id], reuse=reuse)
                t0 = time.perf_counter()
                vals[reuse] = v(wmasks)
                tot[reuse][0] += v.stats.decodes
                tot[reuse][1] += v.stats.saved
                tot[reuse][2] += time.perf_counter() - t0
            same &= bool(np.array_equal(vals[True], vals[False]))
        n_masks = tot[False][0]
        print(f"   {unit:8}: {n_masks} masks; decodes with reuse {tot[True][0]} (saved {tot[True][1]}, "
              f"{tot[True][1] / max(1, n_masks):.0%}), without {tot[False][0]}; "
              f"{tot[True][2]:.1f} s vs {tot[False][2]:.1f} s; identical values: {same}")



def hierarchy(backend, rows, answers, args) -> None:
    budgets = [int(b) for b in args.flat.split(",")]
    print(f"\n3. hierarchy document > sentence > word (Kernel SHAP; budget per level 64, 64, {args.masks}; top-1 refined)")
    g = fresh(backend)
    need, refs = [], {}
    for x in rows:
        _, words, render = setup(x)
        levels = [ContextSegments(x.documents, unit=u, separator=TASK.separator) for u in ("document", "sentence", "word")]
        value = make_value("answer_logprob", g, render, answers[x.id])
        snaps = [g.ledger.total().nominal.calls]
        res = HierarchicalExplainer(method="kernel_shap", samples=[64, 64, args.masks], top_k=1,
                                    seed=instance_seed(args.seed, x.id)).explain(
            levels, value, len(words.all_words), on_level=lambda i, r: snaps.append(g.ledger.total().nominal.calls))
        spent = int(snaps[-1] - snaps[0])
        parts = ", ".join(f"{r.unit} {len(r.active)} units {snaps[i + 1] - snaps[i]} calls {r.seconds:.1f} s"
                          + (" exact" if r.exact else "") for i, r in enumerate(res))
        print(f"   {x.id}: {parts}; total {spent} calls")
        hier_top = topk(res[-1].values(len(words.all_words)), args.top)
        flat_need, jac = None, []
        for b in budgets:
            flat = make_explainer("kernel_shap", samples=b, seed=instance_seed(args.seed, x.id)).explain(
                len(words.all_words), value)
            t = topk(flat.values, args.top)
            jac.append(len(t & hier_top) / len(t | hier_top))
            if flat_need is None and t == hier_top:
                flat_need = b
        need.append((spent, flat_need))
        refs[x.id] = flat.values  # the largest flat budget: the reference of part 5
        print(f"      top-{args.top} words {[words.all_words[i] for i in sorted(hier_top)]}; flat word-level "
              f"Jaccard with them at {budgets}: {[round(j, 2) for j in jac]}; same top-{args.top} first at "
              f"{flat_need if flat_need else f'> {budgets[-1]}'} calls")
    print("\n4. budget for the same top-k words: hierarchy vs flat word level")
    for (spent, flat_need), x in zip(need, rows):
        print(f"   {x.id}: hierarchy {spent} calls; flat {flat_need if flat_need else f'> {budgets[-1]}'} calls")

    print(f"\n5. lexical proxy (answer-word overlap) at word level: oracle n={args.masks}, proxy N={budgets[-1]}; "
          f"Spearman / top-{args.top} Jaccard with the flat explanation at {budgets[-1]} oracle calls")
    rows5 = {}
    for x in rows:
        _, words, render = setup(x)
        oracle = make_value("answer_logprob", g, render, answers[x.id])
        proxy = AnswerOverlap(words.render_words, answers[x.id])
        n, seed = len(words.all_words), instance_seed(args.seed, x.id)
        masks = make_explainer("kernel_shap", samples=args.masks, seed=seed).sample_masks(n)
        rho = float(np.corrcoef(oracle(masks), proxy(masks))[0, 1])
        alone = make_explainer("kernel_shap", samples=args.masks, seed=seed).explain(n, oracle)
        out = {"oracle alone": alone.values}
        for est in ("prior", "control_variate"):
            attr, _ = explain_informed("kernel_shap", n, oracle, proxy, samples=budgets[-1], oracle_samples=args.masks,
                                       estimator=est, seed=seed)
            out[est] = attr.values
        parts = []
        for name, v in out.items():
            a = agreement(refs[x.id], v, k=args.top)
            sp = np.nan if a["spearman"] is None else a["spearman"]
            rows5.setdefault(name, []).append((sp, a["topk_jaccard"]))
            parts.append(f"{name} {sp:.2f}/{a['topk_jaccard']:.2f}")
        print(f"   {x.id}: Pearson r(oracle, proxy) over {len(masks)} masks {rho:.2f}; " + "; ".join(parts))
    for name, vals in rows5.items():
        print(f"   mean {name}: Spearman {np.nanmean([v[0] for v in vals]):.2f}, top-{args.top} Jaccard "
              f"{np.mean([v[1] for v in vals]):.2f}")


if __name__ == "__main__":
    main()

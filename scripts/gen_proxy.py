"""Proxy-informed estimators for generated answers, at size: do they beat the oracle alone at equal oracle calls?

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/gen_proxy.py [--config configs/qa_generate.yaml]
        [--questions 8] [--budgets 32,64] [--proxy-samples 1000] [--reference 400] [--top 5]
        [--value answer_logprob_mean] [--json docs/tables/generate_estimators.json]

For the first ``--questions`` questions of the config's seeded order (its
data, task and value function; Debian FAQ in configs/qa_generate.yaml), the oracle
(the config's, embedded Gemma) answers; the document level is explained
exactly (every coalition) and the top document's words are the word level,
the rest of the context held as in the full input (as ``proxyx explain``
does). At the word level it prints, per oracle budget n:

* the oracle alone (Kernel SHAP, n unique masks);
* ``prior`` and ``control_variate`` with the lexical proxy
  (``local/answer-overlap``, no model call) at N = ``--proxy-samples`` masks
  and the oracle at n of them;

each scored against the oracle's own explanation at ``--reference`` masks
(another seed): Spearman, top-``--top`` Jaccard and relative L2 error, with
the paired differences estimator - oracle alone and their 95% t intervals. All
calls go through the config's cache: a rerun pays nothing. ``--value``
replaces the config's value function (``answer_logprob_mean``: the same
teacher-forced scores, so the same cache entries).

The JSON (``--json``)::

    {"config": "...", "value": "...", "questions": 8, "reference": 300, "proxy_samples": 1000, "top": 5,
     "mean_r_oracle_proxy": .., "constant_proxy": .., "oracle_calls_paid": ..,
     "budgets": {"32": {"oracle alone": {"spearman": .., "topk_jaccard": .., "rel_l2": ..},
                        "prior": {"spearman": .., "topk_jaccard": .., "rel_l2": ..,
                                  "spearman_diff": {"mean": .., "low": .., "high": ..},
                                  "rel_l2_diff": {...}}, "control_variate": {...}}, "64": {...}}}
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from proxyx.config import load_config
from proxyx.explain import instance_seed
from proxyx.explainers import explain_informed, make_explainer
from proxyx.explainers.hierarchy import on_spans, select
from proxyx.fidelity import agreement
from proxyx.generation.data import load_qa
from proxyx.generation.question import Question
from proxyx.generation.value import AnswerOverlap, make_value
from proxyx.runtime import open_runtime
from proxyx.perturb import ContextSegments
from proxyx.stats import mean_t

ESTIMATORS = ("prior", "control_variate")


def scores(ref: np.ndarray, v: np.ndarray, top: int) -> tuple[float, float, float]:
    a = agreement(ref, v, k=top)
    return (np.nan if a["spearman"] is None else a["spearman"], a["topk_jaccard"],
            float(np.linalg.norm(v - ref) / max(np.linalg.norm(ref), 1e-12)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/qa_generate.yaml")
    ap.add_argument("--questions", type=int, default=8)
    ap.add_argument("--budgets", default="32,64")
    ap.add_argument("--proxy-samples", type=int, default=1000)
    ap.add_argument("--reference", type=int, default=400)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--value", choices=["answer_logprob", "answer_logprob_mean", "answer_match"])
    ap.add_argument("--json", default=None, help="write the table here too (e.g. docs/tables/generate_estimators.json)")
    args = ap.parse_args()
    config = load_config(args.config)
    if args.value:
        config = config.model_copy(update={"explainer": config.explainer.model_copy(update={"value": args.value})})
    budgets = [int(b) for b in args.budgets.split(",")]
    rt = open_runtime(config)
    ledger = rt.ledger
    gen = rt.generator(config.oracle, config.task)
    rows = load_qa(config, every=True)[: args.questions]
    print(f"gen_proxy: {len(rows)} questions ({config.dataset.name}, {config.dataset.documents} passages x <= "
          f"{config.dataset.document_words} words), oracle {gen.name}, value {config.explainer.value}; word level of "
          f"the top passage; reference: the oracle at {args.reference} masks; proxy local/answer-overlap at "
          f"N = {args.proxy_samples}")
    table: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    rhos, started = [], time.perf_counter()
    for x in rows:
        t0, spent = time.perf_counter(), ledger.total().nominal.calls
        q = Question.ask(config, gen, x)
        value = make_value(config.explainer.value, gen, q.render, q.answer, match=config.explainer.match)
        proxy = AnswerOverlap(q.words.render_words, q.answer)
        n_words, seed = len(q.words.all_words), instance_seed(config.seed, x.id)
        doc_spans = list(ContextSegments(x.documents, unit="document", separator=config.task.separator).ranges)
        doc_attr = make_explainer("kernel_shap", samples=2 ** len(doc_spans), seed=seed).explain(
            len(doc_spans), on_spans(value, doc_spans, n_words))
        top_doc = int(select(doc_attr.values, 1)[0])
        a, b = doc_spans[top_doc]
        spans = [(i, i + 1) for i in range(a, b)]
        oracle_fn, proxy_fn = on_spans(value, spans, n_words), on_spans(proxy, spans, n_words)
        ref = make_explainer("kernel_shap", samples=args.reference, seed=seed + 7919).explain(len(spans), oracle_fn).values
        probe = make_explainer("kernel_shap", samples=budgets[-1], seed=seed).sample_masks(len(spans))
        yo, yp = oracle_fn(probe), proxy_fn(probe)
        rhos.append(float(np.corrcoef(yo, yp)[0, 1]) if np.std(yp) > 0 else np.nan)  # nan: the proxy is constant
        for n in budgets:
            alone = make_explainer("kernel_shap", samples=n, seed=seed).explain(len(spans), oracle_fn).values
            table.setdefault(("oracle alone", n), []).append(scores(ref, alone, args.top))
            for est in ESTIMATORS:
                attr, _ = explain_informed("kernel_shap", len(spans), oracle_fn, proxy_fn, samples=args.proxy_samples,
                                           oracle_samples=n, estimator=est, seed=seed)
                table.setdefault((est, n), []).append(scores(ref, attr.values, args.top))
        print(f"  {x.id}: {len(spans)} words in passage {top_doc}, r(oracle, proxy) {rhos[-1]:.2f}, "
              f"{ledger.total().nominal.calls - spent} oracle calls, {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nmean r(oracle, proxy) over the word masks: {np.nanmean(rhos):.2f}; {time.perf_counter() - started:.0f} s, "
          f"{ledger.total().paid.calls} oracle calls paid this run")
    print(f"\n| oracle calls n | method | Spearman | top-{args.top} Jaccard | rel. L2 error | "
          "Spearman - oracle alone [95% CI] | rel. L2 error - oracle alone [95% CI] |")
    print("|---|---|---|---|---|---|---|")
    out = {}
    for n in budgets:
        base = np.array(table[("oracle alone", n)])
        for name in ("oracle alone", *ESTIMATORS):
            s = np.array(table[(name, n)])
            row = {"spearman": float(np.nanmean(s[:, 0])), "topk_jaccard": float(np.mean(s[:, 1])),
                   "rel_l2": float(np.mean(s[:, 2]))}
            diffs = ["–", "–"]
            if name != "oracle alone":
                iv = [mean_t(list(np.nan_to_num(s[:, c] - base[:, c]))) for c in (0, 2)]
                diffs = [fmt(i) for i in iv]
                row |= {key: {"mean": i.estimate, "low": i.low, "high": i.high}
                        for key, i in zip(("spearman_diff", "rel_l2_diff"), iv)}
            out.setdefault(str(n), {})[name] = row
            print(f"| {n} | {name} | {row['spearman']:.2f} | {row['topk_jaccard']:.2f} | {row['rel_l2']:.2f} | "
                  f"{diffs[0]} | {diffs[1]} |")
    if args.json:
        doc = {"config": args.config, "value": config.explainer.value, "questions": len(rows),
               "reference": args.reference, "proxy_samples": args.proxy_samples, "top": args.top,
               "mean_r_oracle_proxy": float(np.nanmean(rhos)), "constant_proxy": int(np.isnan(rhos).sum()),
               "oracle_calls_paid": ledger.total().paid.calls, "budgets": out}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json}")
    gen.close()
    rt.close()


def fmt(i) -> str:
    return f"{i.estimate:+.2f} [{i.low:+.2f}, {i.high:+.2f}]" if i.low is not None else f"{i.estimate:+.2f}"


if __name__ == "__main__":
    main()

"""The task-level screen of a generation proxy, per answer token and summed: what each would decide; also as JSON.

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/gen_screen.py [configs/qa_generate_proxy.yaml]
        [--json docs/tables/generate_screen.json]

Screens the config's proxy on the first ``screen.max_instances`` screening
questions (those the config does not explain, in the data's seeded order),
every one of them, as ``proxyx screen`` does question by question
(``proxyx.generation.screen.screen_question``: the oracle explains level by
level, the proxy explains the same units with the same masks, both scored on
the oracle's values). The screen scores ``answer_logprob`` per answer token
(``answer_logprob_mean``); since a question's answer is fixed, the summed
value gives the same explanations scaled by the answer's token count, so each
question's summed d is its d times that count. The sequential rule
(``proxyx.screen.look``) is then replayed on both sequences: the decision
``proxyx screen`` makes now, and the one it made with summed values.

Prints, for each value: the decision, the questions it took, mean d and its
one-sided bounds, the range of d and the share of sum |d| held by the three
largest |d|; then per level the proxy's rank agreement with the oracle and
both AOPCs (per answer token). Every call goes through the config's cache.

The JSON (``--json``)::

    {"config": "...", "proxy": "...", "questions": 20, "tau": .., "confidence": .., "metric": "aopc",
     "answer_tokens": {"min": .., "median": .., "max": ..},
     "values": {"answer_logprob_mean": {"decision": .., "n": .., "mean_d": .., "lower": .., "upper": ..,
                                        "d_min": .., "d_max": .., "top3_share": ..},
                "answer_logprob": {...}},
     "levels": {"document": {"spearman_mean": .., "spearman_median": .., "topk_jaccard": .., "aopc_proxy": ..,
                             "aopc_oracle": ..}, "word": {...}},
     "gate_disagreements": .., "oracle_calls": .., "oracle_calls_paid": .., "wall_time_s": ..}
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from proxyx.config import load_config
from proxyx.generation.data import load_qa
from proxyx.generation.proxy import build_proxy
from proxyx.generation.question import Question
from proxyx.generation.screen import screen_question, screen_value, screening_questions
from proxyx.runtime import open_runtime
from proxyx.screen import screen_decision


def replay(d: list[float], config) -> dict:
    """The sequential rule over ``d`` in order, stopped at its decision."""
    record = screen_decision(d, config.screen)
    top = np.sort(np.abs(d))[::-1]
    return {"decision": record.decision, "n": record.n,
            "mean_d": record.mean_d, "lower": record.lower, "upper": record.upper, "d_min": float(min(d)),
            "d_max": float(max(d)), "top3_share": float(top[:3].sum() / max(top.sum(), 1e-12))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="configs/qa_generate_proxy.yaml")
    ap.add_argument("--json", default="docs/tables/generate_screen.json")
    args = ap.parse_args()
    config = load_config(args.config)
    started, sc = time.perf_counter(), config.screen
    rt = open_runtime(config)
    ledger = rt.ledger
    gen = rt.generator(config.oracle, config.task)
    proxy = build_proxy(config, rt)
    questions = screening_questions(config, {x.id for x in load_qa(config)})[: sc.max_instances]
    print(f"{args.config}: proxy {proxy.name} screened on {len(questions)} questions, explanations of "
          f"{config.explainer.value} scored as {screen_value(config.explainer.value)}; tau {sc.tau}, confidence "
          f"{sc.confidence}, metric {sc.metric}, min {sc.min_instances} / max {sc.max_instances} questions")
    got, tokens, disagreements = [], [], 0
    for i, x in enumerate(questions):
        t0 = time.perf_counter()
        inst = screen_question(config, gen, proxy, x)
        if inst is None:
            disagreements += 1
            continue
        got.append(inst)
        tokens.append(answer_tokens(config, gen, x, inst.answer))
        print(f"  {i + 1}. {x.id}: d {inst.d:+.3f} per token, {tokens[-1]} answer tokens, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    d_mean = [g.d for g in got]
    values = {screen_value("answer_logprob"): replay(d_mean, config),
              "answer_logprob": replay([d * n for d, n in zip(d_mean, tokens)], config)}
    levels = {}
    for unit in ("document", "sentence", "word"):
        lv = [lv for g in got for lv in g.levels if lv.unit == unit]
        if not lv:
            continue
        sp = [x.agreement.spearman for x in lv if x.agreement.spearman is not None]
        levels[unit] = {"spearman_mean": float(np.mean(sp)) if sp else None,
                        "spearman_median": float(np.median(sp)) if sp else None, "spearman_defined": len(sp),
                        "instances": len(lv), "topk_jaccard": float(np.mean([x.agreement.topk_jaccard for x in lv])),
                        "aopc_proxy": float(np.mean([x.q_proxy.aopc for x in lv])),
                        "aopc_oracle": float(np.mean([x.q_oracle.aopc for x in lv]))}
    oracle_cost = ledger.total(model=gen.name)
    table = {"config": args.config, "proxy": proxy.name, "questions": len(questions), "tau": sc.tau,
             "confidence": sc.confidence, "metric": sc.metric,
             "answer_tokens": {"min": int(min(tokens)), "median": float(np.median(tokens)), "max": int(max(tokens))},
             "values": values, "levels": levels, "gate_disagreements": disagreements,
             "oracle_calls": oracle_cost.nominal.calls, "oracle_calls_paid": oracle_cost.paid.calls,
             "wall_time_s": round(time.perf_counter() - started, 1)}
    gen.close()
    proxy.close()
    rt.close()
    print(f"\nanswers of {table['answer_tokens']['min']}-{table['answer_tokens']['max']} tokens (median "
          f"{table['answer_tokens']['median']:g}); {table['oracle_calls']:,} oracle calls ({table['oracle_calls_paid']:,} "
          f"paid this run), {table['wall_time_s']:.0f} s\n")
    print("| screened on | decision | questions | mean d | one-sided bounds | d range | share of sum abs(d) in top 3 |")
    print("|---|---|---|---|---|---|---|")
    for name, v in values.items():
        bounds = "–" if v["lower"] is None else f"[{v['lower']:+.3f}, {v['upper']:+.3f}]"
        print(f"| {name} | {v['decision']} | {v['n']} | {v['mean_d']:+.3f} | {bounds} | {v['d_min']:+.3f} to "
              f"{v['d_max']:+.3f} | {v['top3_share']:.0%} |")
    print("\n| level | Spearman mean (median) | top-k Jaccard | AOPC proxy | AOPC oracle (per answer token) |")
    print("|---|---|---|---|---|")
    for unit, v in levels.items():
        sp = "–" if v["spearman_mean"] is None else f"{v['spearman_mean']:.2f} ({v['spearman_median']:.2f})"
        print(f"| {unit} | {sp} | {v['topk_jaccard']:.2f} | {v['aopc_proxy']:.3f} | {v['aopc_oracle']:.3f} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten: {args.json}")


def answer_tokens(config, gen, x, answer: str) -> int:
    """Tokens of the oracle's answer (its teacher-forced score on the full input, from the cache)."""
    q = Question.ask(config, gen, x, purpose="screen")
    return len(gen.score([(q.prompt, answer)], "screen")[0].logprobs)


if __name__ == "__main__":
    main()

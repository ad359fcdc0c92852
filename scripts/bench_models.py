"""Calls per second of each local model through proxyx, next to the bare library, in one run.

The texts are real fine_foods test reviews and masked copies of them (random
words dropped), as an explainer sends them. For each model the table shows
``model.predict(texts)`` and the underlying library called directly on the
same texts; the ratio proxyx / raw is the framework overhead. For the Gemma
oracle the raw rows also show what KV-cache reuse buys:

  raw, task-prefix reuse   what proxyx does: the task prefix stays cached, the rest is one batch
  raw, longest-prefix      keep the longest common prefix of the previous prompt (faster, but
                           answers then depend on the order of calls; see models/llamacpp/model.py)
  raw, no reuse            every prompt evaluated from scratch

Usage: python scripts/bench_models.py [--config configs/quickstart.yaml] [--seed 0]
Runs in about 2 minutes on 2 cores (longer if the machine is busy: the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import numpy as np

from proxyx.config import FewShot, ModelConfig, TaskConfig, load_config
from proxyx.data import load_split
from proxyx.prompt import completion_prompt, prompt_prefix

DEFAULT_SHOTS = [FewShot(text="Delicious, my kids love it. Will buy again!", label="great"),
                 FewShot(text="Stale and tasteless. Waste of money.", label="other")]


def masked_texts(reviews: list[str], per_review: int, rng: random.Random, drop: float = 0.3) -> list[str]:
    out = []
    for text in reviews:
        words = text.split()
        out.append(" ".join(words))
        for _ in range(per_review):
            out.append(" ".join(w for w in words if rng.random() > drop) or words[0])
    rng.shuffle(out)
    return out


def timed(fn, n: int, repeat: int = 1) -> tuple[float, float]:
    """Seconds (best of ``repeat``) and calls per second."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best, n / best


# ---------------------------------------------------------------- the oracle, raw


def raw_oracle(task: TaskConfig, texts: list[str], path: Path):
    """Three ways to call llama-cpp-python directly on the same prompts (tokenizing included, like proxyx)."""
    import llama_cpp
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=8192, n_threads=2, n_threads_batch=2, logits_all=False, swa_full=True,
                verbose=False)
    n_vocab = llm.n_vocab()
    ids = [llm.tokenize((" " + task.word(lab)).encode(), add_bos=False)[0] for lab in task.labels]
    prefix = llm.tokenize(prompt_prefix(task).encode(), add_bos=True, special=False)[:-1]

    def prompts():
        return sorted(llm.tokenize(completion_prompt(task, t).encode(), add_bos=True, special=False) for t in texts)

    def label_logits():
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))[ids]

    def no_reuse():
        for t in prompts():
            llm.n_tokens = 0
            llm.eval(t)
            label_logits()

    def prefix_reuse():
        cut = len(prefix)
        llm.n_tokens = 0
        llm.eval(prefix)
        for t in prompts():
            llm.n_tokens = cut
            llm.eval(t[cut:])
            label_logits()

    def longest_prefix():
        past: list[int] = []
        llm.n_tokens = 0
        for t in prompts():
            keep = 0
            for a, b in zip(past, t):
                if a != b:
                    break
                keep += 1
            llm.n_tokens = min(keep, len(t) - 1)
            llm.eval(t[llm.n_tokens:])
            label_logits()
            past = t

    no_reuse()  # warm up
    return llm, {"raw, task-prefix reuse": prefix_reuse, "raw, longest-prefix reuse": longest_prefix,
                 "raw, no reuse": no_reuse}


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/quickstart.yaml", help="take the task (prompt) from this config")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if Path(args.config).is_file():
        task, source = load_config(args.config).task, args.config
    else:
        task, source = TaskConfig(few_shot=DEFAULT_SHOTS), "built-in 2-shot task"
    rng = random.Random(args.seed)
    test = [x.text for x in load_split("fine_foods", "test") if 20 <= len(x.text.split()) <= 80]
    rng.shuffle(test)
    train = load_split("fine_foods", "train")

    from proxyx.models.llamacpp import LlamaCppModel, ensure_gguf
    from proxyx.models.local import TfidfLogRegModel, VaderModel

    rows: list[tuple[str, str, int, float, float, float | None]] = []

    def add(model: str, what: str, n: int, s_rate: tuple[float, float], base: float | None = None):
        rows.append((model, what, n, s_rate[0], s_rate[1], None if base is None else s_rate[1] / base))

    # oracle: 5 reviews x 16 masks (+ the 5 originals); runs interleaved, best of 2, so that other
    # processes on the machine bias no row in particular
    o_texts = masked_texts(test[:5], 16, rng)
    oracle = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=task)
    oracle.predict(o_texts[:3])  # loads the model and scans the vocabulary
    mean_tokens = np.mean([oracle.count_prompt_tokens(t) for t in o_texts])
    llm, raw = raw_oracle(task, o_texts, ensure_gguf())
    runs = {"proxyx predict": lambda: oracle.predict(o_texts), **raw}
    best = {what: (float("inf"), 0.0) for what in runs}
    for _ in range(2):
        for what, fn in runs.items():
            best[what] = min(best[what], timed(fn, len(o_texts)))
    oracle.close()
    llm.close()
    base = best["raw, task-prefix reuse"][1]
    for what, r in best.items():
        add("local/gemma-3-270m", what, len(o_texts), r, base if what == "proxyx predict" else None)

    # tfidf-lr: 40 reviews x 500 masks
    t_texts = masked_texts(test[:40], 499, rng)
    tfidf = TfidfLogRegModel(config=ModelConfig(model="local/tfidf-lr"), task=task, train=train).fit()
    tfidf.predict(t_texts[:10])
    proxyx_rate = timed(lambda: tfidf.predict(t_texts), len(t_texts), 3)
    raw_rate = timed(lambda: tfidf.pipeline_.predict_proba(t_texts), len(t_texts), 3)
    add("local/tfidf-lr", "proxyx predict", len(t_texts), proxyx_rate, raw_rate[1])
    add("local/tfidf-lr", "raw sklearn predict_proba", len(t_texts), raw_rate)

    # vader: 10 reviews x 500 masks
    v_texts = masked_texts(test[:10], 499, rng)
    vader = VaderModel(config=ModelConfig(model="local/vader"), task=task)
    vader.predict(v_texts[:10])
    analyzer = vader.analyzer_
    proxyx_rate = timed(lambda: vader.predict(v_texts), len(v_texts), 3)
    raw_rate = timed(lambda: [analyzer.polarity_scores(t) for t in v_texts], len(v_texts), 3)
    add("local/vader", "proxyx predict", len(v_texts), proxyx_rate, raw_rate[1])
    add("local/vader", "raw polarity_scores", len(v_texts), raw_rate)

    print(f"task: {source}, {len(task.few_shot)} few-shot examples; oracle prompts {mean_tokens:.0f} tokens on "
          f"average; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    head = f"{'model':<20} {'path':<27} {'texts':>6} {'seconds':>8} {'calls/s':>9} {'proxyx/raw':>10}"
    print(head)
    print("-" * len(head))
    for model, what, n, s, rate, ratio in rows:
        r = "" if ratio is None else f"{ratio:.2f}"
        print(f"{model:<20} {what:<27} {n:>6} {s:>8.2f} {rate:>9.1f} {r:>10}")


if __name__ == "__main__":
    main()

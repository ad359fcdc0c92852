"""Calls per second of the Gemma oracle on demonstration-masked prompts, and what block-wise KV reuse would give.

    flock /tmp/proxyx-gemma.lock .venv/bin/python scripts/bench_demo_kv.py [CONFIG] [N_MASKS]

(a) today: every masked prompt through the Scorer (raw mode: the whole
    rendered prompt is the text; llama.cpp evaluates it from scratch, since
    it does not start with a fixed task prefix).
(b) a prototype of block-wise reuse: the prompt is cut into blocks at fixed
    places (instruction, one block per demonstration, the input), each block
    tokenized and evaluated as its own batch, and the KV cache keeps the
    longest common run of blocks with the previous prompt. An answer then
    depends only on the prompt (never on which prompt came before), as today;
    prompts are sorted by their blocks so neighbours share long prefixes.

Prints both rates, the speed-up and the largest difference between the two
answers (different batch cuts give slightly different numbers).
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np


def main(path: str = "configs/compress_fine_foods.yaml", n_masks: int = 64) -> None:
    import llama_cpp
    from llama_cpp import Llama

    from proxyx.apps.demos import demonstrations, instances, with_shots
    from proxyx.cache import CallCache
    from proxyx.config import load_config
    from proxyx.explainers.base import all_coalitions
    from proxyx.ledger import Ledger
    from proxyx.models.llamacpp import LlamaCppModel, ensure_gguf
    from proxyx.perturb import PromptSegments, parse_prompt, raw_task
    from proxyx.scorer import Scorer

    config = load_config(path)
    shots = demonstrations(config)
    task = with_shots(config.task, shots)
    x = instances(config, shots, 1, 1)[0][0]
    seg = PromptSegments(task, x.text)
    masks = all_coalitions(len(seg))
    masks = masks[np.random.default_rng(0).permutation(len(masks))[:n_masks]]
    prompts = seg.render_many(masks)

    # (a) today
    with tempfile.TemporaryDirectory() as tmp:
        scorer = Scorer(LlamaCppModel(config=config.oracle, task=raw_task(task)), cache=CallCache(tmp), ledger=Ledger(),
                        role="oracle")
        scorer([seg.full], "warm-up")  # loads the model
        t = time.perf_counter()
        today = scorer(prompts, "bench")[:, 0]
        dt_a = time.perf_counter() - t
        tokens = [scorer.model.count_prompt_tokens(p) for p in prompts]
        scorer.close()

    # (b) block-wise reuse
    llm = Llama(model_path=str(config.oracle.model_path or ensure_gguf()), n_ctx=8192, n_threads=2,
                n_threads_batch=2, swa_full=True, verbose=False)
    words = {lab: task.word(lab).strip().lower() for lab in task.labels}
    ids = {lab: [] for lab in task.labels}
    for tok in range(llm.n_vocab()):
        w = llm.detokenize([tok]).decode("utf-8", "ignore").strip().lower()
        for lab, word in words.items():
            if w == word:
                ids[lab].append(tok)

    def blocks(prompt: str) -> list[str]:
        """Instruction, one block per demonstration, then the input with its template."""
        parsed = parse_prompt(task, prompt)
        cuts = sorted({0, *(a for a, _ in parsed.blocks), parsed.query_at} - {len(prompt)})
        return [prompt[a:b] for a, b in zip(cuts, cuts[1:] + [len(prompt)]) if b > a]

    cut = [blocks(p) for p in prompts]
    tok = [[llm.tokenize(b.encode(), add_bos=(i == 0), special=False) for i, b in enumerate(bs)] for bs in cut]
    order = sorted(range(len(prompts)), key=lambda i: cut[i])
    held: list[list[int]] = []  # blocks in the KV cache now
    reuse = np.zeros(len(prompts))
    t = time.perf_counter()
    block_answers = np.zeros(len(prompts))
    for i in order:
        common = 0
        while common < min(len(held), len(tok[i]) - 1) and held[common] == tok[i][common]:
            common += 1
        llm.n_tokens = sum(len(b) for b in held[:common])
        held = held[:common]
        for b in tok[i][common:]:
            llm.eval(b)
            held.append(b)
        reuse[i] = sum(len(b) for b in held[:common]) / sum(len(b) for b in tok[i])
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
        mass = np.array([np.logaddexp.reduce(logits[ids[lab]].astype(float)) for lab in task.labels])
        p = np.exp(mass - mass.max())
        block_answers[i] = p[0] / p.sum()
    dt_b = time.perf_counter() - t
    llm.close()

    print(f"{len(prompts)} demonstration-masked prompts of {len(seg)} demonstrations, "
          f"{np.mean(tokens):.0f} tokens on average")
    print(f"(a) today, whole prompt each call: {len(prompts) / dt_a:.2f} calls/s")
    print(f"(b) block-wise KV reuse:           {len(prompts) / dt_b:.2f} calls/s "
          f"(x{dt_a / dt_b:.2f}; {reuse.mean():.0%} of the tokens reused)")
    print(f"largest |p(a) - p(b)| = {np.abs(today - block_answers).max():.4f}")


if __name__ == "__main__":
    main(*sys.argv[1:2], *[int(a) for a in sys.argv[2:3]])

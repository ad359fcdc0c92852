"""Calls per second of the Gemma oracle on demonstration-masked prompts: with and without block-wise KV reuse.

    flock /tmp/proxyx-heavy.lock .venv/bin/python scripts/bench_demo_kv.py [CONFIG] [N_MASKS]

The apps ask the oracle whole rendered prompts (``raw_task``), cut into one
block per paragraph (instruction, each demonstration, the query); the KV
cache keeps the leading blocks a prompt shares with the previous one
(``proxyx/models/llamacpp/model.py``). Both runs below evaluate the same blocks,
so their answers must be identical:

(a) no reuse: the KV cache emptied before every prompt;
(b) reuse: one batch through ``LlamaCppModel.predict`` (sorted, neighbours
    share leading demonstrations).

Prints both rates, the speed-up, the share of tokens reused and the largest
difference between the answers.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main(path: str = "configs/compress_fine_foods.yaml", n_masks: int = 64) -> None:
    from proxyx.apps.demos import demonstrations, instances, with_shots
    from proxyx.config import load_config
    from proxyx.explainers.base import all_coalitions
    from proxyx.models.llamacpp import LlamaCppModel
    from proxyx.perturb import PromptSegments, raw_task

    config = load_config(path)
    shots = demonstrations(config)
    task = with_shots(config.task, shots)
    x = instances(config, shots, 1, 1)[0][0]
    seg = PromptSegments(task, x.text)
    masks = all_coalitions(len(seg))
    masks = masks[np.random.default_rng(0).permutation(len(masks))[:n_masks]]
    prompts = seg.render_many(masks)
    model = LlamaCppModel(config=config.oracle, task=raw_task(task))
    model.predict([seg.full])  # loads the model

    started = time.perf_counter()
    fresh = []
    for p in prompts:
        model.held_ = []  # forget what the KV cache holds: every block is evaluated again
        fresh.append(model.predict([p])[0].probs[0])
    dt_a = time.perf_counter() - started

    model.held_ = []
    started = time.perf_counter()
    reused = [a.probs[0] for a in model.predict(prompts)]
    dt_b = time.perf_counter() - started

    blocks = sorted(model._blocks(p) for p in prompts)
    shared = sum(sum(len(b) for b in _common(prev, cur)) for prev, cur in zip(blocks, blocks[1:]))
    total = sum(sum(map(len, b)) for b in blocks)
    model.close()
    print(f"{len(prompts)} demonstration-masked prompts of {len(seg)} demonstrations, {total / len(prompts):.0f} "
          f"tokens on average")
    print(f"(a) no reuse:            {len(prompts) / dt_a:.2f} calls/s")
    print(f"(b) block-wise KV reuse: {len(prompts) / dt_b:.2f} calls/s (x{dt_a / dt_b:.2f}; "
          f"{shared / total:.0%} of the tokens reused)")
    print(f"largest |p(a) - p(b)| = {np.abs(np.array(fresh) - np.array(reused)).max():.2e}")


def _common(prev: list[list[int]], cur: list[list[int]]) -> list[list[int]]:
    out = []
    for a, b in zip(prev, cur[:-1]):
        if a != b:
            break
        out.append(b)
    return out


if __name__ == "__main__":
    main(*sys.argv[1:2], *[int(a) for a in sys.argv[2:3]])

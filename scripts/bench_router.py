"""Throughput of one model served by one llama.cpp server, then by two behind litellm's Router.

Starts two llama.cpp servers (Gemma 3 270M, ``--n_threads 1`` each, so both
fit on 2 cores) on loopback, warms them, then sends the same real fine-food
reviews to a model with one deployment and to the same model with two
deployments (``deployments:`` in the config), alternating the two set-ups for
``--rounds`` rounds, and prints calls per second of each and the ratio. Run it
alone on the machine (other Gemma work takes turns with it through the lock):

    flock /tmp/proxyx-gemma.lock .venv/bin/python scripts/bench_router.py [--calls 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "llm"))  # start_server, shared with the tests

from llm_server import gguf_path, start_server, stop_server  # noqa: E402
from llm_support import task  # noqa: E402

from proxyx.config import Deployment, ModelConfig, Price  # noqa: E402
from proxyx.data import load_split  # noqa: E402
from proxyx.models.llm import LiteLLMModel  # noqa: E402

KEY_ENV = "PROXYX_BENCH_API_KEY"  # the openai client insists on a key; a local server checks none


def model(api_bases: list[str], concurrency: int) -> LiteLLMModel:
    config = ModelConfig(model="text-completion-openai/gemma-3-270m", api_key_env=KEY_ENV, concurrency=concurrency,
                         timeout_s=120, price=Price(input_per_mtok=1.0),
                         deployments=[Deployment(api_base=b) for b in api_bases])
    return LiteLLMModel(config=config, task=task())


def rate(m: LiteLLMModel, texts: list[str]) -> float:
    start = time.perf_counter()
    answers = m.predict(texts)
    elapsed = time.perf_counter() - start
    assert len(answers) == len(texts)
    return len(texts) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=40, help="calls per measurement")
    ap.add_argument("--rounds", type=int, default=2, help="measurements of each set-up, alternating")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight, all deployments together")
    args = ap.parse_args()
    os.environ.setdefault(KEY_ENV, "none")
    load_before = os.getloadavg()[0]
    reviews = [x.text for x in load_split("fine_foods", "test") if len(x.text.split()) <= 60]
    need = args.calls * args.rounds * 2 + 2
    texts = [reviews[i % len(reviews)] + ("" if i < len(reviews) else f" ({i})") for i in range(need)]
    tmp = Path(tempfile.mkdtemp(prefix="proxyx-bench-router-"))
    servers = []
    try:
        for i in range(2):
            servers.append(start_server(gguf_path(), tmp / f"server{i}.log", n_threads=1))
        bases = [s.api_base for _, s in servers]
        for b in bases:  # load and warm each server
            model([b], 1).predict([texts.pop()])
        one, two = [], []
        for _ in range(args.rounds):
            one.append(rate(model(bases[:1], args.concurrency), [texts.pop() for _ in range(args.calls)]))
            two.append(rate(model(bases, args.concurrency), [texts.pop() for _ in range(args.calls)]))
        counts = [s.answered() for _, s in servers]
    finally:
        for proc, _ in servers:
            stop_server(proc)
    r1, r2 = sum(one) / len(one), sum(two) / len(two)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Gemma 3 270M, llama.cpp servers with --n_threads 1")
    print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
          "(two servers can only help with a core free for each)")
    print(f"{args.calls} calls x {args.rounds} rounds each, concurrency {args.concurrency}")
    print(f"one server : {r1:6.2f} calls/s  (rounds: {', '.join(f'{r:.2f}' for r in one)})")
    print(f"two servers: {r2:6.2f} calls/s  (rounds: {', '.join(f'{r:.2f}' for r in two)})")
    print(f"ratio two/one: {r2 / r1:.2f}x")
    print(f"requests answered per server (warm-up included): {counts[0]} and {counts[1]}")


if __name__ == "__main__":
    main()

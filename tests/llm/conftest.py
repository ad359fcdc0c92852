"""A real llama.cpp server on loopback for the litellm model tests, and a fault-injecting relay.

The session starts ``python -m llama_cpp.server`` with the packaged Gemma 3
270M GGUF once; tests reach it directly or through ``tests/llm/relay.py``.
Every test that needs a server is skipped, with the reason, when llama_cpp
cannot be imported (``pip install 'llama-cpp-python[server]==0.3.36'``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # `from relay import Relay`

from llm_server import SKIP_REASON, gguf_path, start_server, stop_server  # noqa: E402
from llm_server import free_port as _free_port  # noqa: E402
from llm_support import FAKE_KEY, KEY_ENV, model_config, task  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Without llama_cpp, skip the tests that need a server; the pure ones (parsing, retries) still run."""
    if SKIP_REASON is None:
        return
    mark = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.path)).parents and "llama_server" in getattr(item, "fixturenames", ()):
            item.add_marker(mark)


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
def free_port() -> int:
    """A loopback port nothing listens on (a refused connection)."""
    return _free_port()


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

"""Real Gemma 3 270M (llama.cpp, in process) behind a fresh cache and ledger, and small QA data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from proxyx.cache import CallCache
from proxyx.config import ModelConfig
from proxyx.generation import Generator
from proxyx.ledger import Ledger
from proxyx.models import build_model

from .support import DOCS, QUESTION, TASK

sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))
from llm_server import SKIP_REASON, gguf_path, start_server, stop_server  # noqa: E402
from llm_support import FAKE_KEY, KEY_ENV  # noqa: E402


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)  # the local llama.cpp servers check none; the openai client wants one


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real llama.cpp server on loopback serving Gemma 3 270M (one token per forward pass): a hosted model."""
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    proc, srv = start_server(gguf_path(), tmp_path_factory.mktemp("gen-llama") / "server.log", n_threads=1, n_batch=1)
    try:
        yield srv
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def gemma_backend():
    pytest.importorskip("llama_cpp", reason="pip install 'llama-cpp-python[server]==0.3.36'")
    backend = build_model(ModelConfig(model="local/gemma-3-270m"), TASK, n_ctx=2048, n_threads=1)
    yield backend
    backend.close()


@pytest.fixture
def gen(gemma_backend, tmp_path) -> Generator:
    """A Generator on the shared Gemma with its own empty cache and ledger."""
    return Generator(gemma_backend, cache=CallCache(tmp_path / "cache"), ledger=Ledger())


@pytest.fixture
def qa_file(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": QUESTION, "documents": list(DOCS[:2]),
                                "gold_document": 1}) + "\n", encoding="utf-8")
    return path

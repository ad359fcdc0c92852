"""Real Gemma 3 270M (llama.cpp, in process) behind a fresh cache and ledger, and small QA data."""

from __future__ import annotations

import json

import pytest

from proxyx.cache import CallCache
from proxyx.config import ModelConfig
from proxyx.generation import Generator
from proxyx.ledger import Ledger

from .support import DOCS, QUESTION, TASK


@pytest.fixture(scope="session")
def gemma_backend():
    pytest.importorskip("llama_cpp", reason="pip install 'llama-cpp-python[server]==0.3.36'")
    from proxyx.generation.llama import LlamaGen

    backend = LlamaGen(config=ModelConfig(model="local/gemma-3-270m"), task=TASK, n_ctx=2048, n_threads=1)
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

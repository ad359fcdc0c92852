"""Shared fixtures: seeds fixed, API keys cleared, a fresh cache directory per test."""

from __future__ import annotations

import os
import random
from pathlib import Path

# One BLAS thread, here and in every subprocess a test starts (read when numpy loads OpenBLAS, so before the
# import): the tests' problems are small, and on 2 cores two OpenBLAS threads spin against the test's other
# process (a server, the CLI): a 600-review TF-IDF fit took 9-20 s instead of 1 s on a loaded machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest

KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY", "GEMINI_API_KEY", "HUGGINGFACE_API_KEY",
                 "COHERE_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY", "TOGETHERAI_API_KEY")


@pytest.fixture(autouse=True)
def _no_api_keys(monkeypatch):
    """No test may reach a real provider with a real key."""
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _seeded():
    random.seed(0)
    np.random.seed(0)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def fine_foods():
    """The installed fine_foods test split (``make install`` fetches it)."""
    from proxyx.data import load_split
    from proxyx.errors import DataError

    try:
        return load_split("fine_foods", "test")
    except DataError as e:  # not installed: the tests that need it skip, saying why
        pytest.skip(str(e))


TESTS = Path(__file__).parent
#: Tests that run the embedded Gemma (llama.cpp or torch), a llama.cpp server or MiniLM: each of them uses both
#: cores, so ``make test`` runs them one at a time, after the other tests (which it spreads over two processes).
HEAVY_FILES = {
    "test_end_to_end.py", "test_explain_units.py", "test_invariants.py",
    "apps/test_gemma_apps.py", "apps/test_rerank_gemma.py",
    "generation/test_cli.py", "generation/test_echo.py", "generation/test_hierarchy.py", "generation/test_litellm.py",
    "generation/test_litellm_router.py", "generation/test_llama.py", "generation/test_proxy.py",
    "generation/test_value.py",
    "llm/test_chat_fold.py", "llm/test_pipeline.py", "llm/test_router.py", "llm/test_routes.py",
    "influence/test_gemma_influence.py", "influence/test_gradients.py", "influence/test_influence_ray.py",
    "models/test_llamacpp.py", "models/test_minilm.py",
}
HEAVY_TESTS = {"test_with_the_gemma_oracle"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.path))
        if path.relative_to(TESTS).as_posix() in HEAVY_FILES or item.originalname in HEAVY_TESTS:
            item.add_marker(pytest.mark.heavy)


def pytest_report_header(config):
    return f"PROXYX_DATA_DIR={os.environ.get('PROXYX_DATA_DIR', '~/.cache/proxyx (default)')}"

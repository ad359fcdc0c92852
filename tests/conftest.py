"""Shared fixtures: seeds fixed, API keys cleared, a fresh cache directory per test."""

from __future__ import annotations

import os
import random

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


def pytest_report_header(config):
    return f"PROXYX_DATA_DIR={os.environ.get('PROXYX_DATA_DIR', '~/.cache/proxyx (default)')}"

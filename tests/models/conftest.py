"""Fixtures for the local models: a small few-shot task, the real Gemma oracle, a training subset."""

from __future__ import annotations

import pytest

from proxyx.config import FewShot, ModelConfig, TaskConfig

SHOTS = [FewShot(text="Delicious, my kids love it. Will buy again!", label="great"),
         FewShot(text="Stale and tasteless. Waste of money.", label="other")]


@pytest.fixture(scope="session")
def task():
    return TaskConfig(few_shot=SHOTS)


@pytest.fixture(scope="session")
def oracle(task):
    """The embedded Gemma 3 270M oracle, loaded once per session."""
    pytest.importorskip("llama_cpp", reason="pip install 'llama-cpp-python[server]==0.3.36'")
    from proxyx.models.llamacpp import LlamaCppModel

    model = LlamaCppModel(config=ModelConfig(model="local/gemma-3-270m"), task=task)
    yield model
    model.close()


@pytest.fixture(scope="session")
def train_small():
    """600 training reviews: enough for a sensible TF-IDF model, fitted in well under a second."""
    from proxyx.data import load_split

    return load_split("fine_foods", "train")[:600]

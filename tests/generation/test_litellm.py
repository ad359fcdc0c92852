"""A hosted completion endpoint (a real llama.cpp server on loopback, Gemma 3 270M) as a generation backend.

``answer`` decodes through litellm; ``score`` uses the endpoint's echoed prompt
log-probabilities (``echo=True, logprobs=1``) and agrees with the embedded
model; a chat model cannot score, and says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from proxyx.cache import CallCache
from proxyx.config import ModelConfig, Price
from proxyx.errors import ConfigError
from proxyx.generation import Generator, build_generator
from proxyx.ledger import Ledger
from proxyx.models import build_model

from .support import DOCS, ECHO_TIMEOUT_S, QUESTION, TASK

sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))
from llm_support import KEY_ENV  # noqa: E402


def hosted(server, tmp_path, style="completion"):
    model = "text-completion-openai/gemma-3-270m" if style == "completion" else "openai/gemma-3-270m"
    cfg = ModelConfig(model=model, api_base=server.api_base, api_key_env=KEY_ENV, style=style, concurrency=2,
                      timeout_s=ECHO_TIMEOUT_S, max_retries=1, price=Price(input_per_mtok=1.0, output_per_mtok=2.0))
    return build_generator(cfg, TASK, cache=CallCache(tmp_path / "cache"), ledger=Ledger())


@pytest.fixture(scope="module")
def stepwise():
    """The embedded Gemma fed one token per forward pass, as the ``server`` fixture evaluates.

    llama.cpp's kernels give a token slightly different numbers in batches of other sizes (up to 0.1 in
    log-probability for this model; the server batches by 512 from wherever its KV cache stops matching,
    the embedded backend by 64 from the start), so only the same layout on both sides can be compared
    closely on every machine.
    """
    backend = build_model(ModelConfig(model="local/gemma-3-270m"), TASK, n_ctx=2048, n_threads=1, block=1)
    yield backend
    backend.close()


def test_hosted_answer_and_echo_scores_agree_with_embedded(server, stepwise, tmp_path):
    api = hosted(server, tmp_path)
    gen = Generator(stepwise, cache=CallCache(tmp_path / "embedded"), ledger=Ledger())
    # contexts where greedy decoding does not start with a stop token ("\n"): an endpoint then returns "",
    # where the embedded model takes the best other token (an answer has at least one token)
    prompts = [TASK.prompt(DOCS[1], QUESTION), TASK.prompt(DOCS[1] + "\n\n" + DOCS[2], QUESTION)]
    local = [a.text for a in gen.answer(prompts)]
    assert [a.text for a in api.answer(prompts)] == local
    for p, a in zip(prompts[:1], local):  # one echo: the server sorts its vocabulary per prompt token (slow)
        remote, mine = api.score([(p, a)])[0], gen.score([(p, a)])[0]
        assert len(remote.logprobs) == len(mine.logprobs) > 0
        # the same forward passes: equal but for the server's float32 log-softmax
        np.testing.assert_allclose(remote.logprobs, mine.logprobs, atol=1e-4)
        np.testing.assert_allclose(remote.top, mine.top, atol=1e-4)
        assert remote.is_greedy(TASK.max_tokens) is True
    assert api.score([(prompts[0], " Tokyo is big")])[0].is_greedy(TASK.max_tokens) is False
    calls = server.answered()
    api.answer(prompts)  # cached: the server is not asked again
    assert server.answered() == calls and api.ledger.total().paid.usd > 0


def test_chat_model_cannot_score(server, tmp_path):
    api = hosted(server, tmp_path, style="chat")
    assert not api.can_score
    with pytest.raises(ConfigError, match="no prompt log-probabilities"):
        api.score([("Q", " A")])

"""Both litellm routes against a real llama.cpp server: label probabilities, usage, dollars, tokens."""

from __future__ import annotations

import asyncio
import functools
import logging

import httpx
import numpy as np
import pytest
from llm_support import KEY_ENV, NEGATIVE, N_CTX, N_THREADS, POSITIVE, task

from proxyx.config import Price
from proxyx.errors import ConfigError
from proxyx.prompt import chat_messages, completion_prompt

STYLES = [pytest.param("completion", id="completion"), pytest.param("chat", id="chat")]


@pytest.mark.parametrize("style", STYLES)
def test_route_gives_label_probabilities(llama_server, make_model, style):
    model = make_model(llama_server.api_base, style)
    seen = []
    answers = model.predict([POSITIVE, NEGATIVE], on_answer=lambda i, a: seen.append(i))
    assert sorted(seen) == [0, 1]
    for a in answers:
        assert a.flag is None  # both label words are among the top 20 tokens
        assert sum(a.probs) == pytest.approx(1.0)
        assert all(0 < p < 1 for p in a.probs)
        assert a.prompt_tokens > 20 and a.completion_tokens == 1
        assert a.usd == pytest.approx((a.prompt_tokens * 1.0 + 2.0) / 1e6)
        assert model.worst_case_usd(POSITIVE) >= a.usd
    if style == "completion":  # the few-shot prompt makes the small model get these right
        assert answers[0].probs[0] > 0.5 > answers[1].probs[0]


# ----------------------------------------------------------------- against an in-process computation


@pytest.fixture(scope="module")
def in_process(llama_server):
    """The same GGUF in process: label probabilities of a prompt by a full softmax over the vocabulary.

    The server keeps the previous prompt in its KV cache and evaluates only
    the new tokens, and llama.cpp's logits depend on how tokens are batched (by
    ~4e-3 in a label's probability here). So the test first sends the server a
    prompt that shares only the BOS token with the next one, and here evaluates
    BOS, then the rest: the same batches the server runs.
    """
    from llama_cpp import Llama

    llm = Llama(model_path=str(llama_server.model_path), n_ctx=N_CTX, n_threads=N_THREADS,
                n_threads_batch=N_THREADS, logits_all=True, verbose=False)
    vocab = [llm.detokenize([i]).decode("utf-8", errors="ignore").strip().lower() for i in range(llm.n_vocab())]

    @functools.cache
    def ids(word: str) -> np.ndarray:
        """Every token whose stripped, lower-cased text is ``word``."""
        return np.array([i for i, s in enumerate(vocab) if s == word.lower()])

    def probs(prompt: str, labels_words: list[str]) -> tuple[list[float], int]:
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        llm.reset()
        llm.eval(tokens[:1])
        llm.eval(tokens[1:])
        logits = np.asarray(llm.scores[len(tokens) - 1], dtype=np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        mass = [p[ids(w)].sum() for w in labels_words]
        return [float(m / sum(mass)) for m in mass], len(tokens)

    yield probs
    llm.close()


@pytest.mark.parametrize("style, text", [pytest.param("completion", POSITIVE, id="completion"),
                                         pytest.param("chat", NEGATIVE, id="chat")])
def test_server_matches_in_process_softmax(llama_server, make_model, in_process, style, text):
    """Top-20 log-probabilities through litellm give what a full softmax gives, within 1e-3."""
    from llama_cpp.llama_chat_format import format_gemma

    t = task()
    words = [t.word(lab) for lab in t.labels]
    model = make_model(llama_server.api_base, style)
    httpx.post(llama_server.api_base + "/completions", json={"prompt": "Hello", "max_tokens": 1}, timeout=120)
    (answer,) = model.predict([text])
    if style == "chat":  # the server's --chat_format gemma template, rendered here
        prompt = format_gemma(messages=chat_messages(t, text)).prompt
    else:
        prompt = completion_prompt(t, text)
    expected, n_tokens = in_process(prompt, words)
    assert answer.prompt_tokens == n_tokens  # the same tokens went in
    np.testing.assert_allclose(answer.probs, expected, atol=1e-3)


# ----------------------------------------------------------------- dollars and tokens


def test_price_map_dollars(llama_server, make_model):
    """Without ``price``, dollars come from litellm's price map (offline copy)."""
    import litellm

    model = make_model(llama_server.api_base, "chat", model="openai/gpt-4o-mini", price=None)
    (a,) = model.predict([POSITIVE])
    cost_in, cost_out = litellm.cost_per_token(model="openai/gpt-4o-mini", prompt_tokens=a.prompt_tokens,
                                               completion_tokens=a.completion_tokens)
    assert a.usd == pytest.approx(cost_in + cost_out) and a.usd > 0
    assert model.price.input_per_mtok > 0
    assert model.worst_case_usd(POSITIVE) >= a.usd


def test_unknown_price_is_zero_and_said_once(llama_server, make_model, caplog):
    model = make_model(llama_server.api_base, "completion", price=None)
    with caplog.at_level(logging.WARNING, logger="proxyx.models.llm"):
        answers = model.predict([POSITIVE]) + model.predict([NEGATIVE])
        model.worst_case_usd(POSITIVE)
    assert [a.usd for a in answers] == [0.0, 0.0]
    assert sum("price map does not know" in r.getMessage() for r in caplog.records) == 1


def test_count_prompt_tokens_and_worst_case(make_model):
    model = make_model("http://127.0.0.1:9/v1", "completion", price=Price(input_per_mtok=10, output_per_mtok=30))
    n = model.count_prompt_tokens(POSITIVE)
    assert 20 < n < 200
    assert model.count_prompt_tokens(POSITIVE + " and more words here") > n
    assert model.worst_case_usd(POSITIVE) >= (n * 10 + 30) / 1e6 * 1.2


def test_missing_key_variable_is_a_config_error(monkeypatch, make_model):
    model = make_model("http://127.0.0.1:9/v1", "completion")
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ConfigError, match=f"{KEY_ENV} \\(api_key_env\\) is not set"):
        model.predict([POSITIVE])


def test_predict_inside_a_running_event_loop(llama_server, make_model):
    """A caller inside asyncio (a notebook, an async app) can still call predict."""
    model = make_model(llama_server.api_base, "completion")

    async def caller():
        return model.predict([POSITIVE])

    (a,) = asyncio.run(caller())
    assert sum(a.probs) == pytest.approx(1.0)


def test_an_error_in_on_answer_stops_the_batch(llama_server, make_model):
    """A caller whose callback fails (a full disk, say) gets its error, and no calls go on behind it."""
    model = make_model(llama_server.api_base, "completion")

    def on_answer(i, answer):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        model.predict([POSITIVE, NEGATIVE, POSITIVE + " Yes."], on_answer=on_answer)
    (a,) = model.predict([NEGATIVE])  # the model still works afterwards
    assert sum(a.probs) == pytest.approx(1.0)

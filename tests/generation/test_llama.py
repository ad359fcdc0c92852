"""Teacher-forced scores of the embedded Gemma against a direct llama.cpp computation; decoding; the cache."""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.models.llamacpp import layout
from .support import DOCS, QUESTION, TASK


def direct_logprobs(path, prompt: str, answer: str, *, stepwise: bool) -> np.ndarray:
    """log p(answer tokens) from llama.cpp's own API on a fresh model with ``logits_all``.

    The prompt goes through ``Llama.eval`` (which cuts it into ``n_batch`` = 64
    token batches); then the answer in one ``eval`` (``stepwise=False``) or one
    token at a time, as decoding feeds it (``stepwise=True``). The batch layout
    matters: llama.cpp's quantized kernels give different numbers for one token
    and for a batch (up to 0.1 in log-probability for this model).
    """
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=256, n_batch=64, n_threads=1, logits_all=True,
                          swa_full=True, verbose=False)
    try:
        ptoks = llm.tokenize(prompt.encode(), add_bos=True, special=False)
        atoks = llm.tokenize(answer.encode(), add_bos=False, special=False)
        llm.eval(ptoks)
        if stepwise:
            for tok in atoks:
                llm.eval([tok])
        else:
            llm.eval(atoks)
        logits = np.asarray(llm.scores[len(ptoks) - 1 : len(ptoks) + len(atoks) - 1], dtype=np.float64)
        lse = np.logaddexp.reduce(logits, axis=1)
        return logits[np.arange(len(atoks)), atoks] - lse
    finally:
        llm.close()


def test_layout_cuts_prompt_in_aligned_blocks():
    assert layout(130, 2, 64) == [64, 128, 130, 131, 132]
    assert layout(64, 0, 64) == [64]


def test_teacher_forced_logprobs_match_llama_cpp(gen, gemma_backend):
    prompt = TASK.prompt("\n\n".join(DOCS), QUESTION)
    answer = " Berlin is the capital of Germany."
    path = gemma_backend.model_file()
    batch, steps = (direct_logprobs(path, prompt, answer, stepwise=s) for s in (False, True))
    scored, checked = gen.score([(prompt, answer)])[0], gen.check([(prompt, answer)])[0]
    assert len(batch) == len(scored.logprobs) == len(checked.logprobs) > 3
    np.testing.assert_allclose(scored.logprobs, batch, atol=1e-4)
    np.testing.assert_allclose(checked.logprobs, steps, atol=1e-4)
    assert scored.total == pytest.approx(float(batch.sum()), abs=1e-3)


def test_greedy_answer_is_greedy_and_cached(gen):
    prompt = TASK.prompt("\n\n".join(DOCS), QUESTION)
    first = gen.answer([prompt])[0]
    assert first.text.strip() and 1 <= first.completion_tokens <= TASK.max_tokens
    check = gen.check([(prompt, first.text)])[0]
    assert check.is_greedy(TASK.max_tokens) is True
    np.testing.assert_allclose(check.logprobs, first.logprobs, atol=1e-9)  # same batches as decoding
    wrong = gen.check([(prompt, " Tokyo is big")])[0]
    assert wrong.is_greedy(TASK.max_tokens) is False
    paid = gen.ledger.total().paid.calls
    assert gen.answer([prompt])[0] == first  # from the cache
    assert gen.ledger.total().paid.calls == paid and gen.ledger.total().hits == 1

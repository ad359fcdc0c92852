"""Teacher-forced scores read from an echoed completion (``proxyx.models.llm.parse.echo_scores``): no server needed.

The responses have the shape llama.cpp's server and vLLM send for ``echo=True, logprobs=1, max_tokens=1``; the
server tests (``test_litellm*.py``) check the numbers against the embedded model.
"""

from __future__ import annotations

import math

import pytest

from proxyx.models.llm.parse import NoEcho, echo_scores

LN = math.log
PROMPT, ANSWER = "Q: capital?\nA:", " Berlin is"


def echoed(generated: list[tuple[str, dict]]) -> dict:
    """The echo of ``PROMPT + ANSWER`` followed by the ``generated`` tokens (text, top log-probabilities)."""
    tokens = ["Q", ":", " capital", "?", "\n", "A", ":", " Berlin", " is"] + [t for t, _ in generated]
    offsets, at = [], 0
    for t in tokens:
        offsets.append(at)
        at += len(t)
    tops = [None, {":": LN(0.9)}, {" capital": LN(0.2)}, {"?": LN(0.8)}, {"\n": LN(0.7)}, {"A": LN(0.9)},
            {":": LN(0.95)}, {" Berlin": LN(0.6), " Paris": LN(0.3)}, {" was": LN(0.5), " is": LN(0.4)}]
    tops += [top for _, top in generated]
    lps = [None, *(next(iter(d.values())) for d in tops[1:7]), LN(0.6), LN(0.4),
           *(max(d.values()) for _, d in generated)]
    return {"choices": [{"text": PROMPT + ANSWER + "".join(t for t, _ in generated),
                         "logprobs": {"tokens": tokens, "text_offset": offsets, "token_logprobs": lps,
                                      "top_logprobs": tops}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(generated)}}


def test_answer_tokens_found_by_offset_and_the_stop_read_after_them():
    scored = echo_scores(echoed([("\n", {"\n": LN(0.7), " the": LN(0.2)})]), PROMPT, ["\n"])
    s = scored.scores
    assert s.logprobs == pytest.approx((LN(0.6), LN(0.4)))
    assert s.top == pytest.approx((LN(0.6), LN(0.5)))  # " is" was not the greedy token: " was" was
    assert (s.stop, s.stop_top) == pytest.approx((LN(0.7), LN(0.7)))
    assert s.is_greedy(8) is False
    assert (scored.prompt_tokens, scored.completion_tokens) == (10, 1)


def test_a_stop_that_is_not_the_best_next_token():
    s = echo_scores(echoed([(" the", {" the": LN(0.6), "\n": LN(0.3)})]), PROMPT, ["\n"]).scores
    assert (s.stop, s.stop_top) == pytest.approx((LN(0.3), LN(0.6)))
    no_stop = echo_scores(echoed([(" the", {" the": LN(0.6)})]), PROMPT, ["\n"]).scores
    assert no_stop.stop == -math.inf


def test_an_endpoint_that_stops_at_once_stops_greedy_decoding():
    s = echo_scores(echoed([]), PROMPT, ["\n"]).scores
    assert s.stop == s.stop_top == 0.0


def test_no_echoed_logprobs_is_said():
    response = echoed([])
    response["choices"][0]["logprobs"] = None
    with pytest.raises(NoEcho, match="no echoed prompt log-probabilities"):
        echo_scores(response, PROMPT, ["\n"])

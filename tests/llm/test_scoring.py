"""Label scoring, response parsing, backoff, Retry-After and scrubbing: no server needed."""

from __future__ import annotations

import math
import random
import types

import httpx
import pytest
from llm_support import FAKE_KEY, task

from proxyx.models.llm import (
    backoff_s,
    first_token_top_logprobs,
    label_probs,
    retry_after_s,
    scrub,
    verbalized_probs,
)

LN = math.log


@pytest.mark.parametrize("top, expected, flag", [
    pytest.param([(" positive", LN(0.6)), (" negative", LN(0.2)), (" very", LN(0.1))], (0.75, 0.25), None,
                 id="both-labels-listed"),
    pytest.param([(" positive", LN(0.4)), ("Positive", LN(0.2)), ("POSITIVE ", LN(0.1)), (" negative", LN(0.1))],
                 (0.875, 0.125), None, id="variants-summed"),
    pytest.param([(" positive", LN(0.5)), (" good", LN(0.3)), (" very", LN(0.1))], (0.5 / 0.6, 0.1 / 0.6),
                 "label_outside_top_logprobs", id="missing-label-gets-smallest-listed"),
    pytest.param([(" positive", LN(0.9)), (" good", LN(0.05))], (0.9 / 0.95, 0.05 / 0.95),
                 "label_outside_top_logprobs", id="missing-label-capped-by-unlisted-mass"),
    pytest.param([(" good", LN(0.5)), (" very", LN(0.2))], (0.5, 0.5), "label_outside_top_logprobs",
                 id="no-label-listed-uniform"),
    pytest.param([("positives", LN(0.5)), (" negative", LN(0.5))], (0.0, 1.0),
                 "label_outside_top_logprobs", id="no-prefix-match-and-no-mass-left"),
])
def test_label_probs(top, expected, flag):
    probs, got_flag = label_probs(top, task())
    assert probs == pytest.approx(expected)
    assert sum(probs) == pytest.approx(1.0)
    assert got_flag == flag


@pytest.mark.parametrize("text, expected, flag", [
    pytest.param(" positive", (1.0, 0.0), "verbalized", id="word"),
    pytest.param("Negative.", (0.0, 1.0), "verbalized", id="case-and-punctuation"),
    pytest.param("**positive** because", (1.0, 0.0), "verbalized", id="starts-with-word"),
    pytest.param(" neg", (0.0, 1.0), "verbalized", id="cut-by-max-tokens"),
    pytest.param(" maybe", (0.5, 0.5), "unparsed", id="no-label"),
    pytest.param("", (0.5, 0.5), "unparsed", id="empty"),
    pytest.param(None, (0.5, 0.5), "unparsed", id="none"),
])
def test_verbalized_probs(text, expected, flag):
    assert verbalized_probs(text, task()) == (expected, flag)


def test_first_token_top_logprobs_both_routes():
    completion = {"text": " positive", "logprobs": {"tokens": [" positive"], "token_logprobs": [-0.1],
                                                    "top_logprobs": [{" positive": -0.1, " negative": -2.5}]}}
    chat = types.SimpleNamespace(logprobs=types.SimpleNamespace(content=[types.SimpleNamespace(
        token="negative", logprob=-0.3, top_logprobs=[types.SimpleNamespace(token="negative", logprob=-0.3),
                                                      types.SimpleNamespace(token="positive", logprob=-1.4)])]))
    assert first_token_top_logprobs(completion) == [(" positive", -0.1), (" negative", -2.5)]
    assert first_token_top_logprobs(chat) == [("negative", -0.3), ("positive", -1.4)]
    assert first_token_top_logprobs({"text": "x"}) is None
    assert first_token_top_logprobs(types.SimpleNamespace(message=None)) is None  # no attribute at all
    only_chosen = {"logprobs": {"content": [{"token": "positive", "logprob": -0.2, "top_logprobs": []}]}}
    assert first_token_top_logprobs(only_chosen) == [("positive", -0.2)]


def test_backoff_grows_with_jitter():
    rng = random.Random(1)
    waits = [[backoff_s(a, base_s=0.5, max_s=30, rng=rng) for _ in range(200)] for a in range(5)]
    for a, ws in enumerate(waits):
        d = 0.5 * 2**a
        assert all(d / 2 <= w <= d for w in ws)
        assert len(set(ws)) == len(ws)  # jitter: no two equal waits
    for earlier, later in zip(waits, waits[1:]):
        assert max(earlier) <= min(later)  # each retry waits longer than any wait before it
    assert all(w <= 30 for w in (backoff_s(20, base_s=0.5, max_s=30, rng=rng) for _ in range(50)))


def _http_error(headers):
    err = Exception("rate limited")
    err.litellm_response_headers = httpx.Headers(headers)
    return err


@pytest.mark.parametrize("headers, expected", [
    pytest.param({"Retry-After": "2"}, 2.0, id="seconds"),
    pytest.param({"retry-after": "0.7"}, 0.7, id="fraction"),
    pytest.param({"retry-after-ms": "250"}, 0.25, id="milliseconds"),
    pytest.param({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0, id="date-in-the-past"),
    pytest.param({"Retry-After": "86400"}, 120.0, id="capped"),
    pytest.param({"Retry-After": "soon"}, None, id="unparseable"),
    pytest.param({}, None, id="absent"),
])
def test_retry_after(headers, expected):
    assert retry_after_s(_http_error(headers)) == expected


def test_scrub():
    text = f"Incorrect API key provided: {FAKE_KEY}; header Authorization: Bearer abc.def; other sk-abcdefghij"
    out = scrub(text, [FAKE_KEY])
    assert FAKE_KEY not in out and "abc.def" not in out and "sk-abcdefghij" not in out
    assert out.count("[redacted]") == 3

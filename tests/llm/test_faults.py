"""Retries, timeouts, fallbacks and failures, injected by a relay in front of the real server."""

from __future__ import annotations

import time

import pytest
from llm_support import NEGATIVE, POSITIVE

from proxyx.errors import CallFailed


def _gaps(relay) -> list[float]:
    return [b.t - a.t for a, b in zip(relay.log, relay.log[1:])]


def _valid(answer) -> bool:
    return answer.flag is None and sum(answer.probs) == pytest.approx(1.0)


@pytest.mark.parametrize("fault, wait_s", [
    pytest.param("429:0.8", 0.8, id="429-retry-after"),
    pytest.param("503:0.6", 0.6, id="503-retry-after"),
])
def test_retry_after_is_honoured(relay, make_model, fault, wait_s):
    r = relay([fault])
    (answer,) = make_model(r.url + "/v1").predict([POSITIVE])
    assert [s.action for s in r.log] == [fault, "pass"]
    assert wait_s <= _gaps(r)[0] < wait_s + 2  # honoured (the backoff alone would wait at most 0.05 s)
    assert _valid(answer)


@pytest.mark.parametrize("fault", [
    pytest.param("500", id="500"),
    pytest.param("503", id="503"),
    pytest.param("drop", id="dropped-connection"),
    pytest.param("malformed", id="malformed-json"),
])
def test_transient_fault_is_retried(relay, make_model, fault):
    r = relay([fault])
    (answer,) = make_model(r.url + "/v1").predict([POSITIVE])
    assert [s.action for s in r.log] == [fault, "pass"]
    assert _valid(answer)


def test_hang_times_out_then_retries(relay, make_model):
    r = relay(["hang"], hang_s=30)
    model = make_model(r.url + "/v1", timeout_s=5)  # above a real call's time, even on a busy machine
    start = time.monotonic()
    (answer,) = model.predict([POSITIVE])
    assert [s.action for s in r.log] == ["hang", "pass"]
    assert 5 <= _gaps(r)[0] < 7
    assert time.monotonic() - start < 25
    assert _valid(answer)


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_missing_logprobs_fall_back_to_the_verbalized_answer(relay, make_model, style):
    r = relay(["strip_logprobs"])
    (answer,) = make_model(r.url + "/v1", style).predict([POSITIVE])
    assert answer.flag == "verbalized"  # the model answers a label word: one-hot on it
    assert sorted(answer.probs) == [0.0, 1.0]
    assert len(r.log) == 1  # no second call, no other model


def test_backoff_grows_between_attempts(relay, make_model):
    r = relay(["500", "500", "500"])
    model = make_model(r.url + "/v1")
    model.backoff_base_s = 0.3
    model.predict([POSITIVE])
    g = _gaps(r)[:3]
    slack = 0.25  # the relay sees the wait plus a failed call's round trip
    for attempt, gap in enumerate(g):
        d = 0.3 * 2**attempt
        assert d / 2 <= gap <= d + slack  # backoff attempt n waits in [d/2, d]
    assert g[0] < g[2]  # and grows (attempts 0 and 2 cannot overlap even with the slack)


def test_exhausted_retries_raise_after_the_rest_is_delivered(relay, make_model):
    r = relay(["503", "503", "503"])  # concurrency 1: the first text gets them all
    model = make_model(r.url + "/v1", max_retries=2)
    seen = {}
    with pytest.raises(CallFailed) as info:
        model.predict([POSITIVE, NEGATIVE, POSITIVE + " Really."], on_answer=lambda i, a: seen.setdefault(i, a))
    assert sorted(seen) == [1, 2] and all(_valid(a) for a in seen.values())
    message = str(info.value)
    assert "text-completion-openai/gemma-3-270m" in message
    assert "1 of 3 calls failed" in message
    assert "HTTP 503 Service Unavailable" in message
    assert "after 3 attempts" in message
    assert "\n" not in message
    assert (info.value.status, info.value.attempts) == (503, 3)
    assert [s.action for s in r.log].count("503") == 3 and len(r.log) == 5


def test_client_errors_are_not_retried(relay, make_model):
    r = relay(["401"])
    with pytest.raises(CallFailed, match="HTTP 401 Unauthorized .* after 1 attempt;") as info:
        make_model(r.url + "/v1", max_retries=3).predict([POSITIVE])
    assert len(r.log) == 1
    assert (info.value.status, info.value.attempts) == (401, 1)


def test_refused_connection_is_not_reported_as_http_500(make_model, free_port):
    """litellm raises InternalServerError (500) for it; the cause chain says what happened."""
    api_base = f"http://127.0.0.1:{free_port}/v1"  # nothing listens there
    with pytest.raises(CallFailed) as info:
        make_model(api_base, max_retries=1).predict([POSITIVE])
    message = str(info.value)
    assert f"could not connect to {api_base}: connection refused after 2 attempts; is the server running?" in message
    assert "500" not in message and "InternalServerError" not in message
    assert (info.value.status, info.value.attempts) == (None, 2)


def test_a_bug_in_parsing_is_raised_not_retried(relay, make_model, monkeypatch):
    """Only provider faults are retried: an error in proxyx's own parsing surfaces at once, as itself."""
    import proxyx.models.llm as llm

    def broken(response, task, style):
        raise TypeError("parse bug")

    monkeypatch.setattr(llm, "parse_response", broken)  # a fault the real parser cannot produce on demand
    r = relay()
    with pytest.raises(TypeError, match="parse bug"):
        make_model(r.url + "/v1", max_retries=3).predict([POSITIVE])
    assert len(r.log) == 1


def test_litellm_does_not_retry_behind_our_back(relay, make_model):
    """litellm and the openai SDK would retry twice by default; proxyx counts every attempt itself."""
    r = relay(default="500")
    with pytest.raises(CallFailed, match="after 2 attempts"):
        make_model(r.url + "/v1", max_retries=1).predict([POSITIVE])
    assert len(r.log) == 2


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_bounds_requests_in_flight(relay, make_model, concurrency):
    r = relay(default="delay:0.3")  # hold each request so that concurrent ones overlap at the relay
    texts = [f"{POSITIVE} ({i})" for i in range(concurrency + 2)]
    answers = make_model(r.url + "/v1", concurrency=concurrency).predict(texts)
    assert all(_valid(a) for a in answers)
    assert r.max_in_flight == concurrency

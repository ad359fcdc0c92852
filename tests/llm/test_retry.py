"""Failure classification and the retry policy, without a server: only provider faults are retried."""

from __future__ import annotations

import asyncio
import json
import logging
import random

import httpx
import litellm
import pytest

from proxyx.models.llm.failures import Failure, classify, hint
from proxyx.models.llm.parse import Malformed
from proxyx.models.llm.retry import ProviderFault, with_retries
from proxyx.config import ModelConfig

LOG = logging.getLogger("test")


def _chain(*excs: BaseException) -> BaseException:
    """``excs[0]`` caused by ``excs[1]``, caused by ``excs[2]``, ..."""
    for outer, inner in zip(excs, excs[1:]):
        outer.__cause__ = inner
    return excs[0]


REQUEST = httpx.Request("POST", "http://127.0.0.1:9/v1/completions")


def _refused():
    """What litellm raises for a refused connection: a 500 whose causes tell the truth."""
    return _chain(litellm.InternalServerError("Connection error.", llm_provider="openai", model="m"),
                  httpx.ConnectError("All connection attempts failed", request=REQUEST),
                  ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 9)"))


def _status(code: int, headers=None):
    response = httpx.Response(code, headers=headers or {}, request=REQUEST)
    return litellm.exceptions.APIError(status_code=code, message="boom", llm_provider="openai", model="m",
                                       request=REQUEST, response=response) if code != 429 else \
        litellm.RateLimitError("slow down", llm_provider="openai", model="m", response=response)


@pytest.mark.parametrize("exc, reason, status, transient, kind", [
    pytest.param(_refused(), "could not connect to http://127.0.0.1:9/v1: connection refused", None, True,
                 "connect", id="refused-not-500"),
    pytest.param(asyncio.TimeoutError(), "no answer within timeout_s=5s", 408, True, "timeout", id="timeout"),
    pytest.param(_chain(litellm.InternalServerError("x", llm_provider="openai", model="m"),
                        httpx.RemoteProtocolError("Server disconnected without sending a response.")),
                 "connection lost", None, True, "connection", id="dropped"),
    pytest.param(_chain(litellm.APIError(500, "bad json", "openai", "m"), json.JSONDecodeError("x", "{", 1)),
                 "malformed response", None, True, "malformed", id="malformed-json"),
    pytest.param(_status(503), "HTTP 503 Service Unavailable", 503, True, "http", id="503"),
    pytest.param(_status(400), "HTTP 400 Bad Request", 400, False, "http", id="400-not-retried"),
])
def test_classify_provider_failures(exc, reason, status, transient, kind):
    f = classify(exc, secrets=[], timeout_s=5, endpoints=["http://127.0.0.1:9/v1"])
    assert f is not None and f.reason.startswith(reason)
    assert (f.status, f.transient, f.kind) == (status, transient, kind)


@pytest.mark.parametrize("exc", [
    pytest.param(TypeError("'NoneType' object is not subscriptable"), id="type-error"),
    pytest.param(KeyError("choices"), id="key-error"),
    pytest.param(_chain(litellm.APIConnectionError("wrapped", llm_provider="openai", model="m"),
                        AttributeError("'dict' has no attribute 'x'")), id="litellm-wrapping-a-bug"),
])
def test_bugs_are_not_provider_failures(exc):
    assert classify(exc, secrets=[], timeout_s=5) is None


def test_refused_hint():
    f = classify(_refused(), secrets=[], timeout_s=5, endpoints=["http://127.0.0.1:9/v1"])
    assert hint(f, ModelConfig(model="openai/m")) == "is the server running?"


def _run(attempts_script, *, attempts=4):
    """``with_retries`` over a scripted sequence of outcomes (exceptions raised, values returned)."""
    calls = []

    async def attempt():
        calls.append(asyncio.get_running_loop().time())
        outcome = attempts_script[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    result = asyncio.run(with_retries(attempt, attempts=attempts, base_s=0.02, max_s=1, rng=random.Random(0),
                                      log=LOG, name="m"))
    return result, calls


def _fault(transient=True, retry_after=None):
    return ProviderFault(Failure("HTTP 503 Service Unavailable", 503, transient, retry_after))


def test_transient_faults_are_retried_then_succeed():
    result, calls = _run([_fault(), _fault(), "answer"])
    assert result == "answer" and len(calls) == 3


def test_retry_after_is_waited_at_least():
    _, calls = _run([_fault(retry_after=0.3), "answer"])
    assert calls[1] - calls[0] >= 0.3


def test_exhausted_retries_raise_the_last_fault_with_its_attempts():
    with pytest.raises(ProviderFault) as info:
        _run([_fault()] * 3, attempts=3)
    assert info.value.attempts == 3


def test_a_permanent_fault_is_not_retried():
    with pytest.raises(ProviderFault) as info:
        _run([_fault(transient=False), "never"])
    assert info.value.attempts == 1


@pytest.mark.parametrize("bug", [pytest.param(TypeError("parse bug"), id="type-error"),
                                 pytest.param(Malformed("no choices"), id="unclassified-malformed")])
def test_a_bug_leaves_at_once(bug):
    """Anything but a classified provider fault is raised as it is, after one attempt."""
    calls = []

    async def attempt():
        calls.append(1)
        raise bug

    with pytest.raises(type(bug)):
        asyncio.run(with_retries(attempt, attempts=5, base_s=0.01, max_s=1, rng=random.Random(0), log=LOG, name="m"))
    assert calls == [1]

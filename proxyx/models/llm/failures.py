"""What went wrong in one call, whether another attempt may help, and what to tell the user.

``classify`` looks at the whole cause chain: litellm reports a refused
connection as ``InternalServerError`` (HTTP 500) whose causes are
``openai.APIConnectionError`` -> ``httpx.ConnectError`` ->
``ConnectionRefusedError``; proxyx reports it as what it is. Only provider
failures are classified (HTTP statuses, timeouts, connection trouble, responses
that are not JSON or hold no answer); any other exception gets ``None`` and is
raised as it is: a bug is not retried.

No message ever holds the API key (``scrub``).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ...config import ModelConfig
from ...errors import redact
from .parse import Malformed

#: HTTP statuses worth another attempt
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: longest Retry-After honoured; a longer one is cut to this
MAX_RETRY_AFTER_S = 120.0
#: exceptions that mean code is wrong, wherever in the cause chain they are
_BUGS = (TypeError, AttributeError, NameError, AssertionError, ImportError)


@dataclass(frozen=True)
class Failure:
    """One failed attempt, described without the key."""

    reason: str
    status: int | None  # the provider's HTTP status; None when there was no HTTP answer
    transient: bool
    retry_after: float | None = None
    kind: str = "http"  # http | timeout | connect | connection | malformed | credentials


def scrub(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without the given secrets, bearer tokens, ``sk-...`` keys or credentials in a URL."""
    for s in secrets:
        if s:
            text = text.replace(s, "[redacted]")
    text = re.sub(r"(?i)(bearer\s+)[^\s'\"]+", r"\1[redacted]", text)
    return redact(re.sub(r"\bsk-[A-Za-z0-9_\-]{6,}", "[redacted]", text))


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``) header of a failed call, if any."""
    headers = getattr(exc, "litellm_response_headers", None)  # litellm keeps the provider's headers here
    if not headers:
        try:
            headers = exc.response.headers  # type: ignore[attr-defined]
        except Exception:
            return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(ms) / 1000))
        value = headers.get("retry-after")
    except Exception:
        return None
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()  # an HTTP date
        except (TypeError, ValueError):
            return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes and contexts (each once)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _endpoint(chain: list[BaseException], endpoints: Sequence[str]) -> str:
    """The api_base the failed request went to (from the request's URL), or the only one configured."""
    for e in chain:
        if not isinstance(e, httpx.HTTPError):  # litellm's own errors carry a placeholder request
            continue
        try:
            url = str(e.request.url)
        except RuntimeError:  # an httpx error raised without its request
            continue
        for base in endpoints:
            if base and url.startswith(base.rstrip("/")):
                return redact(base.rstrip("/"))
        parts = urlsplit(url)
        return redact(f"{parts.scheme}://{parts.netloc}")
    known = [b for b in endpoints if b]
    return redact(known[0].rstrip("/")) if len(known) == 1 else "the provider"


def _detail(exc: BaseException, secrets: Sequence[str]) -> str:
    detail = scrub(str(exc), secrets)
    return detail.split(" - ", 1)[-1].strip()[:200]  # drop litellm's "litellm.XError: XError: OpenAIException - "


def _is_provider_error(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, (openai.APIError, httpx.HTTPError))


def classify(exc: BaseException, *, secrets: Sequence[str], timeout_s: float,
             endpoints: Sequence[str] = ()) -> Failure | None:
    """The provider failure ``exc`` stands for, or None when it is not one (a bug: raise it)."""
    import openai

    chain = list(causes(exc))
    detail = _detail(exc, secrets)
    if "Missing credentials" in detail or "api_key client option must be set" in detail:
        # the openai SDK refuses to send without a key; litellm reports it as a 500
        return Failure(f"no API key was sent ({detail})", 401, False, kind="credentials")
    if any(isinstance(e, (asyncio.TimeoutError, TimeoutError, httpx.TimeoutException, openai.APITimeoutError))
           for e in chain):
        return Failure(f"no answer within timeout_s={timeout_s:g}s", 408, True, kind="timeout")
    if any(isinstance(e, (httpx.ConnectError, ConnectionRefusedError)) for e in chain):
        where = _endpoint(chain, endpoints)
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            why = "connection refused"
        elif any(isinstance(e, socket.gaierror) for e in chain):
            why = "host name not found"
        else:
            why = _detail(next(e for e in chain if isinstance(e, httpx.ConnectError)), secrets) or "connect failed"
        return Failure(f"could not connect to {where}: {why}", None, True, kind="connect")
    if any(isinstance(e, (json.JSONDecodeError, Malformed)) for e in chain):
        return Failure(f"malformed response ({detail[:160]})", None, True, kind="malformed")
    if any(isinstance(e, (httpx.TransportError, ConnectionError)) for e in chain):
        return Failure(f"connection lost ({detail})", None, True, kind="connection")
    if not _is_provider_error(exc) or any(isinstance(e, _BUGS) for e in chain):
        return None  # ours, or litellm's own code failing (it wraps that as a 500 too): not worth a retry
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return Failure(f"{type(exc).__name__}: {detail}", None, False)
    phrase = httpx.codes.get_reason_phrase(status) or "error"
    retry_after = retry_after_s(exc) if status in (429, 503) else None
    return Failure(f"HTTP {status} {phrase} ({detail})", status, status in TRANSIENT_STATUS, retry_after)


def hint(failure: Failure, config: ModelConfig) -> str:
    """How to fix ``failure``, in a few words."""
    s = failure.status
    if failure.kind == "connect":
        return "is the server running?"
    if failure.kind == "credentials" or s in (401, 403):
        if config.api_key_env is None and not any(d.api_key_env for d in config.deployments or []):
            return ("set api_key_env to the NAME of a variable that holds the key "
                    "(any value will do for a local server that checks none)")
        return f"check the key in ${config.api_key_env} (api_key_env)" if config.api_key_env else \
            "check the keys of the deployments (api_key_env)"
    if s == 404:
        return "check the model name and api_base"
    if s == 400:
        return f"the provider refused the request; check that it supports style '{config.style}' and log-probabilities"
    if s == 429:
        return "lower concurrency or raise max_retries"
    if s == 408:
        return "raise timeout_s or lower concurrency"
    return "the provider is failing; try again later or raise max_retries"

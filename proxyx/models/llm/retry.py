"""The retry policy, on tenacity: which failures are tried again, and how long to wait.

Only a ``ProviderFault`` whose failure is transient is retried (HTTP
408/429/500/502/503/504, timeouts, connection trouble, malformed responses);
any other exception, a bug in proxyx's own code included, leaves at once.
The wait before retry ``n`` (0, 1, ...) is ``backoff_s(n)``: uniform in
[d/2, d], d = min(max_s, base_s * 2**n), so it always grows and spreads
clients that failed together; a ``Retry-After`` (429/503, capped at 120 s) is
waited at least.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity

from .failures import Failure

T = TypeVar("T")


class ProviderFault(Exception):
    """One attempt failed at the provider; ``attempts`` is set when the retries end."""

    def __init__(self, failure: Failure):
        super().__init__(failure.reason)
        self.failure = failure
        self.attempts = 1


def backoff_s(attempt: int, *, base_s: float, max_s: float, rng: random.Random) -> float:
    """Wait before retry ``attempt`` (0, 1, ...): uniform in [d/2, d], d = min(max_s, base_s * 2**attempt).

    The ranges of successive attempts do not overlap (until ``max_s``), so the
    wait always grows, and the jitter spreads clients that failed together.
    """
    d = min(max_s, base_s * 2**attempt)
    return d / 2 + rng.uniform(0, d / 2)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ProviderFault) and exc.failure.transient


async def with_retries(attempt: Callable[[], Awaitable[T]], *, attempts: int, base_s: float, max_s: float,
                       rng: random.Random, log: logging.Logger, name: str) -> T:
    """``await attempt()`` until it returns, at most ``attempts`` times; the last ``ProviderFault`` is raised."""
    count = 0

    def wait(state: tenacity.RetryCallState) -> float:
        w = backoff_s(state.attempt_number - 1, base_s=base_s, max_s=max_s, rng=rng)
        fault = state.outcome.exception() if state.outcome else None
        after = fault.failure.retry_after if isinstance(fault, ProviderFault) else None
        return w if after is None else max(w, after)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        log.info("%s: %s; retry %d of %d in %.2fs", name, state.outcome.exception().failure.reason,
                 state.attempt_number, attempts - 1, state.upcoming_sleep)

    async def counted() -> T:
        nonlocal count
        count += 1
        return await attempt()

    retrying = tenacity.AsyncRetrying(stop=tenacity.stop_after_attempt(attempts), wait=wait,
                                      retry=tenacity.retry_if_exception(_transient), before_sleep=before_sleep,
                                      reraise=True)
    try:
        return await retrying(counted)
    except ProviderFault as fault:
        fault.attempts = count
        raise

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

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity

from ...errors import CallFailed
from .failures import Failure, classify, hint

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


async def guarded(call: Awaitable[T], *, secrets: list[str], timeout_s: float, endpoints) -> T:
    """``await call`` within ``timeout_s``: a provider failure becomes a ``ProviderFault``; anything else (a bug)
    is raised as it is."""
    try:
        return await asyncio.wait_for(call, timeout=timeout_s)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        failure = classify(exc, secrets=secrets, timeout_s=timeout_s, endpoints=endpoints)
        if failure is None:
            raise
        raise ProviderFault(failure) from None  # no chain: the provider's text may hold the key


async def run_batch(n: int, attempt: Callable[[int], Awaitable[T]], on_result: Callable[[int, T], None], *,
                    config, base_s: float, max_s: float, rng: random.Random, log: logging.Logger, name: str) -> None:
    """``attempt(i)`` for every i < n, ``config.concurrency`` at a time, each with its retries; ``on_result(i, r)``
    as each succeeds. Then ``CallFailed`` naming the first failure, if any; a bug or Ctrl-C cancels the rest."""
    slots = asyncio.Semaphore(config.concurrency)
    failures: dict[int, ProviderFault] = {}

    async def one(i: int) -> None:
        async with slots:  # held through the retries: a rate-limited call slows the batch down
            try:
                result = await with_retries(lambda: attempt(i), attempts=1 + config.max_retries, base_s=base_s,
                                            max_s=max_s, rng=rng, log=log, name=name)
            except ProviderFault as fault:
                failures[i] = fault
                return
        on_result(i, result)

    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    if failures:
        fault = failures[min(failures)]
        f, tries = fault.failure, fault.attempts
        raise CallFailed(f"{config.model}: {len(failures)} of {n} calls failed; first: {f.reason} "
                         f"after {tries} attempt{'s' * (tries != 1)}; {hint(f, config)}", status=f.status,
                         attempts=tries)

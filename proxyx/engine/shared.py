"""One cache and one budget for every worker of a cluster, each behind one owner (a Ray actor on the head node).

``CacheOwner`` holds the run's SQLite call cache (``proxyx.cache``) and
answers batched lookups, stores and claims; ``SharedCache`` is the
``CallCache`` a worker uses, anywhere in the cluster, forwarding every
operation to the owner. Each worker claims under its own owner id, so two
workers never send the same text; when a worker dies, the driver ends its
claims (``drop``) and another worker sends what it had not answered.

``BudgetOwner`` holds the run's ``max_usd``: a worker's ``SharedLedger``
reserves each call's worst case with it before sending (as ``Ledger`` does
in one process) and settles it when the answer arrives, so the cap holds
across all workers together. Tallies (calls, tokens, dollars by model, role
and purpose) stay in each worker's ledger and reach the report with each
instance's result.

The owners are plain classes; ``proxyx.engine.cluster`` makes them actors.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..cache import CallCache, Claim
from ..errors import BudgetExceeded, CacheError
from ..ledger import Key, Ledger
from ..models.base import Answer
from ..results import Cost


class CacheOwner:
    """The run's call cache, one ``CallCache`` (claim identity) per worker; counts operations and their time."""

    def __init__(self, directory: str):
        self.directory = directory
        self._caches: dict[str, CallCache] = {}
        self.ops: Counter[str] = Counter()
        self.seconds = 0.0
        self._timed("check", lambda: self._cache("owner").check())

    def _cache(self, worker: str) -> CallCache:
        if worker not in self._caches:
            self._caches[worker] = CallCache(Path(self.directory))
        return self._caches[worker]

    def _timed(self, op: str, work, n: int = 1):
        start = time.perf_counter()
        try:
            return work()
        except CacheError as e:  # crosses the actor boundary as a value: the worker raises it again
            return e
        finally:
            self.seconds += time.perf_counter() - start
            self.ops[op] += n

    def get_many(self, worker: str, fingerprint: str, texts: list[str]) -> dict[str, Answer] | CacheError:
        return self._timed("lookups", lambda: self._cache(worker).get_many(fingerprint, texts), len(texts))

    def put_many(self, worker: str, fingerprint: str, model: str, answers: list[tuple[str, Answer]]) -> None:
        def put():
            for text, answer in answers:
                self._cache(worker).put(fingerprint, model, text, answer)
        return self._timed("stores", put, len(answers))

    def claim(self, worker: str, fingerprint: str, texts: list[str], limit: int | None) -> Claim | CacheError:
        return self._timed("claims", lambda: self._cache(worker).claim(fingerprint, texts, limit=limit))

    def release(self, worker: str, fingerprint: str, texts: list[str]) -> None:
        return self._timed("releases", lambda: self._cache(worker).release(fingerprint, texts))

    def drop(self, worker: str) -> None:
        """End a dead worker's claims: what it had not answered may now be sent by another worker."""
        cache = self._caches.pop(worker, None)
        if cache is not None:
            cache.release_all()
            cache.close()

    def size(self) -> int:
        return len(self._cache("owner"))

    def stats(self) -> dict:
        return {"seconds": self.seconds, **self.ops}


def reraised(value):
    if isinstance(value, CacheError):
        raise value
    return value


class SharedCache:
    """A ``CallCache`` whose file is the owner's: the same methods, each one round trip to the ``CacheOwner``."""

    def __init__(self, owner, worker: str):
        self.owner, self.worker = owner, worker

    def _ask(self, method: str, *args):
        import ray

        return reraised(ray.get(getattr(self.owner, method).remote(self.worker, *args)))

    def check(self) -> None:
        pass  # the owner checked the file when it opened it

    def get_many(self, fingerprint: str, texts: Iterable[str]) -> dict[str, Answer]:
        return self._ask("get_many", fingerprint, list(texts))

    def put(self, fingerprint: str, model: str, text: str, answer: Answer) -> None:
        """Stored before returning: an answer a worker has is on the head node's disk if the worker dies."""
        self._ask("put_many", fingerprint, model, [(text, answer)])

    def claim(self, fingerprint: str, texts: Iterable[str], *, limit: int | None = None) -> Claim:
        return self._ask("claim", fingerprint, list(texts), limit)

    def release(self, fingerprint: str, texts: Iterable[str]) -> None:
        self._ask("release", fingerprint, list(texts))

    def __len__(self) -> int:
        import ray

        return ray.get(self.owner.size.remote())

    def close(self) -> None:
        pass


class BudgetOwner:
    """``max_usd`` for the whole cluster: a ``Ledger`` of every paid call, worst cases reserved before sending."""

    def __init__(self, max_usd: float, spent: dict[Key, Cost] | None = None):
        self.ledger = Ledger(max_usd=max_usd)
        self.ledger.absorb(spent or {})  # what the driver paid before the workers started (the screen)

    def reserve(self, usd: float) -> str | None:
        """None when ``usd`` fits, else why not (``BudgetExceeded``'s message, raised again by the worker)."""
        try:
            self.ledger.reserve(usd)
        except BudgetExceeded as e:
            return str(e)
        return None

    def release(self, usd: float) -> None:
        self.ledger.release(usd)

    def record_call(self, key: Key, answer: Answer) -> None:
        self.ledger.record_call(key, answer)

    def settle(self, usd: float, key: Key, answer: Answer) -> None:
        """A paid call's reservation turned into its cost in one step: no other worker reserves in between."""
        self.ledger.release(usd)
        self.ledger.record_call(key, answer)

    def spent_usd(self) -> float:
        return self.ledger.spent_usd


class SharedLedger(Ledger):
    """A worker's ledger: tallies here, the budget at the ``BudgetOwner`` (one cap across the cluster).

    Releases and paid calls are sent without waiting: Ray runs one caller's
    actor calls in order, so the owner has them before this worker's next
    reservation. A release is held until the paid call that follows it (the
    scorer releases a call's reservation, then records it) and both go as one
    ``settle``: released alone, the reservation would leave the cap open to
    another worker before the cost arrives. A release no call follows (a
    failed or unsent call) goes with the next reservation, or at ``give_back``.
    """

    def __init__(self, owner):
        super().__init__(max_usd=None)
        self.owner = owner
        self._held = 0.0

    def reserve(self, usd: float) -> None:
        import ray

        self.give_back()
        reason = ray.get(self.owner.reserve.remote(usd))
        if reason is not None:
            raise BudgetExceeded(reason)

    def release(self, usd: float) -> None:
        self._held += usd

    def record_call(self, key: Key, answer: Answer) -> None:
        super().record_call(key, answer)
        self.owner.settle.remote(self._held, key, answer)
        self._held = 0.0

    def give_back(self) -> None:
        """Release what is held (the worker calls it when an item is done)."""
        if self._held:
            self.owner.release.remote(self._held)
            self._held = 0.0

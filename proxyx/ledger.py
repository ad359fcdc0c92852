"""Calls, tokens and dollars per model, role and purpose; the budget guard.

Each (model, role, purpose) keeps a ``Cost``: *paid* (calls actually sent in
this run) and *nominal* (what the same answers cost when they were first
paid, cache hits included). Reports show both; cost ratios (CRR) use nominal
cost so that a rerun from a warm cache reports the same ratios while paying
$0. Dollars are integer nano-dollars (``proxyx.results``), so sums are exact
whatever order the answers arrive in.

Budget: before a call is sent its worst-case cost is reserved; a reservation
that could pass ``max_usd`` raises ``BudgetExceeded`` instead of sending.
"""

from __future__ import annotations

import threading

from .errors import BudgetExceeded
from .models.base import Answer
from .results import NANO, Cost, LedgerRow, Spend, nano

Key = tuple[str, str, str]  # (model, role, purpose)


def spend(answer: Answer) -> Spend:
    """One answer's calls, tokens, dollars and seconds."""
    return Spend(calls=1, tokens=answer.prompt_tokens + answer.completion_tokens, nano_usd=nano(answer.usd),
                 seconds=round(answer.seconds, 9))


def dollars(usd: float) -> str:
    """An amount with enough digits to tell it from zero: $0.0123, $0.000321, $3.2e-07."""
    return "$0" if usd == 0 else f"${usd:.4f}" if usd >= 0.01 else f"${usd:.3g}"


class Ledger:
    def __init__(self, *, max_usd: float | None = None):
        self.max_usd = max_usd
        self._tallies: dict[Key, Cost] = {}
        self._spent_nano = 0
        self._reserved = 0.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ budget
    @property
    def spent_usd(self) -> float:
        return self._spent_nano / NANO

    def reserve(self, usd: float) -> None:
        """Hold ``usd`` against the cap before sending a call."""
        with self._lock:
            if self.max_usd is not None and self.spent_usd + self._reserved + usd > self.max_usd + 1e-12:
                if self.spent_usd == 0 and self._reserved == 0:
                    raise BudgetExceeded(f"budget max_usd={self.max_usd:g} is less than one call (the next could "
                                         f"cost up to {dollars(usd)}); raise max_usd above {dollars(usd)}")
                raise BudgetExceeded(
                    f"budget max_usd={self.max_usd:g} reached (spent {dollars(self.spent_usd)}, next call could "
                    f"cost up to {dollars(usd)}); raise max_usd to continue, paid calls are cached"
                )
            self._reserved += usd

    def release(self, usd: float) -> None:
        with self._lock:
            self._reserved = max(0.0, self._reserved - usd)

    # ------------------------------------------------------------ recording
    def record_call(self, key: Key, answer: Answer) -> None:
        s = spend(answer)
        self._add(key, Cost(paid=s, nominal=s))

    def record_hit(self, key: Key, answer: Answer) -> None:
        self._add(key, Cost(nominal=spend(answer), hits=1))

    def record_failure(self, key: Key) -> None:
        self._add(key, Cost(failures=1))

    def absorb(self, tallies: dict[Key, Cost]) -> None:
        """Add another ledger's tallies (a worker's, for one instance) to this one."""
        for key, cost in tallies.items():
            self._add(key, cost)

    def _add(self, key: Key, cost: Cost) -> None:
        with self._lock:
            self._tallies[key] = self._tallies.get(key, Cost()) + cost
            self._spent_nano += cost.paid.nano_usd

    # ------------------------------------------------------------ views
    def snapshot(self) -> dict[Key, Cost]:
        """The tallies now (``Cost`` is immutable: later calls do not change a snapshot)."""
        with self._lock:
            return dict(self._tallies)

    def total(self, *, model: str | None = None, role: str | None = None, purpose: str | None = None,
              since: dict[Key, Cost] | None = None) -> Cost:
        """Cost of the matching keys (None matches any), minus ``since`` (an earlier snapshot)."""
        out = Cost()
        for key, c in self.snapshot().items():
            if (model or key[0]) != key[0] or (role or key[1]) != key[1] or (purpose or key[2]) != key[2]:
                continue
            out = out + (c - since[key] if since and key in since else c)
        return out

    def rows(self) -> list[LedgerRow]:
        return [LedgerRow(model=m, role=r, purpose=p, cost=c) for (m, r, p), c in sorted(self.snapshot().items())]

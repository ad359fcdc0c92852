"""Calls, tokens and dollars per model, role and purpose; the budget guard.

Two views of cost are kept: *paid* (calls actually sent in this run) and
*nominal* (what the same answers cost when they were first paid, cache hits
included). Reports show both; cost ratios (CRR) use nominal cost so that a
rerun from a warm cache reports the same ratios while paying $0.

Budget: before a call is sent its worst-case cost is reserved; a reservation
that could pass ``max_usd`` raises ``BudgetExceeded`` instead of sending.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import asdict, dataclass

from .errors import BudgetExceeded
from .models.base import Answer

PURPOSES = ("gate", "explain", "screen", "evaluate")


@dataclass
class Tally:
    calls: int = 0  # sent and answered in this run
    hits: int = 0  # answered from the cache
    failures: int = 0
    prompt_tokens: int = 0  # paid
    completion_tokens: int = 0
    usd: float = 0.0
    nominal_calls: int = 0  # calls + hits
    nominal_tokens: int = 0
    nominal_usd: float = 0.0
    nominal_seconds: float = 0.0  # wall time the answers took when they were paid for

    def add(self, other: "Tally") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    def minus(self, other: "Tally") -> "Tally":
        return Tally(**{k: v - getattr(other, k) for k, v in asdict(self).items()})

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict:
        d = asdict(self)
        d["usd"] = round(d["usd"], 10)
        d["nominal_usd"] = round(d["nominal_usd"], 10)
        return d


Key = tuple[str, str, str]  # (model, role, purpose)


class Ledger:
    def __init__(self, *, max_usd: float | None = None):
        self.max_usd = max_usd
        self._tallies: dict[Key, Tally] = defaultdict(Tally)
        self._reserved = 0.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ budget
    @property
    def spent_usd(self) -> float:
        return sum(t.usd for t in self._tallies.values())

    def reserve(self, usd: float) -> None:
        """Hold ``usd`` against the cap before sending a call."""
        with self._lock:
            if self.max_usd is not None and self.spent_usd + self._reserved + usd > self.max_usd + 1e-12:
                raise BudgetExceeded(
                    f"budget max_usd={self.max_usd:g} reached (spent ${self.spent_usd:.6f}, "
                    f"next call could cost up to ${usd:.6f}); raise max_usd to continue, paid calls are cached"
                )
            self._reserved += usd

    def release(self, usd: float) -> None:
        with self._lock:
            self._reserved = max(0.0, self._reserved - usd)

    # ------------------------------------------------------------ recording
    def record_call(self, key: Key, answer: Answer) -> None:
        with self._lock:
            t = self._tallies[key]
            t.calls += 1
            t.prompt_tokens += answer.prompt_tokens
            t.completion_tokens += answer.completion_tokens
            t.usd += answer.usd
            self._nominal(t, answer)

    def record_hit(self, key: Key, answer: Answer) -> None:
        with self._lock:
            t = self._tallies[key]
            t.hits += 1
            self._nominal(t, answer)

    def record_failure(self, key: Key) -> None:
        with self._lock:
            self._tallies[key].failures += 1

    @staticmethod
    def _nominal(t: Tally, answer: Answer) -> None:
        t.nominal_calls += 1
        t.nominal_tokens += answer.prompt_tokens + answer.completion_tokens
        t.nominal_usd += answer.usd
        t.nominal_seconds += answer.seconds

    # ------------------------------------------------------------ views
    def snapshot(self) -> dict[Key, Tally]:
        with self._lock:
            return {k: Tally(**asdict(v)) for k, v in self._tallies.items()}

    def total(self, *, model: str | None = None, role: str | None = None, purpose: str | None = None,
              since: dict[Key, Tally] | None = None) -> Tally:
        out = Tally()
        for key, t in self.snapshot().items():
            if (model or key[0]) != key[0] or (role or key[1]) != key[1] or (purpose or key[2]) != key[2]:
                continue
            out.add(t.minus(since[key]) if since and key in since else t)
        return out

    def rows(self) -> list[dict]:
        return [{"model": m, "role": r, "purpose": p, **t.to_dict()} for (m, r, p), t in sorted(self.snapshot().items())]

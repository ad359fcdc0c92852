"""A model behind the cache, the ledger and the budget.

``Scorer(texts, purpose)`` returns label probabilities, answering from the
cache where it can and sending only the rest, each answer persisted the
moment it arrives. Explainers and fidelity code only ever see a scorer's
numbers: they do not know whether a proxy or the oracle answers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .cache import CallCache
from .errors import BadAnswers, BudgetExceeded, ModelError
from .ledger import Ledger
from .models.base import Answer, Model, Usage

#: answers sent per round; bounds what is reserved against the budget at once
CHUNK = 256
#: first and longest pause while another process answers the texts this one needs
_WAIT_S = (0.02, 0.5)


class Scorer:
    def __init__(self, model: Model, *, cache: CallCache, ledger: Ledger, role: str):
        self.model = model
        self.cache = cache
        self.ledger = ledger
        self.role = role
        self._fingerprint = model.fingerprint()
        self.flags: dict[str, int] = {}

    @property
    def fingerprint(self) -> str:
        """Identity of this model's answers (the cache key's model part)."""
        return self._fingerprint

    def setup(self) -> None:
        """The model's one-off work (a distilled proxy asks the oracle), counted in the ledger now."""
        self.model.setup()

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    def __call__(self, texts: Sequence[str], purpose: str) -> np.ndarray:
        """Probabilities (len(texts), n_labels), in the order of ``task.labels``."""
        answers = self.answers(texts, purpose)
        return np.array([answers[t].probs for t in texts], dtype=float).reshape(len(texts), len(self.labels))

    def answers(self, texts: Sequence[str], purpose: str) -> dict[str, Answer]:
        """Answers of ``texts``: cached ones, then the rest sent in claimed rounds (``proxyx.cache``).

        Each round claims up to ``CHUNK`` unanswered texts that no other process
        has claimed, sends what the budget allows of them (BudgetExceeded when
        nothing fits) and releases the rest; texts another process claimed are
        read from the cache once it has answered them (hits for this run).
        """
        key = (self.name, self.role, purpose)
        unique = list(dict.fromkeys(texts))
        found = self._hits(unique, key)
        missing = [t for t in unique if t not in found]
        wait = _WAIT_S[0]
        while missing:
            claim = self.cache.claim(self._fingerprint, missing, limit=CHUNK)
            if claim.mine:
                try:
                    sent = self._send(claim.mine, key)
                finally:
                    self.cache.release(self._fingerprint, claim.mine)  # the unsent: another process may send them
                if not sent:  # Model.predict checks this; a round without progress must not repeat
                    raise BadAnswers(f"model {self.name} answered none of {len(claim.mine)} texts")
                found.update(sent)
            elsewhere = self._hits(claim.elsewhere, key)
            found.update(elsewhere)
            if claim.mine or elsewhere:
                wait = _WAIT_S[0]
            else:  # every remaining text is being answered by another process
                time.sleep(wait)
                wait = min(2 * wait, _WAIT_S[1])
            missing = [t for t in missing if t not in found]
        return found

    def _hits(self, texts: Sequence[str], key) -> dict[str, Answer]:
        found = self.cache.get_many(self._fingerprint, texts)
        for text in texts:
            if text in found:
                self.ledger.record_hit(key, found[text])
                self._flag(found[text])
        return found

    def _send(self, texts: list[str], key) -> dict[str, Answer]:
        """Reserve the worst case of each call, send the leading texts the budget allows, persist each answer.

        Returns the answers of ``texts[:k]`` for some k >= 1; raises BudgetExceeded when not one call fits.
        """
        reserved = []
        for t in texts:
            cost = self.model.worst_case_usd(t)
            try:
                self.ledger.reserve(cost)
            except BudgetExceeded:
                if not reserved:
                    raise
                break
            reserved.append(cost)
        affordable = texts[: len(reserved)]
        got: dict[str, Answer] = {}
        clock = [time.perf_counter()]

        def on_answer(i: int, answer: Answer) -> None:
            text = affordable[i]
            if text in got:
                return
            now = time.perf_counter()  # time since the previous answer: per-call wall time, concurrency included
            answer = replace(answer, seconds=now - clock[0])
            clock[0] = now
            self.cache.put(self._fingerprint, self.name, text, answer)
            self.ledger.release(reserved[i])
            self.ledger.record_call(key, answer)
            self._flag(answer)
            got[text] = answer

        try:
            self.model.predict(affordable, on_answer=on_answer)
        except BaseException as e:  # a failed call, a config error, Ctrl-C: give back what was not spent
            for i, text in enumerate(affordable):
                if text not in got:
                    self.ledger.release(reserved[i])
                    if isinstance(e, ModelError):
                        self.ledger.record_failure(key)
            raise
        return got

    def _flag(self, answer: Answer) -> None:
        if answer.flag:
            self.flags[answer.flag] = self.flags.get(answer.flag, 0) + 1

    def estimate(self, texts: Sequence[str]) -> Usage:
        """What answering ``texts`` would cost with no cache (no call is made)."""
        pt = ct = 0
        usd = 0.0
        for t in dict.fromkeys(texts):
            u = self.model.estimate(t)
            pt, ct, usd = pt + u.prompt_tokens, ct + u.completion_tokens, usd + u.usd
        return Usage(pt, ct, usd)

    def close(self) -> None:
        self.model.close()

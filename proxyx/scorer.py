"""A model behind the cache, the ledger and the budget.

``Scorer(texts, purpose)`` returns label probabilities, answering from the
cache where it can and sending only the rest, each answer persisted the
moment it arrives. Explainers and fidelity code only ever see a scorer's
numbers: they do not know whether a proxy or the oracle answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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
        #: called with (purpose, answers by text) after every call, hits included (a learned proxy hears the oracle)
        self.listeners: list[Callable[[str, dict[str, Answer]], None]] = []

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

    def refresh(self) -> None:
        """Read the model's fingerprint again: a model that learns during a run answers otherwise after each fit."""
        self._fingerprint = self.model.fingerprint()

    def answers(self, texts: Sequence[str], purpose: str) -> dict[str, Answer]:
        """Answers of ``texts``: cached ones, then the rest sent in claimed rounds (``cached_answers``)."""
        found = cached_answers(self.cache, self.ledger, self._fingerprint, self.name, (self.name, self.role, purpose),
                              texts, worst_case=self.model.worst_case_usd,
                              send=lambda batch, on_answer: self.model.predict(batch, on_answer=on_answer),
                              on_answer=self._flag)
        for listen in self.listeners:
            listen(purpose, found)
        return found

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


#: ``send(keys, on_answer)``: ask the model about ``keys``, calling ``on_answer(i, answer)`` as each arrives
Send = Callable[[list[str], Callable[[int, Answer], None]], object]


def cached_answers(cache: CallCache, ledger: Ledger, fingerprint: str, name: str, key: tuple, keys: Sequence[str], *,
                   worst_case: Callable[[str], float], send: Send,
                   on_answer: Callable[[Answer], None] = lambda a: None) -> dict[str, Answer]:
    """Answers of ``keys`` (the texts a model is asked, as cached): cached ones, then the rest sent in rounds.

    Each round claims up to ``CHUNK`` unanswered keys that no other process
    has claimed, sends what the budget allows of them (BudgetExceeded when
    nothing fits) and releases the rest; keys another process claimed are
    read from the cache once it has answered them (hits for this run). Keys
    are sent in the order given. ``key`` is the ledger's (model, role,
    purpose); ``on_answer`` sees every answer, hit or paid.
    """
    unique = list(dict.fromkeys(keys))
    found = _hits(cache, ledger, fingerprint, key, unique, on_answer)
    missing = [k for k in unique if k not in found]
    wait = _WAIT_S[0]
    while missing:
        claim = cache.claim(fingerprint, missing, limit=CHUNK)
        if claim.mine:
            try:
                sent = _send(cache, ledger, fingerprint, name, key, claim.mine, worst_case, send, on_answer)
            finally:
                cache.release(fingerprint, claim.mine)  # the unsent: another process may send them
            if not sent:  # Model.predict checks this; a round without progress must not repeat
                raise BadAnswers(f"model {name} answered none of {len(claim.mine)} texts")
            found.update(sent)
        elsewhere = _hits(cache, ledger, fingerprint, key, claim.elsewhere, on_answer)
        found.update(elsewhere)
        if claim.mine or elsewhere:
            wait = _WAIT_S[0]
        else:  # every remaining key is being answered by another process
            time.sleep(wait)
            wait = min(2 * wait, _WAIT_S[1])
        missing = [k for k in missing if k not in found]
    return found


def _hits(cache: CallCache, ledger: Ledger, fingerprint: str, key: tuple, keys: Sequence[str],
          on_answer: Callable[[Answer], None]) -> dict[str, Answer]:
    found = cache.get_many(fingerprint, keys)
    for k in keys:
        if k in found:
            ledger.record_hit(key, found[k])
            on_answer(found[k])
    return found


def _send(cache: CallCache, ledger: Ledger, fingerprint: str, name: str, key: tuple, keys: list[str],
          worst_case: Callable[[str], float], send: Send, on_answer: Callable[[Answer], None]) -> dict[str, Answer]:
    """Reserve the worst case of each call, send the leading keys the budget allows, persist each answer.

    Returns the answers of ``keys[:k]`` for some k >= 1; raises BudgetExceeded when not one call fits.
    """
    reserved = []
    for k in keys:
        cost = worst_case(k)
        try:
            ledger.reserve(cost)
        except BudgetExceeded:
            if not reserved:
                raise
            break
        reserved.append(cost)
    affordable = keys[: len(reserved)]
    got: dict[str, Answer] = {}
    clock = [time.perf_counter()]

    def arrived(i: int, answer: Answer) -> None:
        k = affordable[i]
        if k in got:
            return
        now = time.perf_counter()  # time since the previous answer: per-call wall time, concurrency included
        answer = replace(answer, seconds=now - clock[0])
        clock[0] = now
        cache.put(fingerprint, name, k, answer)
        ledger.release(reserved[i])
        ledger.record_call(key, answer)
        on_answer(answer)
        got[k] = answer

    try:
        send(affordable, arrived)
    except BaseException as e:  # a failed call, a config error, Ctrl-C: give back what was not spent
        for i, k in enumerate(affordable):
            if k not in got:
                ledger.release(reserved[i])
                if isinstance(e, ModelError):
                    ledger.record_failure(key)
        raise
    return got

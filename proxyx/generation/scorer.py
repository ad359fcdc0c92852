"""A model that generates text, behind the call cache, the ledger and the budget: never pay twice.

``build_generator`` builds the model a config block names for a ``GenTask``
(``proxyx.models.build_model``) and wraps it in a ``Generator``.
``Generator.answer(prompts)`` decodes greedily; ``Generator.score(pairs)`` scores
given answers teacher-forced (``check``: computed as decoding would, for the
greedy check of decoded-output reuse). A request is cached under the model's
fingerprint and a text naming its kind (``decode``, ``score``, ``check``), the
prompt and the answer, in the same SQLite file as classifier calls (``proxyx.cache``):
claims keep two processes from paying one call twice, and every result is
stored the moment it exists. Requests are sent in sorted prompt order
(``order=True``), so an in-process model reuses the longest shared prefix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from ..cache import CallCache
from ..config import GenTask, ModelConfig
from ..errors import ConfigError, DataError
from ..ledger import Ledger
from ..models import Answer, Decoded, Model, Scored, TokenScores, build_model
from ..scorer import cached_answers


def _decode_key(prompt: str) -> str:
    return "decode\x00" + prompt


def _score_key(kind: str, prompt: str, answer: str) -> str:
    return kind + "\x00" + prompt + "\x00" + answer


class Generator:
    """``answer`` / ``score`` through the cache and the ledger; ``order`` sends requests in prompt order."""

    def __init__(self, backend: Model, *, cache: CallCache, ledger: Ledger, role: str = "oracle",
                 order: bool = True):
        self.backend = backend
        self.cache = cache
        self.ledger = ledger
        self.role = role
        self.order = order
        self.fingerprint = hashlib.sha256(json.dumps(backend.text_identity(), sort_keys=True).encode()).hexdigest()

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def max_tokens(self) -> int:
        return self.backend.task.max_tokens

    @property
    def can_score(self) -> bool:
        return self.backend.can_score

    def check_fits(self, prompt: str) -> int:
        """Prompt tokens of ``prompt``; ``DataError`` when it and an answer cannot fit the context window."""
        n = self.backend.count_tokens(prompt)
        limit = self.backend.context_limit()
        if limit is not None and n + self.max_tokens > limit:
            raise DataError(f"an input makes a {n:,}-token prompt, and with task.max_tokens={self.max_tokens} it does "
                            f"not fit {self.name}'s context window of {limit:,} tokens; shorten the context "
                            "(dataset.max_words) or lower task.max_tokens")
        return n

    # ------------------------------------------------------------ public

    def answer(self, prompts: Sequence[str], purpose: str = "explain") -> list[Decoded]:
        """Greedy answer of each prompt."""
        got = self._run([_decode_key(p) for p in prompts], purpose,
                        lambda keys, cb: self.backend.decode_many([k.split("\x00", 1)[1] for k in keys], cb))
        out = []
        for p in prompts:
            a = got[_decode_key(p)]
            out.append(Decoded(text=a.text or "", logprobs=tuple(a.probs), prompt_tokens=a.prompt_tokens,
                               completion_tokens=a.completion_tokens))
        return out

    def score(self, pairs: Sequence[tuple[str, str]], purpose: str = "explain") -> list[TokenScores]:
        """Teacher-forced ``TokenScores`` of each (prompt, answer)."""
        return self._scores(pairs, purpose, "score", self.backend.score_many)

    def check(self, pairs: Sequence[tuple[str, str]], purpose: str = "explain") -> list[TokenScores]:
        """Like ``score``, computed exactly as greedy decoding would: ``is_greedy`` then tells what decoding gives."""
        return self._scores(pairs, purpose, "check", self.backend.check_many)

    def _scores(self, pairs, purpose: str, kind: str, many) -> list[TokenScores]:
        if not self.can_score:
            raise ConfigError(f"{self.name} returns no prompt log-probabilities, so answers cannot be scored "
                              "teacher-forced; use explainer.value: answer_match, or a completion endpoint with "
                              "echo and logprobs (llama.cpp server, vLLM)")

        def send(keys, cb):
            many([tuple(k.split("\x00", 2)[1:]) for k in keys], cb)

        got = self._run([_score_key(kind, p, a) for p, a in pairs], purpose, send)
        return [TokenScores.decode(got[_score_key(kind, p, a)].probs) for p, a in pairs]

    # ------------------------------------------------------------ cache, claims, ledger

    def _run(self, keys: list[str], purpose: str, send) -> dict[str, Answer]:
        """Answers of ``keys`` through the cache, claims and ledger (``proxyx.scorer.cached_answers``);
        ``send(keys, on_result)`` gets the backend's results, turned into cacheable answers here."""
        unique = list(dict.fromkeys(keys))
        if self.order:
            unique.sort(key=lambda k: k.split("\x00", 1)[1])

        def send_answers(batch: list[str], on_answer) -> None:
            def on_result(i: int, r: Decoded | Scored) -> None:
                usd = self.backend.cost(r.prompt_tokens, r.completion_tokens)
                if isinstance(r, Decoded):
                    a = Answer(probs=r.logprobs, prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
                               usd=usd, text=r.text)
                else:
                    a = Answer(probs=r.scores.encode(), prompt_tokens=r.prompt_tokens,
                               completion_tokens=r.completion_tokens, usd=usd)
                on_answer(i, a)
            send(batch, on_result)

        return cached_answers(self.cache, self.ledger, self.fingerprint, self.name, (self.name, self.role, purpose),
                              unique, worst_case=self._worst_case, send=send_answers)

    def _worst_case(self, k: str) -> float:
        n = len(k.encode("utf-8"))  # bytes >= tokens: a safe bound without tokenizing
        return self.backend.cost(n, self.max_tokens)

    def close(self) -> None:
        self.backend.close()


def build_generator(model: ModelConfig, task: GenTask, *, cache: CallCache, ledger: Ledger, role: str = "oracle",
                    order: bool = True, **options) -> Generator:
    """A ``Generator`` (greedy ``answer``, teacher-forced ``score``) for ``model`` on ``task``; ``ConfigError`` when
    the model cannot generate. ``options`` go to an in-process model (embedded Gemma: ``n_ctx``, ``n_threads``,
    ``block``)."""
    return Generator(build_model(model, task, **options), cache=cache, ledger=ledger, role=role, order=order)

"""One protocol for every model: label probabilities for a batch of texts, and, for an LLM, generated text.

A model is built for one task: a classifier task (``TaskConfig``: ``predict``
gives label probabilities) or a generation task (``GenTask``: ``decode_many``
answers greedily, ``score_many`` / ``check_many`` give an answer's
teacher-forced log-probabilities; only classes that declare ``generates``).
A model never knows it is being explained, and knows nothing of the cache,
the ledger or the budget (``proxyx.scorer`` and ``proxyx.generation.scorer``
wrap those around it).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np

from ..config import GenTask, ModelConfig, Price, TaskConfig
from ..errors import BadAnswers, ModelError
from .generated import OnResult


@dataclass(frozen=True)
class Answer:
    """One model call: probabilities over ``task.labels`` plus what it cost."""

    probs: tuple[float, ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    flag: str | None = None  # e.g. "verbalized": no log-probabilities, one-hot from the answer text
    seconds: float = 0.0  # wall time this answer took (set by the scorer; kept in the cache for throughput)
    text: str | None = None  # a generated answer (proxyx.generation); None for classifier answers

    def to_json(self) -> str:
        d = asdict(self)
        if d["text"] is None:  # classifier answers are stored as before
            del d["text"]
        return json.dumps(d)

    @classmethod
    def from_json(cls, s: str) -> "Answer":
        d = json.loads(s)
        d["probs"] = tuple(d["probs"])
        return cls(**d)


@dataclass(frozen=True)
class Usage:
    """Token counts and dollars of a call, measured or estimated without calling."""

    prompt_tokens: int
    completion_tokens: int
    usd: float


OnAnswer = Callable[[int, Answer], None]


class Model(ABC):
    """Base of all models.

    Subclasses implement ``_predict`` (and may override ``count_prompt_tokens``
    and ``price``). ``predict`` calls ``on_answer(i, answer)`` as soon as
    answer ``i`` is known, so a caller can persist it before the batch ends,
    and checks that every text is answered exactly once.
    """

    #: default price for this kind of model, dollars per million tokens
    default_price = Price()

    # What the backend can do, declared by each class (``proxyx.models.model_class(name)`` reads them with
    # nothing built or loaded); code outside ``models/`` asks these, never a model's name.
    #: an LLM: answers a whole rendered prompt verbatim (few-shot prompts with demonstrations masked)
    answers_prompts: ClassVar[bool] = False
    #: reads the demonstrations back out of a rendered prompt (so it is given the task, not a raw prompt)
    reads_demonstrations: ClassVar[bool] = False
    #: fits on the data set's train split
    trains: ClassVar[bool] = False
    #: decodes text and scores given answers teacher-forced (``task.type: generate``, rerank): built for a
    #: ``GenTask``, it implements ``count_tokens``, ``decode_many`` and ``score_many``
    generates: ClassVar[bool] = False
    #: runs in this process and gives the token log-probabilities of a whole text (self-information)
    token_logprobs: ClassVar[bool] = False
    #: its weights give label-loss gradients (``proxyx influence``)
    gradients: ClassVar[bool] = False
    #: runs on this machine's CPU with ``config.threads`` threads
    cpu_threads: ClassVar[bool] = False

    def __init__(self, *, config: ModelConfig, task: TaskConfig | GenTask):
        self.config = config
        self.task = task

    @classmethod
    def build(cls, config: ModelConfig, task: TaskConfig | GenTask, *, train=None, teacher=None, seed: int = 0,
              **options) -> Model:
        """The model of a config block, constructed only (nothing is loaded); ``train``, ``teacher`` and ``seed``
        are for the models that fit on the train split, ``options`` for an in-process LLM (``n_ctx``...)."""
        return cls(config=config, task=task, **options)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def labels(self) -> list[str]:
        return list(self.task.labels)

    @property
    def price(self) -> Price:
        return self.config.price or self.default_price

    def fingerprint(self) -> str:
        """Identity of the answers: the model, its prompt and scoring parameters (not price, not alias)."""
        ident = {"model": self.config.model, "api_base": self.config.api_base, "style": self.config.style,
                 "top_logprobs": self.config.top_logprobs, "model_path": self.config.model_path,
                 "task": self.task.model_dump(mode="json"), "scoring": self.scoring_params()}
        if self.config.system_prompt != "system":  # newer fields enter only away from their default
            ident["system_prompt"] = self.config.system_prompt
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

    def scoring_params(self) -> dict:
        """Extra parameters that change the answers; part of the cache key."""
        return {}

    def setup(self) -> None:
        """Do the one-off work that costs oracle calls (distillation), so the ledger counts it now."""

    def predict(self, texts: Sequence[str], on_answer: OnAnswer | None = None) -> list[Answer]:
        """Answer every text; ``on_answer`` sees each answer as soon as it exists.

        Checks the protocol: every index ``0..n-1`` reported exactly once, with
        one probability per label. A model that breaks it raises ``BadAnswers``
        (a duplicate at once, a missing answer when ``_predict`` returns).
        """
        texts = list(texts)
        if not texts:
            return []
        got: dict[int, Answer] = {}
        n, k = len(texts), len(self.labels)
        forward = on_answer or (lambda i, a: None)

        def checked(i: int, answer: Answer) -> None:
            if not (isinstance(i, int) and 0 <= i < n):
                raise BadAnswers(f"model {self.name} answered text index {i!r}, but the batch has texts 0..{n - 1}")
            if i in got:
                raise BadAnswers(f"model {self.name} answered text {i} of {n} twice; each text must be answered once")
            if len(answer.probs) != k:
                raise BadAnswers(f"model {self.name} gave {len(answer.probs)} probabilities for text {i}, "
                                 f"expected one per label ({k}: {', '.join(self.labels)})")
            got[i] = answer
            forward(i, answer)

        self._predict(texts, checked)
        if len(got) != n:
            missing = [i for i in range(n) if i not in got]
            raise BadAnswers(f"model {self.name} answered {len(got)} of {n} texts; no answer for text(s) "
                             f"{', '.join(map(str, missing[:5]))}{' ...' if len(missing) > 5 else ''}; "
                             "a model must report every text through on_answer exactly once")
        return [got[i] for i in range(n)]

    @abstractmethod
    def _predict(self, texts: list[str], on_answer: OnAnswer) -> list[Answer] | None:
        """Answer ``texts``, calling ``on_answer(i, answer)`` once per text (the return value is not used)."""

    def count_prompt_tokens(self, text: str) -> int:
        """Prompt tokens a call on ``text`` would use (no call is made)."""
        return max(1, len(text.split()))

    #: completion tokens of one call
    completion_tokens = 1

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        p = self.price
        return (prompt_tokens * p.input_per_mtok + completion_tokens * p.output_per_mtok) / 1e6

    def estimate(self, text: str) -> Usage:
        """What a call on ``text`` would cost, without calling."""
        pt = self.count_prompt_tokens(text)
        return Usage(pt, self.completion_tokens, self.cost(pt, self.completion_tokens))

    def worst_case_usd(self, text: str) -> float:
        """Upper bound of a call's cost, reserved against the budget before it is sent."""
        return self.estimate(text).usd

    def close(self) -> None:
        """Release resources (servers, threads); idempotent."""

    # ------------------------------------------------------------ generated text (``generates``; task: GenTask)

    @property
    def can_score(self) -> bool:
        """Does ``score_many`` work here (teacher-forced answer log-probabilities)?"""
        return self.generates

    def text_identity(self) -> dict:
        """What makes its generated answers what they are (the cache key's model part): model, decoding, scoring."""
        return {"kind": "generate", "model": self.config.model, "api_base": self.config.api_base,
                "model_path": self.config.model_path, "max_tokens": self.task.max_tokens, "stop": self.task.stop,
                "params": self.text_params()}

    def text_params(self) -> dict:
        """Parameters that change its generated answers' numbers (batch layout, echo mode...)."""
        return {}

    def context_limit(self) -> int | None:
        """Tokens the model holds (prompt + answer), when known."""
        return None

    def count_tokens(self, prompt: str) -> int:
        """Tokens of a whole prompt (no call)."""
        raise self._cannot_generate()

    def decode_many(self, prompts: list[str], on_result: OnResult) -> None:
        """Greedy answer of each prompt, reported through ``on_result(i, Decoded)`` in any order."""
        raise self._cannot_generate()

    def score_many(self, pairs: list[tuple[str, str]], on_result: OnResult) -> None:
        """Teacher-forced ``TokenScores`` of each (prompt, answer), reported as ``on_result(i, Scored)``."""
        raise self._cannot_generate()

    def check_many(self, pairs: list[tuple[str, str]], on_result: OnResult) -> None:
        """Like ``score_many``, computed exactly as greedy decoding would (for ``is_greedy``); default: the same."""
        self.score_many(pairs, on_result)

    def _cannot_generate(self) -> ModelError:
        return ModelError(f"{self.name} cannot generate text; a generate task needs an LLM")


def normalise(scores: dict[str, float], labels: Sequence[str]) -> tuple[float, ...]:
    """Probabilities over ``labels`` from unnormalised non-negative scores."""
    v = np.array([max(0.0, float(scores.get(lab, 0.0))) for lab in labels])
    total = v.sum()
    if not np.isfinite(total) or total <= 0:
        return tuple(1.0 / len(labels) for _ in labels)
    return tuple(float(x) for x in v / total)

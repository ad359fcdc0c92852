"""The config's ``task`` block: a classifier's (``models.TaskConfig``), ``type: generate``, or another kind.

``task.type`` names the kind: ``generate``, a kind added with
``proxyx.tasks.register_task``, or ``python:module:Class`` naming a ``Task``
subclass (imported and registered when the config is read); anything else is
refused with the choices. Also the explainer's generation options
(``HierarchyConfig``). A classifier config never sees the generation fields,
so no existing fingerprint or prompt changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from ..inputs import PYTHON
from ..tasks import registered_kinds, task_class
from .models import Strict, TaskConfig, check_placeholders, registered

#: context units, from coarse to fine (``proxyx.perturb`` owns what each one is)
GEN_UNITS = ("document", "sentence", "word")


class GenTask(Strict):
    """A question about a context, answered greedily by the oracle; the answer is what is explained.

    The prompt is ``instruction`` + blank line (when given) + ``template``
    filled with ``{context}`` (the kept documents joined by ``separator``) and
    ``{question}``. Decoding stops at ``max_tokens`` or at a token holding one
    of ``stop`` (that token is not part of the answer).
    """

    instruction: str = ""
    template: str = "Context:\n{context}\n\nQuestion: {question}\nAnswer:"
    max_tokens: Annotated[int, Field(gt=0, le=1024)] = 32
    stop: list[Annotated[str, Field(min_length=1)]] = ["\n"]
    separator: Annotated[str, Field(min_length=1)] = "\n\n"  # between documents, in the data and in the prompt

    @field_validator("template")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        """Exactly the placeholders ``{context}`` and ``{question}``, each at least once."""
        return check_placeholders(v, ("context", "question"), "a generate template takes {context} and {question}",
                                  lambda need: f"template must contain the placeholder {{{need}}} "
                                  "(e.g. 'Context: {context}\\nQuestion: {question}\\nAnswer:')")

    def prompt(self, context: str, question: str) -> str:
        """The completion prompt for one (masked) context."""
        intro = self.instruction.strip() + "\n\n" if self.instruction.strip() else ""
        return intro + self.template.format(context=context, question=question)


class HierarchyConfig(Strict):
    """Refine the top units of one level at the next: ``levels: [document, sentence, word]``.

    Rule: at each level below the first, only the units inside the ``top_k``
    most-attributed units of the level above (and, with ``threshold``, only
    those whose attribution is at least ``threshold`` times the largest) are
    explained; everything else stays as in the full input. Budget: ``samples``
    per level, capped by exact enumeration (Kernel SHAP enumerates all
    coalitions when they fit).
    """

    levels: Annotated[list[Literal["document", "sentence", "word"]], Field(min_length=1)] = \
        ["document", "sentence", "word"]
    top_k: Annotated[int, Field(gt=0)] = 2
    threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    samples: list[Annotated[int, Field(gt=0)]] | None = None  # per level; None: explainer.samples at each

    @model_validator(mode="after")
    def _coarse_to_fine(self) -> "HierarchyConfig":
        order = [GEN_UNITS.index(u) for u in self.levels]
        if order != sorted(set(order)):
            raise ValueError(f"levels must go from coarse to fine without repeats (document, sentence, word), "
                             f"got {self.levels}")
        if self.samples is not None and len(self.samples) != len(self.levels):
            raise ValueError(f"samples gives {len(self.samples)} budgets for {len(self.levels)} levels; give one per level")
        return self


# --------------------------------------------------------------------------- the config's ``task`` block

class GenerateTask(GenTask):
    """``task.type: generate`` in a config (``GenTask`` plus its tag)."""

    type: Literal["generate"] = "generate"


class KindTask(TaskConfig):
    """``task.type: KIND`` (registered) or ``python:module:Class``: the classifier's block (labels, verbalizers,
    ...) plus ``options``, the kind's own settings (``proxyx.tasks.base.Task`` reads them)."""

    type: Annotated[str, registered(task_class)]  # a python: one is imported and registered when read
    options: dict[str, Any] = {}


class _UnknownKind(BaseModel):
    """A ``task.type`` that names no kind: refused with the choices (the block's other keys are not read)."""

    type: Any

    @field_validator("type")
    @classmethod
    def _refuse(cls, v: Any) -> Any:
        raise ValueError(f"unknown task kind; use one of: {', '.join(registered_kinds())}, or python:module:Class "
                         "naming a Task subclass (proxyx.tasks.base.Task)")


# Tags named "function-..." are left out of the dotted path of config errors (``validation.key_path``), so a
# wrong template reads "task.template: ...", not "task.function-generate.template: ...".
_CLASSIFY, _GENERATE, _KIND, _UNKNOWN = "function-classify", "function-generate", "function-kind", "function-unknown"


def _task_kind(v) -> str:
    if isinstance(v, dict):
        kind = v.get("type")
        if kind is None:
            return _CLASSIFY
        if kind == "generate":
            return _GENERATE
        known = isinstance(kind, str) and (kind.startswith(PYTHON) or kind in registered_kinds())
        return _KIND if known else _UNKNOWN
    return _GENERATE if isinstance(v, GenerateTask) else _KIND if isinstance(v, KindTask) else _CLASSIFY


#: the ``task`` block: a classifier task (``TaskConfig``, the default), ``type: generate`` or another kind
TaskBlock = Annotated[Union[Annotated[TaskConfig, Tag(_CLASSIFY)], Annotated[GenerateTask, Tag(_GENERATE)],
                            Annotated[KindTask, Tag(_KIND)], Annotated[_UnknownKind, Tag(_UNKNOWN)]],
                      Discriminator(_task_kind)]


def is_generate(config) -> bool:
    """Is this config's task a generation task?"""
    return isinstance(config.task, GenerateTask)


def check_generate(config):
    """Config-level rule: the generation fields go with ``task.type: generate`` and the other way round."""
    ex, gen = config.explainer, is_generate(config)
    if not gen:
        if ex.unit == "document" or ex.hierarchy is not None or ex.value != "answer_logprob":
            raise ValueError("explainer.unit: document, explainer.hierarchy and explainer.value are for generated "
                             "answers; add task.type: generate (with a {context}/{question} template) or remove them")
        return config
    if ex.oracle_samples == "auto":
        raise ValueError("explainer.oracle_samples: auto (adaptive budgets) is for classification tasks for now; give "
                         "a number (e.g. 50)")
    if ex.unit not in GEN_UNITS:
        raise ValueError(f"explainer.unit {ex.unit!r} is not a unit of a generation context; use one of: "
                         f"{', '.join(GEN_UNITS)}")
    if len(config.proxies) > 1:
        raise ValueError(f"task.type: generate takes one proxy, got {len(config.proxies)}; keep one (a generation "
                         "model or local/answer-overlap)")
    if ex.estimator != "plain" and not config.proxies:
        raise ValueError(f"explainer.estimator: {ex.estimator} sharpens the oracle with a proxy's values; add one "
                         "proxy (e.g. proxies: [local/answer-overlap]) or use estimator: plain")
    return config

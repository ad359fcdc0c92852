"""``python:package.module:name``: your own classifier, named in the config, as oracle or proxy.

``package.module`` is imported (its folder must be on ``sys.path``: install it,
or run with ``PYTHONPATH=dir``) and ``name`` looked up in it (``Class.attr``
dotted paths work too). What ``name`` is decides how it is called:

1. an object with a ``predict_proba`` method (e.g. a fitted scikit-learn
   pipeline at module level): ``obj.predict_proba(texts)``;
2. a class, or a callable with no required argument: a *factory*, called once
   on first use (so training or loading happens then, not at import); what it
   returns must have ``predict_proba``;
3. any other callable: ``fn(texts)``.

``texts`` is a ``list[str]``; the result is array-like of shape
``(len(texts), len(task.labels))``: one row of probabilities per text, columns
in the order of ``task.labels``. When the classifier has ``classes_``
(scikit-learn), its columns are matched to ``task.labels`` by name instead.
Rows must be finite, non-negative and sum to 1 (within 1e-4).

Errors name the model: a module that does not import, a missing name or a
name that is neither of the above are ``ConfigError`` (exit 2, raised when the
session is opened, before anything is paid); an exception inside your code,
wrong shapes, NaN or rows that do not sum to 1 are ``ModelError`` /
``BadAnswers`` (the instance is marked failed, exit 3).

Cost: each text bills its word count as prompt tokens, at ``price`` from the
config (default: the local proxies' $0.01 per million words).

Cache: the fingerprint holds ``module:name``, the SHA-256 of the module's
source file (and of the file defining the object, when another) and the
module's ``__version__`` if it has one. A classifier that reads weights from
elsewhere should change its file (a version constant, say) when they change.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import numpy as np

from ..config import ModelConfig, TaskConfig
from ..errors import BadAnswers, ConfigError, ModelError
from ..inputs import PYTHON, first_line, import_named
from .base import OnAnswer
from .local import WordPricedModel

PREFIX = PYTHON
#: largest difference from 1 tolerated in a row's sum
SUM_TOLERANCE = 1e-4


def _sha256(path: str | None) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        return None


def _needs_no_argument(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: take them as fn(texts)
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


class PythonModel(WordPricedModel):
    """A classifier of your own, ``python:package.module:name`` (see the module doc for the contract)."""

    def __init__(self, *, config: ModelConfig, task: TaskConfig):
        super().__init__(config=config, task=task)
        self.target_ = None  # the object ``name`` refers to, once imported
        self.kind_: str | None = None  # "classifier", "factory" or "function"
        self.files_: dict[str, str | None] = {}
        self.version_ = None
        self.order_: list[int] | None = None  # column of each task label, from the classifier's classes_
        self.classifier_ = None  # what answers: the classifier, the factory's product, or the function

    @property
    def spec(self) -> str:
        """``package.module:name``."""
        return self.config.model.removeprefix(PREFIX)

    def _fail(self, what: str) -> ConfigError:
        return ConfigError(f"model {self.config.model!r}: {what}")

    def _resolve(self):
        """Import the module and find the object (once); errors are ConfigError naming the model."""
        if self.target_ is not None:
            return self.target_
        module, obj = import_named(self.spec, self._fail, "python:my_models:classify")
        attr = self.spec.partition(":")[2]
        if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "predict_proba") and _needs_no_argument(obj)):
            kind = "factory"
        elif callable(getattr(obj, "predict_proba", None)):
            kind = "classifier"
        elif callable(obj):
            kind = "function"
        else:
            raise self._fail(f"{attr!r} is a {type(obj).__name__}, not a classifier with predict_proba, "
                             "a factory or a function of a list of texts")
        files = {"module": getattr(module, "__file__", None)}
        defining = inspect.getmodule(obj)
        if defining is not None and defining is not module:
            files["defined_in"] = getattr(defining, "__file__", None)
        self.files_ = {k: _sha256(v) for k, v in files.items()}
        self.version_ = getattr(module, "__version__", None)
        self.kind_, self.target_ = kind, obj
        return obj

    def scoring_params(self) -> dict:
        self._resolve()
        params = {"callable": self.spec, "kind": self.kind_, "source_sha256": self.files_}
        if self.version_ is not None:
            params["version"] = str(self.version_)
        return params

    def setup(self) -> None:
        """Import, and call the factory (its training or loading happens here, once)."""
        if self.classifier_ is not None:
            return
        made = target = self._resolve()
        if self.kind_ == "factory":
            try:
                made = target()
            except Exception as e:
                raise ModelError(f"{self.config.model}: the factory raised {first_line(e)}") from e
            if not callable(getattr(made, "predict_proba", None)):
                raise BadAnswers(f"{self.config.model}: the factory returned a {type(made).__name__}, which has no "
                                 "predict_proba(texts) method")
        self.order_ = self._column_order(made)
        self.classifier_ = made

    def _raw(self, texts: list[str]) -> np.ndarray:
        fn = self.classifier_ if self.kind_ == "function" else self.classifier_.predict_proba
        try:
            out = fn(texts)
        except Exception as e:
            raise ModelError(f"{self.config.model} raised {first_line(e)} on a batch of {len(texts)} texts") from e
        try:
            return np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raise BadAnswers(f"{self.config.model} returned a {type(out).__name__} that is not an array of "
                             "numbers; return probabilities of shape (n_texts, n_labels)") from None

    def _column_order(self, classifier) -> list[int] | None:
        """Which column holds each of ``task.labels``, by the classifier's ``classes_`` (None: as they come)."""
        classes = getattr(classifier, "classes_", None)
        if classes is None or self.kind_ == "function":
            return None
        classes = [str(c) for c in classes]
        if sorted(classes) != sorted(self.labels):
            raise BadAnswers(f"{self.config.model}: its classes_ {classes} are not task.labels {self.labels}; "
                             "fit it on the task's labels or change task.labels")
        return [classes.index(lab) for lab in self.labels]

    def _check(self, probs: np.ndarray, n: int) -> None:
        k = len(self.labels)
        if probs.shape != (n, k):
            raise BadAnswers(f"{self.config.model} returned an array of shape {probs.shape} for {n} texts; "
                             f"expected ({n}, {k}): one row per text, one column per label "
                             f"({', '.join(self.labels)})")
        bad = ~np.isfinite(probs).all(axis=1)
        if bad.any():
            raise BadAnswers(f"{self.config.model} returned NaN or infinite probabilities for text "
                             f"{int(np.argmax(bad))} of {n}")
        if (probs < 0).any():
            i = int(np.argmax((probs < 0).any(axis=1)))
            raise BadAnswers(f"{self.config.model} returned a negative probability for text {i} of {n}")
        sums = probs.sum(axis=1)
        off = np.abs(sums - 1) > SUM_TOLERANCE
        if off.any():
            i = int(np.argmax(off))
            raise BadAnswers(f"{self.config.model}: the probabilities of text {i} sum to {sums[i]:.6g}, not 1; "
                             "return probabilities (predict_proba, or a softmax), not scores")

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> None:
        self.setup()
        probs = self._raw(texts)
        if self.order_ is not None and probs.ndim == 2 and probs.shape[1] == len(self.order_):
            probs = probs[:, self.order_]
        self._check(probs, len(texts))
        for i, (text, p) in enumerate(zip(texts, probs.tolist())):
            on_answer(i, self._answer(p, text))


__all__ = ["PREFIX", "PythonModel"]

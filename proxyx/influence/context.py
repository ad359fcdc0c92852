"""What an influence run builds from its config: the training set, the gradient model, store and ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..data import Instance, load_split
from ..errors import ConfigError, DataError
from ..ledger import Ledger
from ..models import build_model, model_class, names_with
from ..runtime import Runtime, open_runtime
from ..scorer import Scorer
from .gradients import Example, GemmaGradients, check_components
from .store import GradStore


def training_set(config: Config) -> list[Instance]:
    """The train split's labelled reviews of ``influence.min_words``..``max_words`` words, first of each text only."""
    ic, ds = config.influence, config.dataset
    rows = load_split(ds.name, "train", path=ds.path, text_field=ds.text_field, label_field=ds.label_field,
                      require_labels=True)
    seen: set[str] = set()
    out = []
    for x in rows:
        if ic.min_words <= len(x.text.split()) <= ic.max_words and x.text not in seen and x.label in config.task.labels:
            seen.add(x.text)
            out.append(x)
    if len(out) < 2:
        raise DataError(f"only {len(out)} training examples have {ic.min_words}-{ic.max_words} words and a label in "
                        f"task.labels; raise influence.max_words or check dataset.label_field")
    return out


@dataclass
class InfluenceContext:
    config: Config
    train: list[Instance]
    model: GemmaGradients
    store: GradStore
    runtime: Runtime
    _oracle: Scorer | None = field(default=None, repr=False)

    @property
    def ledger(self) -> Ledger:
        return self.runtime.ledger

    def example(self, x: Instance) -> Example:
        return Example(text=x.text, label=str(x.label))

    def components(self, names: list[str] | None) -> list[str]:
        """``names`` checked against the model's components (None: all of them)."""
        valid = self.model.components()
        return valid if names is None else check_components(names, valid)

    def oracle_labels(self, texts: list[str]) -> list[str]:
        """The embedded oracle's predicted label of each text, through the call cache and the ledger."""
        if self._oracle is None:
            self._oracle = self.runtime.scorer(build_model(self.config.oracle, self.config.task), role="oracle")
        probs = self._oracle(texts, "influence")
        labels = self.config.task.labels
        return [labels[int(i)] for i in probs.argmax(axis=1)]

    def close(self) -> None:
        """Free the oracle and the call cache's connection (the gradient model stays): call when no more labels
        are needed (the cache reopens if they are)."""
        if self._oracle is not None:
            self._oracle.close()
        self._oracle = None
        self.runtime.close()


def open_influence(config: Config) -> InfluenceContext:
    """Check the config, load the training set, open the run's cache and ledger; the models load on first use."""
    if not model_class(config.oracle.model).gradients:
        able = names_with("gradients")
        raise ConfigError(f"oracle.model: influence needs gradients, which only the embedded {', '.join(able)} "
                          f"gives, got {config.oracle.model!r}; set oracle.model: {able[0]}")
    train = training_set(config)
    model = GemmaGradients(task=config.task, model_path=config.oracle.model_path, n_threads=config.influence.threads)
    store = GradStore(Path(config.cache_dir), model.fingerprint())
    return InfluenceContext(config=config, train=train, model=model, store=store, runtime=open_runtime(config))

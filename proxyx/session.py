"""Everything a run builds from its config: data, cache, ledger, scorers."""

from __future__ import annotations

from dataclasses import dataclass, field

from .cache import CallCache
from .config import MAX_TEXT_WORDS, Config, ModelConfig, TaskConfig
from .data import Instance, load_split, sample
from .errors import ConfigError, DataError
from .ledger import Ledger
from .models import build_model, model_class, names_with
from .models.base import Model
from .perturb import make_segments, raw_task
from .models.local import Teacher
from .runtime import Runtime, open_runtime
from .scorer import Scorer


@dataclass
class Session:
    config: Config
    cache: CallCache
    ledger: Ledger
    oracle: Scorer
    proxies: list[Scorer] = field(default_factory=list)

    def proxy(self, name: str) -> Scorer:
        for p in self.proxies:
            if p.name == name:
                return p
        raise KeyError(name)

    def segments(self, text: str):
        """The units of ``text`` that the config's ``explainer.unit`` names (``proxyx.perturb``)."""
        return make_segments(text, self.config.explainer.unit, self.config.task)

    def close(self) -> None:
        for s in [self.oracle, *self.proxies]:
            s.close()
        self.cache.close()


ALL = -1

def trains(mc: ModelConfig) -> bool:
    """Does the model of ``mc`` fit on the data set's train split?"""
    return model_class(mc.model).trains


def needs_training(config: Config) -> bool:
    """Does a model (the oracle or a proxy) fit on the train split?"""
    return any(trains(m) for m in [config.oracle, *config.proxies])


def _split(config: Config, split: str, *, require_labels: bool = False) -> list[Instance]:
    ds = config.dataset
    one_file = isinstance(ds.path, str)
    return load_split(ds.name, split, path=ds.path, text_field=ds.text_field, label_field=ds.label_field,
                      train_fraction=ds.train_fraction if one_file and needs_training(config) else None,
                      seed=ds.seed, require_labels=require_labels)


def load_instances(config: Config, split: str | None = None, limit: int | None = None) -> list[Instance]:
    """The seeded sample of a split (default: ``dataset.split``, ``dataset.limit``; ``limit=ALL``: every row).

    Texts over ``dataset.max_words`` are skipped; a sampled text over
    ``MAX_TEXT_WORDS`` is refused (``DataError`` naming its id) before anything is paid.
    """
    ds = config.dataset
    split = split or ds.split
    rows = _split(config, split)
    if ds.max_words:
        rows = [x for x in rows if len(x.text.split()) <= ds.max_words]
    limit = ds.limit if limit is None else (None if limit == ALL else limit)
    chosen = sample(rows, limit, ds.seed)
    for x in chosen:
        words = len(x.text.split())
        if words > MAX_TEXT_WORDS:
            raise DataError(f"instance {x.id!r} ({split} split) has {words:,} words; proxyx explains texts of at most "
                            f"{MAX_TEXT_WORDS:,} words: set dataset.max_words to skip longer ones, or shorten it")
    return chosen


def train_instances(config: Config) -> list[Instance]:
    """The train split, for the models that fit on it; never holds an explained instance.

    From ``dataset.path``, a training row whose text is also in the explained
    split (``dataset.split``) is left out. The built-in ``fine_foods`` keeps its
    published splits as they are (7 of its test reviews are also training
    reviews): changing them would change its proxies' fingerprints.
    """
    labels = any(trains(m) and not m.distill for m in [config.oracle, *config.proxies])
    train = _split(config, "train", require_labels=labels)
    if config.dataset.path is None:
        return train
    explained = {x.text for x in _split(config, config.dataset.split)}
    return [x for x in train if x.text not in explained]


def split_note(config: Config) -> str | None:
    """What the report should say about how ``dataset.path`` was split (None: nothing to say)."""
    ds = config.dataset
    if not isinstance(ds.path, str):
        return None
    if needs_training(config):
        names = ", ".join(sorted({m.name for m in [config.oracle, *config.proxies] if trains(m)}))
        screened = "the rows trained on" if ds.screen_split == "train" else "the other rows"
        return (f"dataset.path is one file: a seeded {ds.train_fraction:.0%} of its rows (dataset.seed {ds.seed}, "
                f"dataset.train_fraction) trains {names} and is never explained; the explained instances come from "
                f"the other rows, the screening instances from {screened}")
    return ("dataset.path is one file and no model trains on it: every split is the whole file; "
            "screening instances leave out the explained ones")


def prompt_model(mc: ModelConfig, task: TaskConfig, unit: str) -> Model:
    """The model of ``mc`` answering prompts whose ``unit`` units are masked.

    A model that reads the demonstrations back is given the task itself; an LLM (``answers_prompts``) answers
    the rendered prompt verbatim; any other model reads only the input text and is refused (fails closed).
    """
    cls = model_class(mc.model)  # an unknown local name fails here, listing the known ones
    if cls.reads_demonstrations:
        return build_model(mc, task)
    if cls.answers_prompts:
        return build_model(mc, raw_task(task))
    what = "demonstrations" if unit == "demonstration" else f"{unit}s of the demonstrations"
    raise ConfigError(f"{mc.name} reads only the input text, so it cannot see the {what} that this command masks; "
                      f"use {' or '.join(names_with('reads_demonstrations'))} or an LLM "
                      f"({', '.join(names_with('answers_prompts'))}, a litellm model) instead")


def open_session(config: Config, runtime: Runtime | None = None) -> Session:
    """Build models (nothing is loaded until used) behind the run's cache and ledger (``proxyx.runtime``).

    The cache is opened now, so a corrupt or unwritable one is reported before anything is paid. ``runtime``:
    another cache and ledger than the config's own (a Ray worker's, shared with the cluster: ``proxyx.engine``).
    """
    rt = runtime or open_runtime(config)
    train = train_instances(config) if needs_training(config) else None
    unit = config.explainer.unit
    if unit == "demonstration":  # what a model is asked is the whole prompt, demonstrations masked
        oracle = rt.scorer(prompt_model(config.oracle, config.task, unit), role="oracle")
        proxies = [rt.scorer(prompt_model(p, config.task, unit), role="proxy") for p in config.proxies]
    else:
        oracle = rt.scorer(build_model(config.oracle, config.task, train=train), role="oracle")
        proxies = [rt.scorer(_proxy_model(config, p, train, oracle), role="proxy") for p in config.proxies]
    return Session(config=config, cache=rt.cache, ledger=rt.ledger, oracle=oracle, proxies=proxies)


def _proxy_model(config: Config, proxy: ModelConfig, train: list[Instance] | None, oracle: Scorer):
    if not proxy.distill:
        return build_model(proxy, config.task, train=train)
    # Distilled from the oracle: on training texts like the ones explained (max_words), through its cache and ledger.
    ds = config.dataset
    texts = [x for x in train or [] if not ds.max_words or len(x.text.split()) <= ds.max_words]
    teacher = Teacher(fingerprint=oracle.fingerprint, predict_proba=lambda t: oracle(t, distill_purpose(proxy.name)))
    return build_model(proxy, config.task, train=texts, teacher=teacher, seed=config.seed)


def distill_purpose(proxy_name: str) -> str:
    """The ledger purpose of the oracle calls that distil ``proxy_name``."""
    return f"distill:{proxy_name}"

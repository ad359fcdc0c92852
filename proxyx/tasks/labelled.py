"""Labelled texts: the instances and the models of the classifier kinds (``classify``, ``prompt``).

Instances come from ``dataset`` (a built-in data set, or ``dataset.path``);
a model that trains is fitted on the train split (never on an explained
instance), a distilled proxy on the oracle's answers through the run's cache
and ledger; a prompt model answers the whole rendered prompt. Kept apart
from the task classes so that ``proxyx.session`` (and the apps) use them
without importing the flows the tasks run.
"""

from __future__ import annotations

from ..config import MAX_TEXT_WORDS, Config, ModelConfig, TaskConfig
from ..data import Instance, load_split, sample
from ..errors import ConfigError, DataError
from ..models import build_model, model_class, names_with
from ..models.base import Model
from ..models.local import Teacher
from ..perturb import raw_task
from ..scorer import Scorer

#: ``load_instances(limit=ALL)``: every row of the split
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


def proxy_model(config: Config, proxy: ModelConfig, train: list[Instance] | None, oracle: Scorer):
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

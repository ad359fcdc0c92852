"""Everything a run builds from its config: data, cache, ledger, scorers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .cache import CallCache
from .config import Config, ModelConfig
from .data import Instance, load_split, sample
from .ledger import Ledger
from .models import build_model
from .models.local import Teacher
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

    def close(self) -> None:
        for s in [self.oracle, *self.proxies]:
            s.close()
        self.cache.close()


ALL = -1


def load_instances(config: Config, split: str | None = None, limit: int | None = None) -> list[Instance]:
    """The seeded sample of a split (default: ``dataset.split``, ``dataset.limit``; ``limit=ALL``: every row)."""
    ds = config.dataset
    rows = load_split(ds.name, split or ds.split, path=ds.path, text_field=ds.text_field, label_field=ds.label_field)
    if ds.max_words:
        rows = [x for x in rows if len(x.text.split()) <= ds.max_words]
    limit = ds.limit if limit is None else (None if limit == ALL else limit)
    return sample(rows, limit, ds.seed)


def open_session(config: Config) -> Session:
    """Build models (nothing is loaded until used) and wrap them in the cache and ledger."""
    ds = config.dataset
    cache = CallCache(Path(config.cache_dir))
    ledger = Ledger(max_usd=config.max_usd)
    needs_train = any(p.model == "local/tfidf-lr" for p in config.proxies)
    train = load_split(ds.name, "train", path=ds.path, text_field=ds.text_field, label_field=ds.label_field) if needs_train else None
    oracle = Scorer(build_model(config.oracle, config.task, train=train), cache=cache, ledger=ledger, role="oracle")
    proxies = [Scorer(_proxy_model(config, p, train, oracle), cache=cache, ledger=ledger, role="proxy")
               for p in config.proxies]
    return Session(config=config, cache=cache, ledger=ledger, oracle=oracle, proxies=proxies)


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

"""The k-shot prompt of an app and the instances it is measured on.

Demonstrations are ``task.few_shot`` when the config lists them, else
``demonstrations.count`` reviews drawn (seeded, short, label-balanced)
from ``demonstrations.split``. Validation instances (whose attributions are
averaged) come from the same split, test instances (accuracy) from
``dataset.split``; the three sets never share a text.
"""

from __future__ import annotations

import numpy as np

from ..config import Config, FewShot, TaskConfig
from ..data import Instance, load_split, sample
from ..errors import ConfigError, DataError


def _rows(config: Config, split: str, max_words: int | None) -> list[Instance]:
    ds = config.dataset
    rows = load_split(ds.name, split, path=ds.path, text_field=ds.text_field, label_field=ds.label_field)
    return [x for x in rows if x.text.strip() and (not max_words or len(x.text.split()) <= max_words)]


def demonstrations(config: Config) -> list[FewShot]:
    """The prompt's demonstrations (whitespace of drawn texts normalised)."""
    if config.task.few_shot:
        return list(config.task.few_shot)
    d = config.demonstrations
    if d.count == 0:
        raise ConfigError("demonstrations.count: the prompt has no demonstrations (count is 0 and task.few_shot is "
                          "empty); set demonstrations.count to e.g. 8, or list them in task.few_shot")
    labels = config.task.labels
    rows = [x for x in _rows(config, d.split, d.max_words) if x.label in labels]
    rng = np.random.default_rng(d.seed)
    if d.balanced:
        want = {lab: d.count // len(labels) + (i < d.count % len(labels)) for i, lab in enumerate(labels)}
        picked = []
        for lab in labels:
            pool = [x for x in rows if x.label == lab]
            if len(pool) < want[lab]:
                raise DataError(f"demonstrations: only {len(pool)} {d.split} texts labelled {lab!r} have at most "
                                f"{d.max_words} words, {want[lab]} wanted; raise demonstrations.max_words")
            picked += [pool[i] for i in sorted(rng.choice(len(pool), want[lab], replace=False))]
        picked = [picked[i] for i in rng.permutation(len(picked))]
    else:
        if len(rows) < d.count:
            raise DataError(f"demonstrations: only {len(rows)} {d.split} texts have at most {d.max_words} words, "
                            f"{d.count} wanted; raise demonstrations.max_words or lower demonstrations.count")
        picked = [rows[i] for i in rng.choice(len(rows), d.count, replace=False)]
    return [FewShot(text=" ".join(x.text.split()), label=x.label) for x in picked]


def with_shots(task: TaskConfig, shots: list[FewShot]) -> TaskConfig:
    return task.model_copy(update={"few_shot": list(shots)})


def poisoned(config: Config, shots: list[FewShot]) -> tuple[list[FewShot], list[int]]:
    """The demonstrations with ``clean.poison``'s labels flipped (to the next label), and which ones."""
    p, k = config.clean.poison, len(shots)
    if p.indices is not None:
        bad = [i for i in p.indices if i >= k]
        if bad:
            raise ConfigError(f"clean.poison.indices: {bad} out of range; the prompt has {k} demonstrations "
                              f"(indices 0..{k - 1})")
        chosen = sorted(set(p.indices))
    else:
        if p.drawn > k:
            raise ConfigError(f"clean.poison.count: {p.drawn} is more than the {k} demonstrations of the prompt; "
                              f"lower it to at most {k} or add demonstrations")
        chosen = sorted(np.random.default_rng(p.seed).choice(k, p.drawn, replace=False).tolist())
    labels = config.task.labels
    flipped = [FewShot(text=s.text, label=labels[(labels.index(s.label) + 1) % len(labels)]) if i in chosen else s
               for i, s in enumerate(shots)]
    return flipped, chosen


def instances(config: Config, shots: list[FewShot], n_validation: int, n_test: int
              ) -> tuple[list[Instance], list[Instance]]:
    """(validation, test): disjoint seeded samples, none of them a demonstration."""
    ds, labels = config.dataset, config.task.labels
    for split in {config.demonstrations.split, ds.split}:
        odd = sorted({str(x.label) for x in _rows(config, split, ds.max_words) if x.label not in labels})
        if odd:
            raise DataError(f"the {split} split has labels {odd[:5]} that are not among task.labels {labels}; "
                            "every validation and test text needs a gold label of the task")
    taken = {" ".join(s.text.split()) for s in shots}
    fresh = lambda rows: [x for x in rows if " ".join(x.text.split()) not in taken]  # noqa: E731
    validation = sample(fresh(_rows(config, config.demonstrations.split, ds.max_words)), n_validation, ds.seed)
    taken |= {" ".join(x.text.split()) for x in validation}
    test = sample(fresh(_rows(config, ds.split, ds.max_words)), n_test, ds.seed)
    for name, got, want in (("validation", validation, n_validation), ("test", test, n_test)):
        if len(got) < want:
            raise DataError(f"only {len(got)} labelled {name} texts are left (of {want} wanted) after the "
                            "demonstrations and the other set; lower the count or raise dataset.max_words")
    return validation, test

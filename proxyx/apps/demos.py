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


def split_rows(config: Config, split: str, max_words: int | None) -> list[Instance]:
    """The split's texts labelled with a task label, at most ``max_words`` words."""
    return [x for x in _rows(config, split, max_words) if x.label in config.task.labels]


def per_label(n: int, labels: list[str]) -> dict[str, int]:
    """``n`` shared out among the labels as evenly as possible (the first labels get the remainder)."""
    return {lab: n // len(labels) + (i < n % len(labels)) for i, lab in enumerate(labels)}


def draw(rows: list[Instance], want: dict[str, int], rng: np.random.Generator, what: str, hint: str
         ) -> list[Instance]:
    """``want[label]`` rows of each label, drawn without replacement, in label order."""
    picked = []
    for lab, n in want.items():
        pool = [x for x in rows if x.label == lab]
        if len(pool) < n:
            raise DataError(f"{what}: only {len(pool)} texts labelled {lab!r} are left, {n} wanted; {hint}")
        picked += [pool[i] for i in sorted(rng.choice(len(pool), n, replace=False))]
    return picked


def as_shot(x: Instance) -> FewShot:
    return FewShot(text=" ".join(x.text.split()), label=x.label)


def prompt_size(config: Config) -> int:
    """How many demonstrations the prompt has (refused when none)."""
    k = len(config.task.few_shot) or config.demonstrations.count
    if k == 0:
        raise ConfigError("demonstrations.count: the prompt has no demonstrations (count is 0 and task.few_shot is "
                          "empty); set demonstrations.count to e.g. 8, or list them in task.few_shot")
    return k


def demonstrations(config: Config, rng: np.random.Generator | None = None) -> list[FewShot]:
    """The prompt's demonstrations (whitespace of drawn texts normalised); ``rng`` defaults to ``demonstrations.seed``."""
    if config.task.few_shot:
        return list(config.task.few_shot)
    d = config.demonstrations
    prompt_size(config)
    rows = split_rows(config, d.split, d.max_words)
    rng = np.random.default_rng(d.seed) if rng is None else rng
    if d.balanced:
        picked = draw(rows, per_label(d.count, config.task.labels), rng, "demonstrations",
                      f"raise demonstrations.max_words (now {d.max_words})")
        picked = [picked[i] for i in rng.permutation(len(picked))]
    else:
        if len(rows) < d.count:
            raise DataError(f"demonstrations: only {len(rows)} {d.split} texts have at most {d.max_words} words, "
                            f"{d.count} wanted; raise demonstrations.max_words or lower demonstrations.count")
        picked = [rows[i] for i in rng.choice(len(rows), d.count, replace=False)]
    return [as_shot(x) for x in picked]


def with_shots(task: TaskConfig, shots: list[FewShot]) -> TaskConfig:
    return task.model_copy(update={"few_shot": list(shots)})


def instances(config: Config, shots: list[FewShot], n_validation: int, n_test: int, *, balanced: bool = False,
              run: int | None = None) -> tuple[list[Instance], list[Instance]]:
    """(validation, test): disjoint seeded samples, none of them a demonstration.

    ``balanced``: as many of each label as the counts allow. ``run``: the validation sample is drawn
    with seed ``[dataset.seed, run]`` (the test sample keeps ``dataset.seed``), so each run of an app
    that repeats over seeds gets its own validation texts.
    """
    ds, labels = config.dataset, config.task.labels
    for split in {config.demonstrations.split, ds.split}:
        odd = sorted({str(x.label) for x in _rows(config, split, ds.max_words) if x.label not in labels})
        if odd:
            raise DataError(f"the {split} split has labels {odd[:5]} that are not among task.labels {labels}; "
                            "every validation and test text needs a gold label of the task")
    taken = {" ".join(s.text.split()) for s in shots}
    fresh = lambda rows: [x for x in rows if " ".join(x.text.split()) not in taken]  # noqa: E731

    def pick(split: str, n: int, seed) -> list[Instance]:
        rows = fresh(_rows(config, split, ds.max_words))
        if not balanced and run is None:
            return sample(rows, n, ds.seed)
        rng = np.random.default_rng(seed)
        if not balanced:
            return [rows[i] for i in rng.choice(len(rows), min(n, len(rows)), replace=False)]
        got = []
        for lab, w in per_label(n, labels).items():
            pool = [x for x in rows if x.label == lab]
            got += [pool[i] for i in rng.permutation(len(pool))[:w]]  # fewer than w: refused below
        return [got[i] for i in rng.permutation(len(got))]

    validation = pick(config.demonstrations.split, n_validation, [ds.seed] if run is None else [ds.seed, run])
    taken |= {" ".join(x.text.split()) for x in validation}
    test = pick(ds.split, n_test, [ds.seed])
    for name, got, want in (("validation", validation, n_validation), ("test", test, n_test)):
        if len(got) < want or (balanced and any(sum(x.label == lab for x in got) < w
                                                for lab, w in per_label(want, labels).items())):
            raise DataError(f"only {len(got)} labelled {name} texts are left (of {want} wanted"
                            f"{', as many of each label' if balanced else ''}) after the demonstrations and the other "
                            "set; lower the count or raise dataset.max_words")
    return validation, test

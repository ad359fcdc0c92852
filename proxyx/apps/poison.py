"""The poisoned prompt of ``proxyx clean``: demonstrations whose label is plainly wrong.

Flipping a label is poisoning only when the text plainly says its gold
label: fine_foods' ``other`` includes 4-star reviews that read positive, and
flipping one of those to ``great`` is hardly wrong (docs/results.md). So a
demonstration is poisoned only when its label is clear by signals that do
not read the prompt: VADER's probability of its gold label is at least
``poison.vader_min`` (VADER takes the first of ``task.labels`` as the
positive one) and, when ``poison.oracle_min`` is set, so is the oracle's,
asked zero-shot with the demonstration as the input.

The poisoned demonstrations are spread over the labels (a seeded label
gets the odd one), so flipping them keeps the prompt's label counts: what
is measured is wrong text-label pairs, not a prompt tilted to one label.
When ``task.few_shot`` lists the prompt they are chosen among its
demonstrations; else they are drawn from the split's clear texts and the
rest of the prompt from all of its texts, label-balanced as
``demonstrations`` says. ``poison.indices`` flips exactly those, unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config, FewShot, ModelConfig
from ..errors import ConfigError, DataError
from ..models import build_model
from ..prompt import completion_prompt
from ..scorer import Scorer
from .demos import as_shot, demonstrations, draw, per_label, prompt_size, split_rows, with_shots

#: oracle zero-shot checks sent per round while looking for clear texts
CHUNK = 16


@dataclass
class PoisonedPrompt:
    clean: list[FewShot]  # the prompt as drawn, every label right
    shots: list[FewShot]  # the same prompt with the poisoned labels flipped
    poisoned: list[int]
    vader: list[float | None]  # per poisoned demonstration: VADER's probability of its gold label
    oracle: list[float | None]  # the oracle's zero-shot probability of its gold label


def flip(shots: list[FewShot], chosen: list[int], labels: list[str]) -> list[FewShot]:
    """The demonstrations with the chosen ones' labels moved to the next label."""
    return [FewShot(text=s.text, label=labels[(labels.index(s.label) + 1) % len(labels)]) if i in chosen else s
            for i, s in enumerate(shots)]


def vader_scorer(config: Config, oracle: Scorer) -> Scorer | None:
    """VADER behind the oracle's cache and ledger (None when ``poison.vader_min`` is unset)."""
    if config.clean.poison.vader_min is None:
        return None
    return Scorer(build_model(ModelConfig(model="local/vader"), config.task), cache=oracle.cache,
                  ledger=oracle.ledger, role="poison")


def check_poison(config: Config) -> int:
    """Refuse a poison block that cannot fit the prompt (before anything is paid); the prompt's size."""
    p, k = config.clean.poison, prompt_size(config)
    if p.indices is not None:
        out = sorted({i for i in p.indices if i >= k})
        if out:
            raise ConfigError(f"clean.poison.indices: {out} out of range; the prompt has {k} demonstrations "
                              f"(indices 0..{k - 1})")
    elif p.drawn > k:
        raise ConfigError(f"clean.poison.count: {p.drawn} is more than the {k} demonstrations of the prompt; "
                          f"lower it to at most {k} or add demonstrations")
    return k


def poisoned_prompt(config: Config, run: int, *, oracle: Scorer, vader: Scorer | None) -> PoisonedPrompt:
    """Run ``run``'s prompt: drawn with seed ``[demonstrations.seed, poison.seed, run]``, some labels flipped."""
    p, d, labels = config.clean.poison, config.demonstrations, list(config.task.labels)
    rng = np.random.default_rng([d.seed, p.seed, run])
    if p.indices is not None:
        shots, chosen = demonstrations(config, rng), sorted(set(p.indices))
        return PoisonedPrompt(shots, flip(shots, chosen, labels), chosen, [None] * len(chosen), [None] * len(chosen))
    k = prompt_size(config)
    start = int(rng.integers(len(labels)))
    want = per_label(p.drawn, labels[start:] + labels[:start])
    if config.task.few_shot:
        shots = list(config.task.few_shot)
        picks = _clear(shots, want, rng, config, oracle, vader, "clean.poison: of the task.few_shot demonstrations")
        chosen = sorted(i for i, _, _ in picks)
        by_index = {i: (v, o) for i, v, o in picks}
    else:
        rows = split_rows(config, d.split, d.max_words)
        picks = _clear([as_shot(x) for x in rows], want, rng, config, oracle, vader, f"clean.poison: of the {d.split} "
                       f"texts of at most {d.max_words} words")
        taken = {i for i, _, _ in picks}
        rest = [x for i, x in enumerate(rows) if i not in taken]
        hint = f"raise demonstrations.max_words (now {d.max_words}) or lower demonstrations.count"
        if d.balanced:
            need = per_label(k, labels)
            others = draw(rest, _top_up({lab: need[lab] - want[lab] for lab in labels}, k - p.drawn), rng,
                          "demonstrations", hint)
        else:
            if len(rest) < k - p.drawn:
                raise DataError(f"demonstrations: only {len(rest)} {d.split} texts are left, {k - p.drawn} wanted; {hint}")
            others = [rest[i] for i in rng.choice(len(rest), k - p.drawn, replace=False)]
        drawn = [as_shot(rows[i]) for i, _, _ in picks] + [as_shot(x) for x in others]
        order = rng.permutation(len(drawn))
        shots, where_now = [drawn[j] for j in order], np.argsort(order)  # drawn[j] is now shots[where_now[j]]
        by_index = {int(where_now[j]): (v, o) for j, (_, v, o) in enumerate(picks)}
        chosen = sorted(by_index)
    return PoisonedPrompt(shots, flip(shots, chosen, labels), chosen, [by_index[i][0] for i in chosen],
                          [by_index[i][1] for i in chosen])


def _top_up(want: dict[str, int], total: int) -> dict[str, int]:
    """``want`` without negative counts, the shortfall added to the labels in order (odd label counts)."""
    out = {lab: max(0, n) for lab, n in want.items()}
    for lab in out:
        if sum(out.values()) >= total:
            break
        out[lab] += total - sum(out.values())
    return out


def _clear(cands: list[FewShot], want: dict[str, int], rng: np.random.Generator, config: Config, oracle: Scorer,
           vader: Scorer | None, where: str) -> list[tuple[int, float | None, float | None]]:
    """``want[label]`` candidates of each label whose label is clear: (index, VADER's p(gold), oracle's p(gold)).

    Candidates are tried in a seeded order; the oracle is asked only about those VADER passes, a chunk at a
    time (without ``oracle_min``, only about the ones taken, for the record).
    """
    p, labels = config.clean.poison, list(config.task.labels)
    zero_shot = with_shots(config.task, [])
    out = []
    for lab, n in want.items():
        if n == 0:
            continue
        idx = [i for i in rng.permutation(len(cands)).tolist() if cands[i].label == lab]
        g = labels.index(lab)
        v = vader([cands[i].text for i in idx], "poison")[:, g] if vader is not None else np.ones(len(idx))
        ok = [(i, float(x) if vader is not None else None) for i, x in zip(idx, v) if x >= (p.vader_min or 0)]
        found = []
        for c in range(0, len(ok), CHUNK):  # the oracle's zero-shot answers: checked, or only recorded
            if len(found) >= n:
                break
            part = ok[c: c + CHUNK] if p.oracle_min is not None else ok[: n]
            o = oracle([completion_prompt(zero_shot, cands[i].text) for i, _ in part], "poison")[:, g]
            found += [(i, vp, float(x)) for (i, vp), x in zip(part, o) if x >= (p.oracle_min or 0)]
        if len(found) < n:
            raise DataError(f"{where}, {len(found)} labelled {lab!r} have a clear label (VADER >= {p.vader_min}, oracle "
                            f"zero-shot >= {p.oracle_min}), {n} wanted; lower clean.poison.vader_min / oracle_min or "
                            "clean.poison.count")
        out += found[:n]
    return out

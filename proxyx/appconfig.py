"""The blocks of a config that only the apps read (``proxyx compress``, ``proxyx clean``).

Part of ``proxyx.config`` (which re-exports every name).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .modelconfig import Strict


class DemonstrationsConfig(Strict):
    """The k-shot prompt of ``compress`` and ``clean``: ``task.few_shot`` when listed, else ``count`` drawn."""

    count: Annotated[int, Field(ge=0, le=64)] = 8
    split: Literal["train", "test"] = "train"
    max_words: Annotated[int, Field(gt=0)] | None = 40  # short demonstrations keep the prompt short
    balanced: bool = True  # as many of each label as the count allows
    seed: int = 0


class PoisonConfig(Strict):
    """Demonstrations whose label ``clean`` flips: the listed 0-based ``indices``, or ``count`` drawn with ``seed``."""

    count: Annotated[int, Field(ge=0)] = 2
    seed: int = 0
    indices: list[Annotated[int, Field(ge=0)]] | None = None


class CompressConfig(Strict):
    """``proxyx compress``: remove prompt units from least to most important (README "Explanations that act")."""

    unit: Literal["demonstration", "word", "sentence"] = "demonstration"  # of the demonstrations
    validation: Annotated[int, Field(gt=0)] = 20  # instances whose attributions are averaged
    test: Annotated[int, Field(gt=0)] = 50  # instances on which accuracy is measured
    steps: Annotated[int, Field(gt=0)] = 10  # word/sentence units: remove 0, 1/steps, 2/steps, ... of them
    keep: Annotated[float, Field(gt=0, le=1)] = 0.9  # the share of the uncompressed accuracy to keep
    random_seeds: Annotated[int, Field(ge=2, le=100)] = 5
    # informed: the proxy-informed estimator (explainer.estimator, oracle_samples) for each proxy
    methods: Annotated[list[Literal["random", "self_information", "proxy", "oracle", "informed"]],
                       Field(min_length=1)] = ["random", "self_information", "proxy", "oracle"]


class CleanConfig(Strict):
    """``proxyx clean``: flip some demonstrations' labels, find them by gold-label attribution, remove them."""

    poison: PoisonConfig = PoisonConfig()
    validation: Annotated[int, Field(gt=0)] = 20
    test: Annotated[int, Field(gt=0)] = 50
    remove: Literal["negative"] | Annotated[int, Field(gt=0)] = "negative"  # or the m most negative
    random_seeds: Annotated[int, Field(ge=2, le=100)] = 5

"""Explaining one text with one scorer, and scoring it on the oracle.

The pieces the pipeline, the screen and the bench share. Seeds are derived
from the config seed and the instance id, so a proxy and the oracle explain
an instance with exactly the same masks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .explainers import Attribution, make_explainer
from .explainers.estimators import explain_informed
from .explainers.uncertainty import explain_with_errors
from .fidelity import (agreement, evaluation_masks, fidelity_ratio, heldout_masks, local_fidelity, mask_quality,
                       top_k)
from .perturb import Segments
from .results import Agreement, Comparison, Cost, EstimatorInfo, QualityScores, Spend, nano
from .scorer import Scorer


def instance_seed(seed: int, instance_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\x00{instance_id}".encode()).digest()[:4], "big")


@dataclass(frozen=True)
class Prediction:
    label: int  # index into task.labels
    probs: tuple[float, ...]


def predict(scorer: Scorer, segments: Segments, purpose: str) -> Prediction:
    probs = scorer([segments.full], purpose)[0]
    return Prediction(label=int(np.argmax(probs)), probs=tuple(float(p) for p in probs))


def attribute(scorer: Scorer, segments: Segments, target: int, *, method: str, samples: int, seed: int,
              purpose: str, sampler: str = "kernel") -> Attribution:
    """Explain ``scorer``'s probability of label ``target`` on the text's units."""
    explainer = make_explainer(method, samples=samples, seed=seed, sampler=sampler)
    return explain_with_errors(explainer, len(segments),
                               lambda masks: scorer(segments.render_many(masks), purpose)[:, target])


def informed_attribute(oracle: Scorer, proxy: Scorer, segments: Segments, target: int, *, method: str, samples: int,
                       oracle_samples: int, estimator: str, seed: int, purpose: str,
                       sampler: str = "kernel") -> tuple[Attribution, EstimatorInfo, Attribution]:
    """Explain the oracle with ``oracle_samples`` of its answers sharpened by ``samples`` of the proxy's.

    The third value is the oracle alone at ``oracle_samples`` (the plain
    explainer on the same oracle answers: no further call).
    """
    def value_fn(scorer: Scorer):
        return lambda masks: scorer(segments.render_many(masks), purpose)[:, target]

    attr, info = explain_informed(method, len(segments), value_fn(oracle), value_fn(proxy), samples=samples,
                                  oracle_samples=oracle_samples, estimator=estimator, seed=seed, sampler=sampler)
    return attr, estimator_result(info), info.baseline


def estimator_result(info) -> EstimatorInfo:
    """The report's record of an ``explainers.estimators.EstimatorInfo``."""
    return EstimatorInfo(name=info.name, oracle_samples=info.oracle_samples, proxy_samples=info.proxy_samples,
                         lam=info.lam, beta=info.beta, rho=info.rho, oracle_calls=info.oracle_calls,
                         proxy_calls=info.proxy_calls, gamma=info.gamma, slope=info.slope)


def estimate_attribution_cost(scorer: Scorer, segments: Segments, *, method: str, samples: int, seed: int,
                              sampler: str = "kernel") -> Cost:
    """What ``attribute`` would cost on ``scorer`` with no cache (nominal), from the same masks' token counts."""
    masks = make_explainer(method, samples=samples, seed=seed, sampler=sampler).sample_masks(len(segments))
    texts = segments.render_many(masks)
    u = scorer.estimate(texts)
    n = len(set(texts))
    return Cost(nominal=Spend(calls=n, tokens=u.prompt_tokens + u.completion_tokens, nano_usd=nano(u.usd)))


def oracle_value_fn(oracle: Scorer, target: int, purpose: str = "evaluate"):
    return lambda texts: oracle(list(texts), purpose)[:, target]


def oracle_mask_value(oracle: Scorer, segments: Segments, target: int, purpose: str = "evaluate"):
    """masks -> the oracle's probability of ``target`` on the masked texts."""
    f = oracle_value_fn(oracle, target, purpose)
    return lambda masks: f(segments.render_many(masks))


def compare(oracle: Scorer, segments: Segments, target: int, proxy_attr: Attribution, oracle_attr: Attribution,
            *, k_fraction: float, purpose: str = "evaluate", heldout: int = 0, seed: int = 0) -> Comparison:
    """Both explanations scored on the oracle: AOPC and, with ``heldout`` masks, local fidelity."""
    return compare_masks(oracle_mask_value(oracle, segments, target, purpose), proxy_attr, oracle_attr,
                         k_fraction=k_fraction, heldout=heldout, seed=seed)


def compare_masks(value_of_masks, proxy_attr: Attribution, oracle_attr: Attribution, *, k_fraction: float,
                  heldout: int = 0, seed: int = 0) -> Comparison:
    """``compare`` over any units: ``value_of_masks`` (masks -> the oracle's values) scores both explanations."""
    both = [proxy_attr] if oracle_attr is proxy_attr else [proxy_attr, oracle_attr]
    scored = score_masks(value_of_masks, both, k_fraction=k_fraction, heldout=heldout, seed=seed)
    return comparison(proxy_attr, oracle_attr, scored[0], scored[-1], k_fraction=k_fraction)


@dataclass(frozen=True)
class Scored:
    """One explanation's quality on the oracle: deletion (AOPC...) and local fidelity (None without held-out masks)."""

    quality: QualityScores
    local_fidelity: float | None


def score_masks(value_of_masks, attributions: Sequence[Attribution], *, k_fraction: float, heldout: int = 0,
                seed: int = 0) -> list[Scored]:
    """Explanations of the same units scored on the oracle, asking ``value_of_masks`` once for every mask.

    Each gets AOPC of deletion (ties broken by ``seed``) and, with
    ``heldout``, local fidelity on the same held-out masks. One call for all
    of them: a mask two scorings share is asked, and counted, once.
    """
    n, method = len(attributions[0].values), attributions[0].method
    held = heldout_masks(method, n, samples=heldout, seed=seed) if heldout else np.zeros((0, n), dtype=bool)
    answer = answered(value_of_masks, [*(evaluation_masks(a.values, k_fraction, seed=seed) for a in attributions), held])
    y = answer(held)
    w = make_explainer(method, samples=heldout, seed=seed).kernel(held) if heldout else None
    return [Scored(QualityScores(**mask_quality(a.values, answer, k_fraction=k_fraction, seed=seed).to_dict()),
                   local_fidelity(a, held, y, w) if heldout else None) for a in attributions]


def answered(value_of_masks, mask_sets: Sequence[np.ndarray]):
    """``value_of_masks`` asked once, on every distinct mask of ``mask_sets`` in first-seen order; returns a
    function that looks up the answers of any of those masks."""
    rows = {m.tobytes(): m for masks in mask_sets for m in np.asarray(masks, dtype=bool)}
    width = next(len(m) for m in rows.values()) if rows else 0
    y = np.asarray(value_of_masks(np.array(list(rows.values()), dtype=bool).reshape(len(rows), width)), dtype=float)
    table = dict(zip(rows, y))
    return lambda masks: np.array([table[m.tobytes()] for m in np.asarray(masks, dtype=bool)], dtype=float)


def comparison(proxy_attr: Attribution, oracle_attr: Attribution, proxy: Scored, oracle: Scored, *,
               k_fraction: float) -> Comparison:
    """The record of a proxy explanation next to the oracle's, from their scores."""
    return Comparison(q_proxy=proxy.quality, q_oracle=oracle.quality,
                      fidelity=fidelity_ratio(proxy.quality.aopc, oracle.quality.aopc),
                      agreement=Agreement(**agreement(proxy_attr.values, oracle_attr.values,
                                                      k=top_k(len(proxy_attr.values), k_fraction))),
                      local_fidelity_proxy=proxy.local_fidelity, local_fidelity_oracle=oracle.local_fidelity)

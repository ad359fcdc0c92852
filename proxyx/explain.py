"""Explaining one text with one scorer, and scoring it on the oracle.

The pieces the pipeline, the screen and the bench share. Seeds are derived
from the config seed and the instance id, so a proxy and the oracle explain
an instance with exactly the same masks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .explainers import Attribution, make_explainer
from .explainers.estimators import explain_informed
from .fidelity import agreement, fidelity_ratio, heldout_masks, local_fidelity, mask_quality, top_k
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
              purpose: str) -> Attribution:
    """Explain ``scorer``'s probability of label ``target`` on the text's units."""
    explainer = make_explainer(method, samples=samples, seed=seed)
    return explainer.explain(len(segments), lambda masks: scorer(segments.render_many(masks), purpose)[:, target])


def informed_attribute(oracle: Scorer, proxy: Scorer, segments: Segments, target: int, *, method: str, samples: int,
                       oracle_samples: int, estimator: str, seed: int, purpose: str) -> tuple[Attribution, EstimatorInfo]:
    """Explain the oracle with ``oracle_samples`` of its answers sharpened by ``samples`` of the proxy's."""
    def value_fn(scorer: Scorer):
        return lambda masks: scorer(segments.render_many(masks), purpose)[:, target]

    attr, info = explain_informed(method, len(segments), value_fn(oracle), value_fn(proxy), samples=samples,
                                  oracle_samples=oracle_samples, estimator=estimator, seed=seed)
    return attr, estimator_result(info)


def estimator_result(info) -> EstimatorInfo:
    """The report's record of an ``explainers.estimators.EstimatorInfo``."""
    return EstimatorInfo(name=info.name, oracle_samples=info.oracle_samples, proxy_samples=info.proxy_samples,
                         lam=info.lam, beta=info.beta, rho=info.rho, oracle_calls=info.oracle_calls,
                         proxy_calls=info.proxy_calls, gamma=info.gamma, slope=info.slope)


def estimate_attribution_cost(scorer: Scorer, segments: Segments, *, method: str, samples: int, seed: int) -> Cost:
    """What ``attribute`` would cost on ``scorer`` with no cache (nominal), from the same masks' token counts."""
    masks = make_explainer(method, samples=samples, seed=seed).sample_masks(len(segments))
    texts = segments.render_many(masks)
    u = scorer.estimate(texts)
    n = len(set(texts))
    return Cost(nominal=Spend(calls=n, tokens=u.prompt_tokens + u.completion_tokens, nano_usd=nano(u.usd)))


def oracle_value_fn(oracle: Scorer, target: int, purpose: str = "evaluate"):
    return lambda texts: oracle(list(texts), purpose)[:, target]


def compare(oracle: Scorer, segments: Segments, target: int, proxy_attr: Attribution, oracle_attr: Attribution,
            *, k_fraction: float, purpose: str = "evaluate", heldout: int = 0, seed: int = 0) -> Comparison:
    """Both explanations scored on the oracle: AOPC and, with ``heldout`` masks, local fidelity."""
    f = oracle_value_fn(oracle, target, purpose)
    return compare_masks(lambda masks: f(segments.render_many(masks)), proxy_attr, oracle_attr,
                         k_fraction=k_fraction, heldout=heldout, seed=seed)


def compare_masks(value_of_masks, proxy_attr: Attribution, oracle_attr: Attribution, *, k_fraction: float,
                  heldout: int = 0, seed: int = 0) -> Comparison:
    """``compare`` over any units: ``value_of_masks`` (masks -> the oracle's values) scores both explanations."""
    n = len(proxy_attr.values)
    qp = mask_quality(proxy_attr.values, value_of_masks, k_fraction=k_fraction, seed=seed)
    qo = qp if oracle_attr is proxy_attr else mask_quality(oracle_attr.values, value_of_masks, k_fraction=k_fraction,
                                                           seed=seed)
    local_p = local_o = None
    if heldout:
        masks = heldout_masks(proxy_attr.method, n, samples=heldout, seed=seed)
        y = np.asarray(value_of_masks(masks), dtype=float)
        w = make_explainer(proxy_attr.method, samples=heldout, seed=seed).kernel(masks)
        local_p = local_fidelity(proxy_attr, masks, y, w)
        local_o = local_p if oracle_attr is proxy_attr else local_fidelity(oracle_attr, masks, y, w)
    return Comparison(q_proxy=QualityScores(**qp.to_dict()), q_oracle=QualityScores(**qo.to_dict()),
                      fidelity=fidelity_ratio(qp.aopc, qo.aopc),
                      agreement=Agreement(**agreement(proxy_attr.values, oracle_attr.values,
                                                      k=top_k(n, k_fraction))),
                      local_fidelity_proxy=local_p, local_fidelity_oracle=local_o)

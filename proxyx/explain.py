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
from .fidelity import Quality, agreement, fidelity_ratio, quality, top_k
from .ledger import Tally
from .perturb import Segments
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


def estimate_attribution_cost(scorer: Scorer, segments: Segments, *, method: str, samples: int, seed: int) -> Tally:
    """What ``attribute`` would cost on ``scorer`` with no cache, from the same masks' token counts."""
    masks = make_explainer(method, samples=samples, seed=seed).sample_masks(len(segments))
    texts = segments.render_many(masks)
    u = scorer.estimate(texts)
    n = len(set(texts))
    return Tally(nominal_calls=n, nominal_tokens=u.prompt_tokens + u.completion_tokens, nominal_usd=u.usd)


def oracle_value_fn(oracle: Scorer, target: int, purpose: str = "evaluate"):
    return lambda texts: oracle(list(texts), purpose)[:, target]


@dataclass(frozen=True)
class Comparison:
    """A proxy explanation next to the oracle's, both scored on the oracle."""

    q_proxy: Quality
    q_oracle: Quality
    fidelity: float | None
    agreement: dict

    def to_dict(self) -> dict:
        return {"q_proxy": self.q_proxy.to_dict(), "q_oracle": self.q_oracle.to_dict(),
                "fidelity": self.fidelity, "agreement": self.agreement}


def compare(oracle: Scorer, segments: Segments, target: int, proxy_attr: Attribution, oracle_attr: Attribution,
            *, k_fraction: float, purpose: str = "evaluate") -> Comparison:
    f = oracle_value_fn(oracle, target, purpose)
    qp = quality(segments, proxy_attr.values, f, k_fraction=k_fraction)
    qo = qp if oracle_attr is proxy_attr else quality(segments, oracle_attr.values, f, k_fraction=k_fraction)
    return Comparison(qp, qo, fidelity_ratio(qp.aopc, qo.aopc),
                      agreement(proxy_attr.values, oracle_attr.values, k=top_k(len(segments), k_fraction)))

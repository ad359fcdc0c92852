"""What a component set costs: the measured time of a backward pass restricted to it.

A gradient with respect to a few components stops autograd at the earliest
of them and skips every other weight gradient. The benchmark times
``influence.timing_examples`` such passes on training examples; the times
are kept in the gradient store (purpose ``timing`` in the ledger), so a
rerun reports the same figure without recomputing.
"""

from __future__ import annotations

import numpy as np

from ..models.base import Answer
from .engine import ROLE
from .store import record_key


def component_seconds(ctx, names: list[str], timings: dict | None = None) -> float:
    """Median seconds of one backward pass restricted to ``names`` (on the first training examples)."""
    seconds = []
    for x in ctx.train[: ctx.config.influence.timing_examples]:
        key = record_key("timing", "\x00".join(names), x.text, x.label)
        rec = ctx.store.get(key)
        if rec is None:
            res = ctx.model.gradient(ctx.example(x), names)
            ctx.store.put(key, meta=np.array([res.seconds, res.tokens]))
            ctx.ledger.record_call((ctx.model.name, ROLE, "timing"), Answer(probs=(float(np.exp(-res.loss)),),
                                                                          prompt_tokens=res.tokens, seconds=res.seconds))
            seconds.append(res.seconds)
        else:
            seconds.append(float(rec["meta"][0]))
            ctx.ledger.record_hit((ctx.model.name, ROLE, "timing"), Answer(probs=(1.0,), prompt_tokens=int(rec["meta"][1]),
                                                                         seconds=float(rec["meta"][0])))
    return float(np.median(seconds))

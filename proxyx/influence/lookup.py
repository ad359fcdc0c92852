"""``proxyx influence CONFIG --text``: the training examples whose label-loss gradients are closest to a text's.

BM25 narrows the training set to ``influence.pool`` candidates (a few
thousand backward passes per query would take an hour); their gradients in
``influence.components`` (default: all, the full gradient) are compared with
the text's by cosine. The text's label is the one given, else the oracle's
own prediction.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import Config
from ..errors import BudgetExceeded, ConfigError
from ..results.influence import InfluenceLookup, Match
from .context import open_influence
from .engine import PURPOSE, ROLE, GradientEngine
from .gradients import Example
from .queries import BM25Index


def run_influence_lookup(config: Config, text: str, *, label: str | None = None,
                         on_progress=None) -> InfluenceLookup:
    start = time.monotonic()
    if not text.strip():
        raise ConfigError("--text: the text is empty; pass the review to explain, e.g. --text \"Great coffee\"")
    labels = config.task.labels
    if label is not None and label not in labels:
        raise ConfigError(f"--label: unknown label {label!r}; the task's labels are {', '.join(labels)}")
    ic = config.influence
    ctx = open_influence(config)
    try:
        names = ctx.components(ic.components)
        sizes = ctx.model.sizes()
        what = "full gradient" if ic.components is None else f"{len(names)} component{'s' * (len(names) != 1)}"
        head = dict(model=ctx.model.name, text=text, representation=what, components=names,
                    params=sum(sizes[n] for n in names))
        given = label is not None
        try:
            label = label if given else ctx.oracle_labels([text])[0]
        except BudgetExceeded as e:  # the only paid call: nothing was compared
            return InfluenceLookup(**head, status="stopped_budget", stop_reason=str(e), label=None,
                                   label_source="model", pool=0, matches=[],
                                   cost=ctx.ledger.total(role=ROLE, purpose=PURPOSE),
                                   wall_seconds=time.monotonic() - start)
        pool = BM25Index([x.text for x in ctx.train]).top([text], ic.pool)[0]
        examples = [Example(text, label)] + [ctx.example(ctx.train[i]) for i in pool]
        engine = GradientEngine(model=ctx.model, store=ctx.store, ledger=ctx.ledger, components=names)
        stats, dots = engine.compute(examples, [(0, j) for j in range(1, len(examples))],
                                     on_gradient=on_progress)
        qn = stats[0].norms.sum()
        scores = np.array([dots[(0, j)].sum() / np.sqrt(max(qn * stats[j].norms.sum(), 1e-300))
                           for j in range(1, len(examples))])
        order = np.argsort(-scores, kind="stable")[: ic.top]
        matches = [Match(rank=r + 1, id=ctx.train[pool[j]].id, text=ctx.train[pool[j]].text,
                         label=str(ctx.train[pool[j]].label), score=float(scores[j]), bm25_rank=int(j) + 1)
                   for r, j in enumerate(order)]
        return InfluenceLookup(**head, label=label, label_source="given" if given else "model", pool=len(pool),
                               matches=matches, cost=ctx.ledger.total(role=ROLE, purpose=PURPOSE),
                               wall_seconds=time.monotonic() - start)
    finally:
        ctx.close()

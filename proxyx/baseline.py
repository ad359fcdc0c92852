"""The free baseline of an estimator: the oracle alone at the same n oracle calls.

A proxy-informed estimator asks the oracle exactly the masks of the plain
explainer at ``oracle_samples`` (``explainers/answers.py``), so the plain
explanation from those answers costs nothing more. Every estimate carries it
(``Baseline``), scored on the oracle like the estimate itself, and a report
pairs the two over its instances (``BaselineSummary``): the one comparison
that says whether the proxy helped, at the oracle spend actually paid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .explain import comparison, score_masks
from .explainers import Attribution
from .explainers.uncertainty import listed
from .results import Baseline, BaselineSummary, Comparison, GeneratedInstance, InstanceResult, Paired
from .stats import paired_t

#: an estimate within this share of the baseline's largest |value| is the baseline (the proxy set aside)
SAME = 1e-9


def baseline_record(estimate: Attribution, baseline: Attribution, *, samples: int, value_of_masks=None,
                    reference: Attribution | None = None, k_fraction: float = 0.2, heldout: int = 0,
                    seed: int = 0) -> tuple[Baseline, Comparison | None]:
    """The baseline's record and, with a ``reference`` (the oracle at N), the estimate's comparison with it.

    With ``value_of_masks`` (masks -> the oracle's values) the estimate, the
    baseline and the reference are scored in one call (``score_masks``):
    same deletion scheme and tie seed, same held-out masks; without it
    nothing is scored and no call is made.
    """
    record = Baseline(samples=samples, attribution=baseline.values.tolist(),
                      standard_errors=listed(baseline.standard_errors), base_value=baseline.base_value)
    if value_of_masks is None:
        return record, None
    same = same_explanation(estimate.values, baseline.values)  # scored once: rounding is not a difference
    attrs = [estimate] + ([] if same else [baseline]) + ([reference] if reference is not None else [])
    scored = score_masks(value_of_masks, attrs, k_fraction=k_fraction, heldout=heldout, seed=seed)
    alone = scored[0] if same else scored[1]
    record = record.model_copy(update={
        "q_estimate": scored[0].quality, "q_baseline": alone.quality,
        "local_fidelity_estimate": scored[0].local_fidelity, "local_fidelity_baseline": alone.local_fidelity})
    if reference is None:
        return record, None
    return record, comparison(estimate, reference, scored[0], scored[-1], k_fraction=k_fraction)


def paired(estimate: Sequence[float | None], baseline: Sequence[float | None]) -> Paired | None:
    """Mean quality with the proxy and without, and their paired difference (None when no pair is defined)."""
    iv = paired_t(estimate, baseline)
    if iv.n == 0:
        return None
    both = [(a, b) for a, b in zip(estimate, baseline) if a is not None and b is not None]
    verdict = ("too_few" if iv.low is None else "better" if iv.low > 0 else "worse" if iv.high < 0
               else "no_difference")
    return Paired(n=iv.n, estimate=float(np.mean([a for a, _ in both])), baseline=float(np.mean([b for _, b in both])),
                  difference=iv.estimate, low=iv.low, high=iv.high, verdict=verdict)


def same_explanation(estimate: Sequence[float], baseline: Sequence[float]) -> bool:
    """The estimate is the baseline up to rounding (the estimator gave the proxy no weight)."""
    b = np.asarray(baseline, dtype=float)
    return bool(np.allclose(estimate, b, rtol=0, atol=SAME * max(float(np.max(np.abs(b), initial=0.0)), 1e-12)))


def baseline_summary(instances: Sequence[InstanceResult]) -> BaselineSummary | None:
    """The estimator's instances paired with the oracle alone at n; None when no instance has a baseline."""
    rows = [e for e in instances if e.status == "ok" and e.baseline is not None and e.estimator is not None]
    return summarize(rows[0].estimator.name, [[(e.attribution, e.baseline)] for e in rows]) if rows else None


def generated_baseline_summary(generated: Sequence[GeneratedInstance]) -> BaselineSummary | None:
    """The same over generated answers: each question's quality is the mean over its levels."""
    rows = [[([lv.values[i] for i in lv.active], lv.baseline) for lv in g.levels if lv.baseline is not None]
            for g in generated if g.error is None]
    rows = [r for r in rows if r]
    name = next((lv.estimator.name for g in generated for lv in g.levels if lv.estimator is not None), None)
    return summarize(name, rows) if rows and name else None


def summarize(estimator: str, rows: Sequence[Sequence[tuple[Sequence[float], Baseline]]]) -> BaselineSummary:
    """``rows``: per instance, each (estimate, baseline) it holds (one; a generated answer one per level)."""
    def mean(xs):
        xs = [x for x in xs if x is not None]
        return float(np.mean(xs)) if xs else None

    def per_instance(read):
        return [mean(read(b) for _, b in pairs) for pairs in rows]

    return BaselineSummary(
        estimator=estimator, oracle_samples=rows[0][0][1].samples, instances=len(rows),
        identical=sum(all(same_explanation(v, b.attribution) for v, b in pairs) for pairs in rows),
        aopc=paired(per_instance(lambda b: b.q_estimate and b.q_estimate.aopc),
                    per_instance(lambda b: b.q_baseline and b.q_baseline.aopc)),
        local_fidelity=paired(per_instance(lambda b: b.local_fidelity_estimate),
                              per_instance(lambda b: b.local_fidelity_baseline)))

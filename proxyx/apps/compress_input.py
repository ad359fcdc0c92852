"""``proxyx compress`` with ``compress.target: input``: how much of each input can go, guided by its explanation.

The published setting compresses what the model reads; here each test input
(a long review: at least ``compress.min_units`` sentences or words) is
compressed by its own ranking of its units, least important first:

* ``random``: a permutation of the input's units per seed;
* ``self_information``: the sum of the units' token surprisals under the
  oracle, in the oracle's whole prompt (Selective Context / LLMLingua's
  idea), lowest first: one pass per input (``selfinfo``);
* ``proxy:NAME`` / ``oracle``: the model's attribution of the oracle's label
  on this input (``explainer.method``, ``samples``), lowest first;
* ``informed:NAME``: the proxy-informed estimator (``explainer.estimator``,
  ``oracle_samples`` oracle answers per input).

At step i = 0..``steps`` every input loses round(i * n / steps) of its n
units in its order; the oracle's accuracy on the compressed inputs against
the share of the inputs' tokens removed (pooled over the inputs) is the
curve, and its best point (``compress.best_point``) the result.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import Config
from ..data import Instance, sample
from ..errors import BudgetExceeded, DataError
from ..explain import attribute, informed_attribute, instance_seed
from ..perturb import Segments
from ..prompt import completion_prompt
from ..session import ALL, load_instances, open_session
from .curves import make_curve, order_by, proxy_ratio, summarise
from .results import CompressedInput, CompressReport, CurvePoint, Shot
from .scoring import ORACLE_AT_N, OnProgress
from .selfinfo import span_values, token_surprisal


def long_inputs(config: Config) -> list[Instance]:
    """The seeded sample of ``compress.test`` inputs of ``dataset.split`` with at least ``min_units`` units."""
    cc = config.compress
    rows = [x for x in load_instances(config, limit=ALL) if x.label in config.task.labels]
    rows = [x for x in rows if len(Segments(x.text, unit=cc.unit)) >= cc.min_units]
    if len(rows) < cc.test:
        raise DataError(f"compress: only {len(rows)} labelled {config.dataset.split} texts have at least "
                        f"{cc.min_units} {cc.unit}s (of {cc.test} wanted); lower compress.min_units or compress.test")
    return sample(rows, cc.test, config.dataset.seed)


def unit_spans(segments: Segments, offset: int) -> list[tuple[int, int]]:
    """Character range of each unit in a prompt where ``segments.full`` starts at ``offset``."""
    out, at = [], offset
    for u in segments.units:
        out.append((at, at + len(u)))
        at += len(u) + 1
    return out


def removal_mask(order: list[int], n_removed: int) -> np.ndarray:
    mask = np.ones(len(order), dtype=bool)
    mask[np.asarray(order[:n_removed], dtype=int)] = False
    return mask


def run_compress_input(config: Config, *, on_progress: OnProgress | None = None,
                       started: float | None = None) -> CompressReport:
    """Rank each input's units, remove them step by step, measure the oracle's accuracy (written by the caller).

    Stopped by ``max_usd``, it returns a ``stopped_budget`` report with the rankings that finished.
    """
    started = started or time.perf_counter()
    cc, ex = config.compress, config.explainer
    items = long_inputs(config)
    session = open_session(config)
    values: dict[str, list[np.ndarray]] = {}
    head = dict(schema=CompressReport.SCHEMA, config=config.model_dump(mode="json"), target="input", unit=cc.unit,
                demonstrations=[Shot(text=s.text, label=s.label) for s in config.task.few_shot], units=[],
                n_validation=0, n_test=len(items), keep=cc.keep)
    try:
        oracle, labels = session.oracle, list(config.task.labels)
        segs = [Segments(x.text, unit=cc.unit) for x in items]
        targets = oracle([s.full for s in segs], "predict").argmax(axis=1).tolist()
        seeds = [instance_seed(config.seed, x.id) for x in items]

        def each(stage: str, fn) -> list[np.ndarray]:
            out = []
            for i, (seg, target, seed) in enumerate(zip(segs, targets, seeds)):
                if on_progress:
                    on_progress(stage, i, len(segs))
                out.append(np.asarray(fn(seg, target, seed), dtype=float))
            return out

        if "oracle" in cc.methods:
            values["oracle"] = each(f"explaining with {oracle.name}", lambda s, t, seed: attribute(
                oracle, s, t, method=ex.method, samples=ex.samples, seed=seed, purpose=f"explain:{oracle.name}",
                sampler=ex.sampler).values)
        for proxy in session.proxies if "proxy" in cc.methods else []:
            values[f"proxy:{proxy.name}"] = each(f"explaining with {proxy.name}", lambda s, t, seed, p=proxy: attribute(
                p, s, t, method=ex.method, samples=ex.samples, seed=seed, purpose=f"explain:{p.name}",
                sampler=ex.sampler).values)
        for proxy in session.proxies if "informed" in cc.methods else []:
            both = each(f"explaining with {proxy.name} informing the oracle", lambda s, t, seed, p=proxy: [
                r.values for r in informed_attribute(oracle, p, s, t, method=ex.method, samples=ex.samples,
                                                     oracle_samples=ex.oracle_samples, estimator=ex.estimator,
                                                     seed=seed, purpose=f"informed:{p.name}",
                                                     sampler=ex.sampler)[::2]])
            values[f"informed:{proxy.name}"] = [b[0] for b in both]
            values[ORACLE_AT_N] = [b[1] for b in both]  # the oracle alone at n: the same for every proxy
        if "self_information" in cc.methods:
            def surprisal(seg: Segments, _t, _s) -> np.ndarray:
                prompt = completion_prompt(config.task, seg.full)
                spans, s = token_surprisal(prompt, config=config.oracle, cache=session.cache, ledger=session.ledger)
                return span_values(unit_spans(seg, prompt.rindex(seg.full)), spans, s)

            values["self_information"] = each("self-information", surprisal)
        orders = {name: [order_by(v) for v in vs] for name, vs in values.items()}
        for r in range(cc.random_seeds) if "random" in cc.methods else []:
            orders[f"random:{r}"] = [np.random.default_rng([config.seed, r, s]).permutation(len(seg)).tolist()
                                     for seg, s in zip(segs, seeds)]

        steps = range(cc.steps + 1)
        counts = [[round(i * len(seg) / cc.steps) for i in steps] for seg in segs]
        texts = {name: [[seg.render(removal_mask(o, counts[j][i])) for j, (seg, o) in enumerate(zip(segs, os))]
                        for i in steps] for name, os in orders.items()}
        unique = sorted({t for rows in texts.values() for row in rows for t in row})
        if on_progress:
            on_progress("measuring accuracy", 0, len(unique))
        pred = dict(zip(unique, oracle(unique, "evaluate").argmax(axis=1).tolist()))
        gold = [labels.index(x.label) for x in items]
        empty = oracle.model.count_prompt_tokens("")
        n_tokens = {t: 0 if not t else max(1, oracle.model.count_prompt_tokens(t) - empty) for t in unique}
        whole = sum(n_tokens[s.full] for s in segs)
        base = float(np.mean([pred[s.full] == g for s, g in zip(segs, gold)]))

        curves = []
        for name, rows in texts.items():
            points = [CurvePoint(removed_units=sum(c[i] for c in counts), prompt_tokens=sum(n_tokens[t] for t in row),
                                 removed_fraction=1 - sum(n_tokens[t] for t in row) / whole,
                                 accuracy=float(np.mean([pred[t] == g for t, g in zip(row, gold)])))
                      for i, row in enumerate(rows)]
            curves.append(make_curve(name, points, base, cc.keep))
        summary = summarise(curves, session, values)
        inputs = [CompressedInput(id=x.id, label=x.label, oracle_label=labels[t], units=list(seg.units),
                                  orders={name: os[j] for name, os in orders.items()})
                  for j, (x, seg, t) in enumerate(zip(items, segs, targets))]
        report = CompressReport(**head, inputs=inputs, base_accuracy=base, curves=curves, summary=summary,
                                proxy_vs_oracle=proxy_ratio(summary), ledger=session.ledger.rows(),
                                wall_time_s=round(time.perf_counter() - started, 3))
    except BudgetExceeded as e:  # keep what finished: the rankings, and what was paid
        report = CompressReport(**head, status="stopped_budget", stop_reason=str(e), ledger=session.ledger.rows(),
                                wall_time_s=round(time.perf_counter() - started, 3))
    finally:
        session.close()
    return report

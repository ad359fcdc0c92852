"""``proxyx compress``: how much of a many-shot prompt can go, guided by explanations.

The oracle labels the validation instances on the whole prompt; each
ranking method orders the prompt's units (whole demonstrations, or their
words or sentences) from least to most important:

* ``random``: a permutation per seed (``compress.random_seeds``);
* ``self_information``: lowest surprisal under the oracle first (``selfinfo``);
* ``proxy:NAME`` / ``oracle``: the model's attributions of the oracle's
  label, averaged over the validation instances, lowest first;
* ``informed:NAME``: the same with the proxy-informed estimator
  (``explainer.estimator``, ``oracle_samples`` oracle answers);
* ``oracle_at_n`` (with ``informed``): the oracle alone on those same
  ``oracle_samples`` answers, its free baseline (no further call).

Units are then removed in that order, in nested steps, and the oracle's
accuracy is measured on the test instances at each step. A method's result
is the largest share of the prompt's tokens (input text left out) whose
removal keeps at least ``compress.keep`` (0.9) of the uncompressed
accuracy: the best point of its curve, a prompt one could use.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import BudgetExceeded, ConfigError
from ..output import check_outputs, run_inputs
from ..perturb import PromptSegments
from .demos import demonstrations, instances, with_shots
from .render import plot_compress, prompt_path, write_prompt
from .results import CompressReport, Curve, CurvePoint, Interval, MethodSummary, Shot
from .scoring import (ORACLE_AT_N, OnProgress, accuracy, check_proxy, explain_all, explain_informed_all,
                      open_prompt_session, path_cost, probabilities)
from .selfinfo import token_surprisal, unit_values


def removal_counts(n_units: int, unit: str, steps: int) -> list[int]:
    """Units removed at each step: one demonstration at a time, else ``steps`` even shares of the units."""
    if unit == "demonstration":
        return list(range(n_units + 1))
    return sorted({round(i * n_units / steps) for i in range(steps + 1)})


def nested_masks(order, counts: list[int]) -> list[np.ndarray]:
    """The mask after removing the first ``c`` units of ``order``, for each ``c`` (each removes a superset)."""
    order = np.asarray(order, dtype=int)
    out = []
    for c in counts:
        mask = np.ones(len(order), dtype=bool)
        mask[order[:c]] = False
        out.append(mask)
    return out


def best_point(points: list[CurvePoint], base: float, keep: float) -> CurvePoint:
    """The point with the largest removed fraction whose accuracy is at least ``keep * base``.

    Any point of the curve qualifies, not only those before the first drop:
    each is a prompt that keeps the accuracy on the test instances.
    """
    ok = [p for p in points if p.accuracy >= keep * base - 1e-12]
    return max(ok or points[:1], key=lambda p: (p.removed_fraction, -p.removed_units))


def order_by(values) -> list[int]:
    """Least important first: ascending values, ties in unit order."""
    return np.argsort(np.asarray(values, dtype=float), kind="stable").tolist()


def _check(config: Config) -> None:
    """Refuse, before anything is paid, a method the config cannot run."""
    methods = config.compress.methods
    if {"proxy", "informed"} & set(methods) and not config.proxies:
        raise ConfigError("compress.methods: proxy and informed rank with the proxies, but 'proxies' is empty; "
                          "add one (e.g. local/incontext-tfidf) or remove them from compress.methods")
    if "informed" in methods and config.explainer.estimator == "plain":
        raise ConfigError("compress.methods: informed needs explainer.estimator (e.g. prior) and "
                          "explainer.oracle_samples; set them or remove informed")
    if "self_information" in methods and config.oracle.model != "local/gemma-3-270m":
        raise ConfigError(f"compress.methods: self_information needs the oracle's token log-probabilities, which "
                          f"only local/gemma-3-270m gives here, not {config.oracle.model!r}; remove it")


def compress_files(config: Config, out_dir: str | Path) -> list[tuple[Path, str]]:
    """What ``run_compress`` writes in ``out_dir``, as ``proxyx.output.check_outputs`` takes it."""
    names = [p.name for p in config.proxies]
    methods = {"oracle": ["oracle"], "self_information": ["self_information"],
               "proxy": [f"proxy:{n}" for n in names], "informed": [f"informed:{n}" for n in names]}
    out = Path(out_dir)
    return [(out / "compress.json", "the compress report"), (out / "compress.png", "the compress plot"),
            *((prompt_path(out, "prompt", m), f"the {m} prompt") for k in config.compress.methods
              for m in methods.get(k, []))]


def run_compress(config: Config, *, out_dir: str | Path, on_progress: OnProgress | None = None) -> CompressReport:
    """Rank, remove, measure; write ``compress.json``, ``compress.png`` and one prompt file per ranked method.

    Stopped by ``max_usd``, it writes a ``stopped_budget`` report with the rankings that finished.
    """
    started = time.perf_counter()
    cc, out_dir = config.compress, Path(out_dir)
    _check(config)
    check_outputs(compress_files(config, out_dir), run_inputs(config))  # before anything is paid
    shots = demonstrations(config)
    task = with_shots(config.task, shots)
    validation, test = instances(config, shots, cc.validation, cc.test)
    bare = PromptSegments(task, "", unit=cc.unit)
    session = open_prompt_session(config, task, cc.unit)
    orders: dict[str, list[int]] = {}
    files: dict[str, str] = {}
    head = dict(schema=CompressReport.SCHEMA, config=config.model_dump(mode="json"), unit=cc.unit,
                demonstrations=[Shot(text=s.text, label=s.label) for s in shots], units=list(bare.units),
                n_validation=len(validation), n_test=len(test), keep=cc.keep)
    try:
        full = np.ones(len(bare), dtype=bool)
        labels = list(task.labels)
        o_probs = probabilities(session.oracle, task, cc.unit, validation, [full], "predict")[0]
        targets = o_probs.argmax(axis=1).tolist()

        checks, explained = [], {}
        if "oracle" in cc.methods:
            explained["oracle"] = explain_all(session, session.oracle, validation, targets, config=config,
                                              on_progress=on_progress)
            orders["oracle"] = order_by(explained["oracle"].values.mean(axis=0))
        if "proxy" in cc.methods:
            for proxy in session.proxies:
                p_labels = probabilities(proxy, task, cc.unit, validation, [full], "predict")[0].argmax(axis=1)
                exp = explain_all(session, proxy, validation, targets, config=config, on_progress=on_progress)
                orders[f"proxy:{proxy.name}"] = order_by(exp.values.mean(axis=0))
                if "oracle" in explained:
                    checks.append(check_proxy(session, exp, explained["oracle"], validation,
                                              (p_labels == np.array(targets)).tolist(), config))
        if "informed" in cc.methods:
            for proxy in session.proxies:
                exp = explain_informed_all(session, proxy, validation, targets, config=config, on_progress=on_progress)
                orders[f"informed:{proxy.name}"] = order_by(exp.values.mean(axis=0))
            orders[ORACLE_AT_N] = order_by(exp.baseline.mean(axis=0))  # the same for every proxy: the oracle's answers
        if "self_information" in cc.methods:
            spans, surprisal = token_surprisal(bare.full, config=config.oracle, cache=session.cache,
                                               ledger=session.ledger)
            orders["self_information"] = order_by(unit_values(bare, spans, surprisal))
        seeds = list(range(cc.random_seeds)) if "random" in cc.methods else []
        for r in seeds:
            orders[f"random:{r}"] = np.random.default_rng([config.seed, r]).permutation(len(bare)).tolist()

        counts = removal_counts(len(bare), cc.unit, cc.steps)
        masks = {name: nested_masks(order, counts) for name, order in orders.items()}
        unique = list({m.tobytes(): m for ms in masks.values() for m in ms}.values())
        acc = {}
        for i in range(0, len(unique), 4):  # a few prompts variants per batch, so progress moves
            if on_progress:
                on_progress("measuring accuracy", i, len(unique))
            part = unique[i: i + 4]
            got = accuracy(probabilities(session.oracle, task, cc.unit, test, part, "evaluate"), test, labels)
            acc.update(zip((m.tobytes() for m in part), got))
        tokens = {m.tobytes(): session.oracle.model.count_prompt_tokens(bare.render(m)) for m in unique}
        whole = tokens[full.tobytes()]
        base = float(acc[full.tobytes()])

        curves = []
        for name, ms in masks.items():
            points = [CurvePoint(removed_units=c, prompt_tokens=tokens[m.tobytes()],
                                 removed_fraction=1 - tokens[m.tobytes()] / whole, accuracy=float(acc[m.tobytes()]))
                      for c, m in zip(counts, ms)]
            method, _, seed = name.partition(":") if name.startswith("random:") else (name, "", "")
            curves.append(Curve(method=method, seed=int(seed) if seed else None, order=orders[name], points=points,
                                best=best_point(points, base, cc.keep)))

        summary = []
        if seeds:
            iv = Interval.of(c.best.removed_fraction for c in curves if c.method == "random")
            summary.append(MethodSummary(method="random", removed_fraction=iv.mean, interval=iv))
        for c in curves:
            if c.method == "random":
                continue
            kept = nested_masks(c.order, [c.best.removed_units])[0]
            path = write_prompt(prompt_path(out_dir, "prompt", c.method), bare.task_for(kept),
                                fallback_dir=config.cache_dir)
            files[c.method] = str(path)
            summary.append(MethodSummary(method=c.method, removed_fraction=c.best.removed_fraction,
                                         accuracy=c.best.accuracy, cost=path_cost(session, c.method),
                                         oracle_cost=path_cost(session, c.method, model=session.oracle.name),
                                         prompt_file=str(path)))
        oracle_frac = next((m.removed_fraction for m in summary if m.method == "oracle"), None)
        ratio = {m.method: (m.removed_fraction / oracle_frac if oracle_frac else None)
                 for m in summary if m.method.startswith(("proxy:", "informed:"))}
        report = CompressReport(**head, base_accuracy=base, curves=curves, summary=summary, proxy_vs_oracle=ratio,
                                proxy_checks=checks, ledger=session.ledger.rows(),
                                wall_time_s=round(time.perf_counter() - started, 3))
        files["plot"] = str(plot_compress(report, out_dir / "compress.png", fallback_dir=config.cache_dir))
    except BudgetExceeded as e:  # keep what finished: the rankings, and what was paid
        report = CompressReport(**head, status="stopped_budget", stop_reason=str(e), ledger=session.ledger.rows(),
                                wall_time_s=round(time.perf_counter() - started, 3))
    finally:
        session.close()
    files["report"] = str(out_dir / "compress.json")
    report.orders, report.files = orders, files
    files["report"] = str(report.save(out_dir / "compress.json", fallback_dir=config.cache_dir))
    return report

"""``proxyx compress``: how much of a many-shot prompt can go, guided by explanations.

``compress.target: demonstrations`` (here): the oracle labels the
validation instances on the whole prompt; each ranking method orders the
prompt's units (whole demonstrations, or their words or sentences) from
least to most important:

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

``compress.target: input`` ranks each test input's own units instead
(``compress_input``); the curves, the best point and the summary are shared
(``curves``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..engine import refuse_cluster
from ..errors import BudgetExceeded, ConfigError
from ..output import check_outputs, run_inputs
from ..perturb import PromptSegments
from .compress_input import run_compress_input
from .curves import make_curve, order_by, proxy_ratio, summarise
from .demos import demonstrations, instances, with_shots
from .render import plot_compress, prompt_path, write_prompt
from .results import CompressReport, Curve, CurvePoint, Shot
from .scoring import (ORACLE_AT_N, OnProgress, accuracy, check_proxy, explain_all, explain_informed_all,
                      open_prompt_session, probabilities)
from .selfinfo import check_token_logprobs, token_surprisal, unit_values


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


def _check(config: Config) -> None:
    """Refuse, before anything is paid, a method the config cannot run."""
    refuse_cluster(config)
    methods = config.compress.methods
    if {"proxy", "informed"} & set(methods) and not config.proxies:
        raise ConfigError("compress.methods: proxy and informed rank with the proxies, but 'proxies' is empty; "
                          "add one (e.g. local/incontext-tfidf) or remove them from compress.methods")
    if "informed" in methods and config.explainer.estimator == "plain":
        raise ConfigError("compress.methods: informed needs explainer.estimator (e.g. prior) and "
                          "explainer.oracle_samples; set them or remove informed")
    if "self_information" in methods:
        check_token_logprobs(config.oracle)


def compress_files(config: Config, out_dir: str | Path) -> list[tuple[Path, str]]:
    """What ``run_compress`` writes in ``out_dir``, as ``proxyx.output.check_outputs`` takes it (a compressed
    prompt per ranking with ``target: demonstrations``)."""
    names = [p.name for p in config.proxies]
    methods = {"oracle": ["oracle"], "self_information": ["self_information"],
               "proxy": [f"proxy:{n}" for n in names], "informed": [f"informed:{n}" for n in names] + [ORACLE_AT_N]}
    out = Path(out_dir)
    prompts = [] if config.compress.target == "input" else [
        (prompt_path(out, "prompt", m), f"the {m} prompt") for k in config.compress.methods for m in methods.get(k, [])]
    return [(out / "compress.json", "the compress report"), (out / "compress.png", "the compress plot"), *prompts]


def run_compress(config: Config, *, out_dir: str | Path, on_progress: OnProgress | None = None) -> CompressReport:
    """Rank, remove, measure; write ``compress.json``, ``compress.png`` and one prompt file per ranked method.

    Stopped by ``max_usd``, it writes a ``stopped_budget`` report with the rankings that finished.
    """
    started = time.perf_counter()
    cc, out_dir = config.compress, Path(out_dir)
    _check(config)
    check_outputs(compress_files(config, out_dir), run_inputs(config))  # before anything is paid
    if cc.target == "input":
        return finish(run_compress_input(config, on_progress=on_progress, started=started), out_dir, config)
    shots = demonstrations(config)
    task = with_shots(config.task, shots)
    validation, test = instances(config, shots, cc.validation, cc.test)
    bare = PromptSegments(task, "", unit=cc.unit)
    session = open_prompt_session(config, task, cc.unit)
    values: dict[str, np.ndarray] = {}  # every ranking's unit values that finished (also after a stop)
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
            values["oracle"] = explained["oracle"].values.mean(axis=0)
        if "proxy" in cc.methods:
            for proxy in session.proxies:
                p_labels = probabilities(proxy, task, cc.unit, validation, [full], "predict")[0].argmax(axis=1)
                exp = explain_all(session, proxy, validation, targets, config=config, on_progress=on_progress)
                values[f"proxy:{proxy.name}"] = exp.values.mean(axis=0)
                if "oracle" in explained:
                    checks.append(check_proxy(session, exp, explained["oracle"], validation,
                                              (p_labels == np.array(targets)).tolist(), config))
        if "informed" in cc.methods:
            for proxy in session.proxies:
                exp = explain_informed_all(session, proxy, validation, targets, config=config, on_progress=on_progress)
                values[f"informed:{proxy.name}"] = exp.values.mean(axis=0)
            values[ORACLE_AT_N] = exp.baseline.mean(axis=0)  # the same for every proxy: the oracle's answers
        if "self_information" in cc.methods:
            spans, surprisal = token_surprisal(bare.full, config=config.oracle, cache=session.cache,
                                               ledger=session.ledger)
            values["self_information"] = unit_values(bare, spans, surprisal)
        orders = {name: order_by(v) for name, v in values.items()}
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
            curves.append(make_curve(name, points, base, cc.keep, orders[name]))

        def prompt_file(c: Curve) -> str:
            kept = nested_masks(c.order, [c.best.removed_units])[0]
            return str(write_prompt(prompt_path(out_dir, "prompt", c.method), bare.task_for(kept),
                                    fallback_dir=config.cache_dir))

        summary = summarise(curves, session, values, prompt_file)
        report = CompressReport(**head, base_accuracy=base, curves=curves, summary=summary,
                                proxy_vs_oracle=proxy_ratio(summary), proxy_checks=checks,
                                ledger=session.ledger.rows(), wall_time_s=round(time.perf_counter() - started, 3),
                                files={m.method: m.prompt_file for m in summary if m.prompt_file})
    except BudgetExceeded as e:  # keep what finished: the rankings, and what was paid
        report = CompressReport(**head, status="stopped_budget", stop_reason=str(e), ledger=session.ledger.rows(),
                                wall_time_s=round(time.perf_counter() - started, 3))
    finally:
        session.close()
    report.orders = {name: order_by(v) for name, v in values.items()}
    return finish(report, out_dir, config)


def finish(report: CompressReport, out_dir: Path, config: Config) -> CompressReport:
    """Write the plot (of a complete run) and ``compress.json``; the report lists its files."""
    if report.status == "complete":
        report.files["plot"] = str(plot_compress(report, out_dir / "compress.png", fallback_dir=config.cache_dir))
    report.files["report"] = str(out_dir / "compress.json")
    report.files["report"] = str(report.save(out_dir / "compress.json", fallback_dir=config.cache_dir))
    return report

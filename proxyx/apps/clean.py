"""``proxyx clean``: find the demonstrations that hurt, by gold-label attribution, and remove them.

Each of ``clean.seeds`` runs draws a k-shot prompt and flips the labels of
``clean.poison.count`` demonstrations whose label is plainly right
(``proxyx.apps.poison``). Each validation prediction is attributed to the
demonstrations with the value *the oracle's probability of the gold label*
(not of its predicted label), so a demonstration that pulls the oracle away
from the right answer gets a negative attribution whatever the oracle
predicts; validation and test reviews are balanced by label
(``clean.balanced``), so a label that is merely frequent in the prompt
gains on one half what it loses on the other.

Routes, each removing the demonstrations with a negative mean attribution
(``clean.remove: negative``) or the m most negative:

* ``oracle``: the oracle's attributions (Kernel SHAP, ``explainer``);
* ``proxy:NAME``: a proxy's, no oracle call;
* ``ESTIMATOR:NAME``: a proxy-informed estimator (``clean.estimators``,
  ``explainer.oracle_samples`` oracle answers per review);
* ``leave_one_out``: the oracle's gold-label probability with each
  demonstration left out, against the whole prompt (k + 1 prompts a review);
* ``random``: ``poison.count`` (or m) demonstrations, ``random_seeds`` draws.

For each: precision and recall of the poisoned demonstrations, the oracle's
accuracy on the test reviews after removal, the oracle calls it used (from
the ledger), and a diagnostic of what it attributed (``Diagnostic``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..engine import refuse_cluster
from ..errors import BudgetExceeded, ConfigError
from ..output import check_outputs, run_inputs
from ..results import Difference
from ..stats import mean_t
from .demos import instances, with_shots
from .poison import check_poison, poisoned_prompt, vader_scorer
from .render import prompt_path, write_prompt
from .results import CleanReport, CleanRun, Diagnostic, Interval, PoisonedShot, Removal, Route
from .scoring import (Explained, OnProgress, PromptSession, accuracy, check_proxy, explain_all, explain_informed_all,
                      open_prompt_session, probabilities)

VALUE = "the oracle's probability of the gold label"
UNIT = "demonstration"


def to_remove(mean_values, remove: str | int) -> list[int]:
    """Demonstrations with a negative mean attribution, or the ``remove`` lowest (ties: earlier first)."""
    v = np.asarray(mean_values, dtype=float)
    if remove == "negative":
        return [i for i in range(len(v)) if v[i] < 0]
    return sorted(np.argsort(v, kind="stable")[: int(remove)].tolist())


def precision_recall(removed: list[int], poisoned: list[int]) -> tuple[float | None, float]:
    """Precision (None when nothing was removed) and recall of the poisoned demonstrations found."""
    hit = len(set(removed) & set(poisoned))
    return (hit / len(removed) if removed else None), (hit / len(poisoned) if poisoned else 1.0)


def keep_mask(k: int, removed: list[int]) -> np.ndarray:
    mask = np.ones(k, dtype=bool)
    mask[list(removed)] = False
    return mask


def estimators(config: Config) -> list[str]:
    """The proxy-informed estimators run per proxy: ``clean.estimators``, else ``explainer.estimator`` unless plain."""
    if config.clean.estimators is not None:
        return list(config.clean.estimators)
    return [] if config.explainer.estimator == "plain" else [config.explainer.estimator]


def _check(config: Config) -> None:
    """Refuse, before anything is paid, what the config cannot run."""
    refuse_cluster(config)
    cc = config.clean
    if ("proxy" in cc.methods or estimators(config)) and not config.proxies:
        raise ConfigError("clean.methods: proxy (and clean.estimators) explain with the proxies, but 'proxies' is "
                          "empty; add one (e.g. local/incontext-tfidf) or remove proxy from clean.methods")
    if estimators(config) and config.explainer.oracle_samples is None:
        raise ConfigError("clean.estimators: the proxy-informed estimators need explainer.oracle_samples (and "
                          "explainer.estimator, e.g. prior); set them or set clean.estimators: []")
    k = check_poison(config)
    if cc.remove != "negative" and cc.remove >= k:
        raise ConfigError(f"clean.remove: {cc.remove} would remove every one of the {k} demonstrations; "
                          f"use at most {k - 1}, or negative")


def leave_one_out(session: PromptSession, items, targets: list[int]) -> Explained:
    """Each demonstration's value: the gold label's probability with the whole prompt minus without it."""
    k = len(session.task.few_shot)
    masks = [np.ones(k, dtype=bool)] + [keep_mask(k, [i]) for i in range(k)]
    p = probabilities(session.oracle, session.task, UNIT, items, masks, "leave_one_out")
    gold = p[:, np.arange(len(items)), targets]  # (k + 1, items)
    return Explained(model="leave_one_out", values=(gold[0][None, :] - gold[1:]).T, targets=targets)


def diagnose(values: np.ndarray, true_labels: list[str], poisoned: list[int], gold: list[str]) -> Diagnostic:
    """Mean attributions of poisoned / clean demonstrations on their own label's reviews and the others'."""
    same = np.array([[g == t for t in true_labels] for g in gold])
    bad = np.zeros(len(true_labels), dtype=bool)
    bad[poisoned] = True

    def mean(rows, cols):
        sel = values[rows & cols[None, :]]
        return float(sel.mean()) if sel.size else None

    ranks = np.argsort(np.argsort(values.mean(axis=0), kind="stable"), kind="stable") + 1
    return Diagnostic(poisoned_same=mean(same, bad), poisoned_opposite=mean(~same, bad), clean_same=mean(same, ~bad),
                      clean_opposite=mean(~same, ~bad),
                      poisoned_rank=float(ranks[bad].mean()) if poisoned else None)


def routes(config: Config) -> list[str]:
    """The explaining routes of each run, in the order they run (random removal writes no prompt)."""
    cc, names = config.clean, []
    if "oracle" in cc.methods:
        names.append("oracle")
    for proxy in config.proxies:
        names += [f"proxy:{proxy.name}"] * ("proxy" in cc.methods) + [f"{e}:{proxy.name}" for e in estimators(config)]
    return names + ["leave_one_out"] * ("leave_one_out" in cc.methods)


def clean_files(config: Config, out_dir: Path) -> list[tuple[Path, str]]:
    """What ``run_clean`` writes in ``out_dir``, as ``proxyx.output.check_outputs`` takes it."""
    return [(out_dir / "clean.json", "the clean report"),
            *((cleaned_path(out_dir, name, r), f"the {name} cleaned prompt of run {r}")
              for r in range(config.clean.seeds) for name in routes(config))]


def cleaned_path(out_dir: Path, route: str, run: int) -> Path:
    return prompt_path(out_dir, "prompt.cleaned", f"{route}.run{run}")


def run_clean(config: Config, *, out_dir: str | Path, on_progress: OnProgress | None = None) -> CleanReport:
    """Poison, attribute, remove, measure over ``clean.seeds`` runs; write ``clean.json`` and the cleaned prompts."""
    started = time.perf_counter()
    _check(config)
    out_dir = Path(out_dir)
    check_outputs(clean_files(config, out_dir), run_inputs(config))  # before anything is paid
    session = open_prompt_session(config, config.task, UNIT)
    vader = vader_scorer(config, session.oracle)
    files: dict[str, str] = {}
    runs: list[CleanRun] = []
    try:
        for r in range(config.clean.seeds):
            if on_progress:
                on_progress("runs", r, config.clean.seeds)
            runs.append(_run(config, session, vader, r, out_dir, files, on_progress))
        report = CleanReport(
            schema=CleanReport.SCHEMA, config=config.model_dump(mode="json"), value=VALUE, runs=runs,
            n_test=config.clean.test,
            accuracy_clean=Interval.of(x.accuracy_clean for x in runs),
            accuracy_poisoned=Interval.of(x.accuracy_poisoned for x in runs),
            accuracy_without_poisoned=Interval.of(x.accuracy_without_poisoned for x in runs),
            damage=_difference([x.accuracy_clean - x.accuracy_poisoned for x in runs]),
            routes=[_route(m, runs) for m in [x.method for x in runs[0].removals]],
            ledger=session.ledger.rows(), wall_time_s=round(time.perf_counter() - started, 3), files=files)
    except BudgetExceeded as e:  # keep the runs that finished, and what was paid
        report = CleanReport(schema=CleanReport.SCHEMA, config=config.model_dump(mode="json"), value=VALUE, runs=runs,
                             n_test=config.clean.test, status="stopped_budget", stop_reason=str(e),
                             ledger=session.ledger.rows(), wall_time_s=round(time.perf_counter() - started, 3))
    finally:
        if vader is not None:
            vader.close()
        session.close()
    report.files = {**files, "report": str(out_dir / "clean.json")}
    report.files["report"] = str(report.save(out_dir / "clean.json", fallback_dir=config.cache_dir))
    return report


def _run(config: Config, base: PromptSession, vader, r: int, out_dir: Path, files: dict,
         on_progress: OnProgress | None) -> CleanRun:
    cc, labels, ledger, oracle = config.clean, list(config.task.labels), base.ledger, base.oracle.name
    pp = poisoned_prompt(config, r, oracle=base.oracle, vader=vader)
    task = with_shots(config.task, pp.shots)
    session = dataclasses.replace(base, task=task)
    validation, test = instances(config, pp.clean, cc.validation, cc.test, balanced=cc.balanced, run=r)
    k, gold = len(pp.shots), [labels.index(x.label) for x in validation]

    explained: dict[str, tuple[Explained, int]] = {}

    def route(name: str, explain) -> Explained:
        before = ledger.snapshot()
        e = explain()
        explained[name] = (e, ledger.total(model=oracle, since=before).nominal.calls)
        return e

    kw = dict(config=config, on_progress=on_progress)
    if "oracle" in cc.methods:
        route("oracle", lambda: explain_all(session, session.oracle, validation, gold, **kw))
    checks = []
    for proxy in session.proxies:
        if "proxy" in cc.methods:
            e = route(f"proxy:{proxy.name}", lambda: explain_all(session, proxy, validation, gold, **kw))
            if "oracle" in explained:
                full = [np.ones(k, dtype=bool)]
                agree = [probabilities(m, task, UNIT, validation, full, "screen")[0].argmax(axis=1)
                         for m in (proxy, session.oracle)]
                checks.append(check_proxy(session, e, explained["oracle"][0], validation,
                                          (agree[0] == agree[1]).tolist(), config))
        for est in estimators(config):
            est_config = config.model_copy(update={"explainer": config.explainer.model_copy(update={"estimator": est})})
            route(f"{est}:{proxy.name}", lambda: explain_informed_all(session, proxy, validation, gold,  # noqa: B023
                                                                      config=est_config, on_progress=on_progress))
    if "leave_one_out" in cc.methods:
        route("leave_one_out", lambda: leave_one_out(session, validation, gold))

    removed = {name: to_remove(e.values.mean(axis=0), cc.remove) for name, (e, _) in explained.items()}
    n_random = len(pp.poisoned) if cc.remove == "negative" else cc.remove
    draws = [sorted(np.random.default_rng([config.seed, r, d]).choice(k, n_random, replace=False).tolist())
             for d in range(cc.random_seeds)] if "random" in cc.methods else []
    full, ideal = np.ones(k, dtype=bool), keep_mask(k, pp.poisoned)
    masks = [full, ideal] + [keep_mask(k, x) for x in [*removed.values(), *draws]]
    unique = list({m.tobytes(): m for m in masks}.values())
    if on_progress:
        on_progress("measuring accuracy", 0, 1)
    acc = dict(zip((m.tobytes() for m in unique),
                   accuracy(probabilities(session.oracle, task, UNIT, test, unique, "evaluate"), test, labels)))
    clean_task = with_shots(config.task, pp.clean)
    acc_clean = float(accuracy(probabilities(session.oracle, clean_task, UNIT, test, [full], "evaluate"),
                               test, labels)[0])

    true_labels, gold_labels = [s.label for s in pp.clean], [x.label for x in validation]
    removals = []
    for name, (e, calls) in explained.items():
        rem = removed[name]
        prec, rec = precision_recall(rem, pp.poisoned)
        path = write_prompt(cleaned_path(out_dir, name, r),
                            with_shots(config.task, [s for i, s in enumerate(pp.shots) if i not in rem]),
                            fallback_dir=config.cache_dir)
        files[f"{name} run {r}"] = str(path)
        removals.append(Removal(method=name, removed=rem, precision=prec, recall=rec,
                                accuracy=float(acc[keep_mask(k, rem).tobytes()]), oracle_calls=calls,
                                mean_attribution=e.values.mean(axis=0).tolist(),
                                diagnostic=diagnose(e.values, true_labels, pp.poisoned, gold_labels),
                                prompt_file=str(path)))
    if draws:
        pr = [precision_recall(x, pp.poisoned) for x in draws]
        accs = [float(acc[keep_mask(k, x).tobytes()]) for x in draws]
        precs = [p for p, _ in pr if p is not None]
        removals.append(Removal(method="random", removed=draws[0], precision=float(np.mean(precs)) if precs else None,
                                recall=float(np.mean([x for _, x in pr])), accuracy=float(np.mean(accs)),
                                oracle_calls=0, draws=draws, draw_accuracy=accs))
    evidence = dict(zip(pp.poisoned, zip(pp.vader, pp.oracle)))
    shots = [PoisonedShot(text=s.text, label=s.label, poisoned=i in evidence, vader=evidence.get(i, (None, None))[0],
                          zero_shot=evidence.get(i, (None, None))[1]) for i, s in enumerate(pp.shots)]
    return CleanRun(run=r, demonstrations=shots, poisoned=pp.poisoned, n_validation=len(validation),
                    accuracy_clean=acc_clean, accuracy_poisoned=float(acc[full.tobytes()]),
                    accuracy_without_poisoned=float(acc[ideal.tobytes()]), removals=removals,
                    proxy_checks=checks)


def _difference(values: list[float]) -> Difference:
    t = mean_t(values)
    return Difference(mean=t.estimate, low=t.low, high=t.high)


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def _route(method: str, runs: list[CleanRun]) -> Route:
    """One route over the runs (random: its draws remove as many in every run)."""
    rs = [x.removal(method) for x in runs]
    precs = [r.precision for r in rs if r.precision is not None]
    diags = [r.diagnostic for r in rs if r.diagnostic is not None]
    diagnostic = Diagnostic(**{f: _mean(getattr(d, f) for d in diags) for f in Diagnostic.model_fields}) \
        if diags else None
    return Route(method=method, removed=_mean(len(r.removed) for r in rs),
                 precision=Interval.of(precs) if precs else None, recall=Interval.of(r.recall for r in rs),
                 accuracy_after=Interval.of(r.accuracy for r in rs),
                 gain=_difference([r.accuracy - x.accuracy_poisoned for r, x in zip(rs, runs)]),
                 oracle_calls=_mean(r.oracle_calls for r in rs), diagnostic=diagnostic)

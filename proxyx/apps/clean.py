"""``proxyx clean``: find the demonstrations that hurt, by gold-label attribution, and remove them.

Some demonstrations of a k-shot prompt get a flipped label
(``clean.poison``). Each validation prediction is attributed to the
demonstrations with the value *the oracle's probability of the gold
label* (not of its predicted label): a demonstration that pulls the oracle
away from the right answer gets a negative attribution, whatever the
oracle predicts. Per explaining model (the oracle, each proxy), the
demonstrations with a negative mean attribution (``clean.remove:
negative``), or the m most negative (``clean.remove: m``), are removed,
and the oracle's accuracy on the test instances is compared with the clean
prompt, the poisoned one, and as many demonstrations removed at random.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import BudgetExceeded
from ..output import check_outputs, run_inputs
from .demos import demonstrations, instances, poisoned, with_shots
from .render import prompt_path, write_prompt
from .results import CleanReport, Interval, Removal, Shot
from .scoring import OnProgress, accuracy, check_proxy, explain_all, open_prompt_session, path_cost, probabilities

VALUE = "the oracle's probability of the gold label"


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


def clean_files(config: Config, out_dir: str | Path) -> list[tuple[Path, str]]:
    """What ``run_clean`` writes in ``out_dir``, as ``proxyx.output.check_outputs`` takes it."""
    out = Path(out_dir)
    return [(out / "clean.json", "the clean report"),
            *((prompt_path(out, "prompt.cleaned", m), f"the {m} cleaned prompt")
              for m in ["oracle", *(f"proxy:{p.name}" for p in config.proxies)])]


def run_clean(config: Config, *, out_dir: str | Path, on_progress: OnProgress | None = None) -> CleanReport:
    """Attribute, remove, measure; write ``clean.json`` and the cleaned prompt of each explaining model.

    Stopped by ``max_usd``, it writes a ``stopped_budget`` report with the attributions that finished.
    """
    started = time.perf_counter()
    cc, out_dir = config.clean, Path(out_dir)
    check_outputs(clean_files(config, out_dir), run_inputs(config))  # before anything is paid
    shots = demonstrations(config)
    bad_shots, bad = poisoned(config, shots)
    task, clean_task = with_shots(config.task, bad_shots), with_shots(config.task, shots)
    validation, test = instances(config, shots, cc.validation, cc.test)
    session = open_prompt_session(config, task, "demonstration")
    files: dict[str, str] = {}
    attributions: dict[str, list[float]] = {}
    head = dict(schema=CleanReport.SCHEMA, config=config.model_dump(mode="json"), value=VALUE,
                demonstrations=[Shot(text=s.text, label=s.label, poisoned=i in bad) for i, s in enumerate(bad_shots)],
                poisoned=bad, n_validation=len(validation), n_test=len(test))
    try:
        k, labels = len(bad_shots), list(task.labels)
        full = np.ones(k, dtype=bool)
        gold = [labels.index(x.label) for x in validation]
        o_label = probabilities(session.oracle, task, "demonstration", validation, [full], "screen")[0].argmax(axis=1)
        oracle_exp = explain_all(session, session.oracle, validation, gold, config=config, on_progress=on_progress)
        explained, checks = {"oracle": oracle_exp}, []
        attributions["oracle"] = oracle_exp.values.mean(axis=0).tolist()
        for proxy in session.proxies:
            exp = explain_all(session, proxy, validation, gold, config=config, on_progress=on_progress)
            explained[f"proxy:{proxy.name}"] = exp
            attributions[f"proxy:{proxy.name}"] = exp.values.mean(axis=0).tolist()
            p_label = probabilities(proxy, task, "demonstration", validation, [full], "screen")[0].argmax(axis=1)
            checks.append(check_proxy(session, exp, oracle_exp, validation, (p_label == o_label).tolist(), config))

        removed = {name: to_remove(e.values.mean(axis=0), cc.remove) for name, e in explained.items()}
        randoms = {c: [np.sort(np.random.default_rng([config.seed, r, c]).choice(k, c, replace=False)).tolist()
                       for r in range(cc.random_seeds)] for c in {len(r) for r in removed.values()}}
        masks = [full] + [keep_mask(k, r) for r in removed.values()] + \
                [keep_mask(k, r) for rs in randoms.values() for r in rs]
        unique = list({m.tobytes(): m for m in masks}.values())
        if on_progress:
            on_progress("measuring accuracy", 0, len(unique) + 1)
        acc = dict(zip((m.tobytes() for m in unique),
                       accuracy(probabilities(session.oracle, task, "demonstration", test, unique, "evaluate"),
                                test, labels)))
        acc_clean = float(accuracy(probabilities(session.oracle, clean_task, "demonstration", test, [full],
                                                 "evaluate"), test, labels)[0])
        removals = []
        for name, rem in removed.items():
            prec, rec = precision_recall(rem, bad)
            path = write_prompt(prompt_path(out_dir, "prompt.cleaned", name),
                                with_shots(config.task, [s for i, s in enumerate(bad_shots) if i not in rem]),
                                fallback_dir=config.cache_dir)
            files[name] = str(path)
            rand = [float(acc[keep_mask(k, r).tobytes()]) for r in randoms[len(rem)]]
            removals.append(Removal(method=name, mean_attribution=explained[name].values.mean(axis=0).tolist(),
                                    removed=rem, precision=prec, recall=rec, accuracy=float(acc[keep_mask(k, rem).tobytes()]),
                                    random=Interval.of(rand) if rem else None, cost=path_cost(session, name),
                                    oracle_cost=path_cost(session, name, model=session.oracle.name),
                                    prompt_file=str(path)))
        report = CleanReport(**head, accuracy_clean=acc_clean, accuracy_poisoned=float(acc[full.tobytes()]),
                             removals=removals, proxy_checks=checks, ledger=session.ledger.rows(),
                             wall_time_s=round(time.perf_counter() - started, 3))
    except BudgetExceeded as e:  # keep what finished: the attributions, and what was paid
        report = CleanReport(**head, status="stopped_budget", stop_reason=str(e), ledger=session.ledger.rows(),
                             wall_time_s=round(time.perf_counter() - started, 3))
    finally:
        session.close()
    files["report"] = str(out_dir / "clean.json")
    report.attributions, report.files = attributions, files
    files["report"] = str(report.save(out_dir / "clean.json", fallback_dir=config.cache_dir))
    return report

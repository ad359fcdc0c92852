"""``proxyx rerank``: exact document-level Shapley values of the oracle's answer rerank retrieved passages.

For each FAQ question, BM25 retrieves k passages (``rerank_data``). The
oracle answers greedily from all k; the value of a subset S of passages is
the log-probability of that answer, teacher-forced, with only S in the
context (``rerank.value``). Every one of the 2^k subsets is scored, so the
Shapley values are exact (``rerank_values``); passages are reranked by them.
The proxy values the same subsets lexically (the share of the answer's
content words the kept passages contain: no model call) and is screened
against the oracle with the project's sequential test, questions in order.
The screen-and-apply path uses the oracle's ranking on the screened
questions and, once the proxy is accepted, the proxy's on the rest.

Every oracle call goes through the call cache and the ledger: a rerun pays $0.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..engine import refuse_cluster
from ..errors import BudgetExceeded
from ..fidelity import agreement, fidelity_ratio
from ..generation import Generator, make_value
from ..ledger import Ledger
from ..models.base import Answer
from ..output import check_outputs, run_inputs
from ..results import Cost
from ..runtime import open_runtime
from ..screen import screen_decision
from ..stats import paired_t
from ..results.rerank import (AnswerScore, Difference, QuestionResult, RerankReport, RerankRow, RerankScreen, RetrievalStats,
                              Spread)
from .rerank_data import Case, load_cases
from .rerank_values import (coalitions, containment, deletion_aopc, overlap_table, rank, recall_at, shapley_exact,
                            token_f1)
from .scoring import OnProgress

ACCURACY = ("token F1 (content words, SQuAD-style) and containment (share of the answer's content words found) "
            "of the oracle's greedy answer from the top-m passages only, against the gold FAQ answer section")


def prompt(config: Config, case: Case, keep) -> str:
    """The oracle's prompt with the passages ``keep`` marks (a bool per passage), in retrieval order."""
    task = config.rerank.prompt
    return task.prompt(task.separator.join(p for p, k in zip(case.passages, keep) if k), case.question)


def _record_proxy(ledger: Ledger, name: str, case: Case, n: int) -> None:
    """The lexical proxy is a pure function (no call to cache); the ledger still counts its evaluations."""
    words = sum(len(p.split()) for p in case.passages) // 2 + len(case.question.split())
    for _ in range(n):
        ledger.record_call((name, "proxy", f"explain:{name}"), Answer(probs=(0.0,), prompt_tokens=words))


def run_rerank(config: Config, *, out: str | Path | None = None, on_progress: OnProgress | None = None) -> RerankReport:
    """Retrieve, answer, value every subset, rerank, screen, measure; write the JSON report to ``out``.

    Stopped by ``max_usd``, it writes a ``stopped_budget`` report with the questions whose subsets were all valued.
    """
    refuse_cluster(config)
    started = time.perf_counter()
    rc = config.rerank
    if out is not None:
        check_outputs([(out, "the rerank report")], run_inputs(config))  # before anything is paid
    cases, stats = load_cases(rc.dataset, k=rc.k, questions=rc.questions, require_gold=rc.require_gold,
                              passage_words=rc.passage_words, seed=config.seed)
    rt = open_runtime(config)
    ledger = rt.ledger
    oracle = rt.generator(config.oracle, rc.prompt, role="oracle")
    proxy_name = f"lexical/{rc.proxy}"
    masks = coalitions(rc.k)
    full = np.ones(rc.k, dtype=bool)
    results: list[QuestionResult] = []  # the questions valued so far (also after a stop)
    head = dict(schema=RerankReport.SCHEMA, config=config.model_dump(mode="json"), dataset=rc.dataset, k=rc.k,
                value=f"{rc.value} of the oracle's greedy answer with all {rc.k} passages, teacher-forced",
                accuracy_metric=ACCURACY, retrieval=RetrievalStats(**stats))
    try:
        for c in cases:
            oracle.check_fits(prompt(config, c, full))
        if on_progress:
            on_progress("answering", 0, len(cases))
        answers = [a.text.strip() for a in oracle.answer([prompt(config, c, full) for c in cases], purpose="answer")]
        tables, per_question = [], []
        for i, (c, ans) in enumerate(zip(cases, answers)):
            if on_progress:
                on_progress("valuing subsets", i, len(cases))
            before = ledger.snapshot()
            value = make_value(rc.value, oracle, lambda keep, c=c: prompt(config, c, keep), ans, purpose="explain:oracle")
            v = value(masks)
            per_question.append(ledger.total(since=before))
            tables.append(v)
            _record_proxy(ledger, proxy_name, c, len(masks))
            results.append(_question(i, c, ans, v, overlap_table(ans, c.passages), rc, config.seed))
        screen, screened_n = _screen(results, tables, proxy_name, config)
        accepted = screen.decision == "accepted"
        for j, q in enumerate(results):
            q.orders["screened"] = q.orders["oracle"] if (j < screened_n or not accepted) else q.orders["proxy"]
        _answers_from_top(oracle, config, cases, results, on_progress)
        answer_cost = ledger.total(purpose="answer")
        proxy_cost = ledger.total(model=proxy_name)
        oracle_values = ledger.total(purpose="explain:oracle")
        screened_values = sum((per_question[j] for j in range(len(cases)) if j < screened_n or not accepted), Cost())
        costs = {"bm25": Cost(), "random": Cost(), "oracle": answer_cost + oracle_values,
                 "proxy": answer_cost + proxy_cost, "screened": answer_cost + proxy_cost + screened_values}
        notes = {"proxy": f"screen {screen.decision}",
                 "screened": f"oracle on the {screened_n} screened questions, then "
                             + ("the proxy" if accepted else "the oracle (proxy rejected)")}
        refs = [c.gold_answer for c in cases]
        rows = [_row(m, results, refs, rc, costs[m], notes.get(m, "")) for m in ("bm25", "oracle", "proxy", "screened")]
        rows.append(_random_row(results, refs, rc))
        report = RerankReport(**head, rows=rows, screen=screen, questions=results, ledger=ledger.rows(),
                              wall_time_s=round(time.perf_counter() - started, 3))
    except BudgetExceeded as e:  # keep what finished: the questions valued, and what was paid
        report = RerankReport(**head, status="stopped_budget", stop_reason=str(e), questions=results,
                              ledger=ledger.rows(), wall_time_s=round(time.perf_counter() - started, 3))
    finally:
        oracle.close()
        rt.close()
    if out is not None:
        report.files["report"] = str(report.save(out, fallback_dir=config.cache_dir))
    return report


def _question(i: int, c: Case, answer: str, vo: np.ndarray, vp: np.ndarray, rc, seed: int) -> QuestionResult:
    phi_o, phi_p = shapley_exact(vo, rc.k), shapley_exact(vp, rc.k)
    orders = {"bm25": list(range(rc.k)), "oracle": rank(phi_o), "proxy": rank(phi_p)}
    for r in range(rc.random_seeds):
        orders[f"random:{r}"] = [int(x) for x in np.random.default_rng([seed, r, i]).permutation(rc.k)]
    return QuestionResult(id=c.id, question=c.question, passage_ids=list(c.passage_ids), gold=c.gold, answer=answer,
                          oracle_values=phi_o.tolist(), proxy_values=phi_p.tolist(), empty_value=float(vo[0]),
                          full_value=float(vo[-1]), orders=orders)


def _screen(results: list[QuestionResult], oracle_tables, proxy: str, config: Config) -> tuple[RerankScreen, int]:
    """Sequential screen of the proxy's rankings, q measured on the oracle's value table."""
    sc = config.screen
    d, fids, rhos, top1 = [], [], [], []
    for q, v in zip(results, oracle_tables):
        qo, qp = deletion_aopc(q.orders["oracle"], v), deletion_aopc(q.orders["proxy"], v)
        d.append(qp - sc.tau * qo)
        fids.append(fidelity_ratio(qp, qo))
        rhos.append(agreement(np.array(q.proxy_values), np.array(q.oracle_values), k=1)["spearman"])
        top1.append(q.orders["oracle"][0] == q.orders["proxy"][0])
    s = screen_decision(d, sc)
    pooled = agreement(np.concatenate([q.proxy_values for q in results]),
                       np.concatenate([q.oracle_values for q in results]), k=1)["spearman"]
    mean = lambda xs: float(np.mean([x for x in xs if x is not None])) if any(x is not None for x in xs) else None  # noqa: E731
    return RerankScreen(proxy=proxy, decision=s.decision, n=s.n, tau=sc.tau, confidence=sc.per_look_confidence,
                        mean_d=s.mean_d, lower=s.lower, mean_fidelity=mean(fids), mean_spearman=mean(rhos),
                        pooled_spearman=pooled, top1_agreement=float(np.mean(top1))), s.n


def _answers_from_top(oracle: Generator, config: Config, cases: list[Case], results: list[QuestionResult],
                      on_progress: OnProgress | None) -> None:
    """The oracle's answer from each ranking's top-m passages (one decode per distinct passage set)."""
    k = config.rerank.k
    wanted = {}
    for c, q in zip(cases, results):
        for method, order in q.orders.items():
            for m in config.rerank.top:
                keep = np.zeros(k, dtype=bool)
                keep[order[:m]] = True
                wanted[(q.id, method, m)] = prompt(config, c, keep)
    if on_progress:
        on_progress("answering from the top passages", 0, 1)
    prompts = list(dict.fromkeys(wanted.values()))
    texts = dict(zip(prompts, (a.text.strip() for a in oracle.answer(prompts, purpose="evaluate"))))
    for q in results:
        q.answers = {method: {m: texts[wanted[(q.id, method, m)]] for m in config.rerank.top} for method in q.orders}


def _scores(answers: list[str], refs: list[str], m: int) -> AnswerScore:
    return AnswerScore(top=m, f1=float(np.mean([token_f1(a, r) for a, r in zip(answers, refs)])),
                       containment=float(np.mean([containment(a, r) for a, r in zip(answers, refs)])))


def _hits(results: list[QuestionResult], methods: list[str], m: int) -> list[float]:
    """Per question: the gold passage in the first m of the order (averaged over ``methods``, e.g. random seeds)."""
    return [float(np.mean([recall_at(q.orders[s], q.gold, m) for s in methods])) for q in results]


def _vs_bm25(results: list[QuestionResult], methods: list[str], rc) -> dict[int, Difference]:
    out = {}
    for m in rc.top:
        iv = paired_t(_hits(results, methods, m), _hits(results, ["bm25"], m))
        out[m] = Difference(mean=iv.estimate, low=iv.low, high=iv.high)
    return out


def _row(method: str, results: list[QuestionResult], refs: list[str], rc, cost: Cost, note: str) -> RerankRow:
    recall = {m: float(np.mean(_hits(results, [method], m))) for m in rc.top}
    return RerankRow(method=f"proxy:lexical/{rc.proxy}" if method == "proxy" else method, recall=recall,
                     vs_bm25={} if method == "bm25" else _vs_bm25(results, [method], rc),
                     accuracy=[_scores([q.answers[method][m] for q in results], refs, m) for m in rc.top],
                     cost=cost, note=note)


def _random_row(results: list[QuestionResult], refs: list[str], rc) -> RerankRow:
    """Recall and accuracy of each seeded random order, averaged over seeds (with the spread)."""
    seeds = [f"random:{r}" for r in range(rc.random_seeds)]
    spread = {m: Spread.of([np.mean([recall_at(q.orders[s], q.gold, m) for q in results]) for s in seeds])
              for m in rc.top}
    accuracy = []
    for m in rc.top:
        per_seed = [_scores([q.answers[s][m] for q in results], refs, m) for s in seeds]
        accuracy.append(AnswerScore(top=m, f1=float(np.mean([a.f1 for a in per_seed])),
                                    containment=float(np.mean([a.containment for a in per_seed])),
                                    f1_spread=Spread.of([a.f1 for a in per_seed])))
    return RerankRow(method="random", recall={m: spread[m].mean for m in rc.top}, spread=spread, accuracy=accuracy,
                     vs_bm25=_vs_bm25(results, seeds, rc),
                     cost=Cost(), note=f"{rc.random_seeds} seeds, 95% t interval")

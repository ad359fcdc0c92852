"""Invariants of every report, on real runs end to end (issue 19 §2).

``explain`` (with and without a screen, with an estimator), ``screen``,
``bench`` (the screen-and-apply grid, the frontier), ``compress``, ``clean``
and a generate config (the one Gemma case) each run twice through the CLI,
on real models and the fine_foods / Debian FAQ data. For every report:

* its costs add up to the ledger's, by model and by purpose, and the calls it
  paid are the rows it added to the SQLite cache (calls, tokens, dollars);
* what was spent with the proxies is at least the oracle's share of it, and
  the oracle alone costs at least that share; the oracle is priced per token
  and the proxies are free, so CRR in dollars equals CRR in oracle tokens;
* a rerun pays nothing and reports the same numbers (all but timestamps, wall
  time and what this run paid: ``created``, ``*wall_time*``, ``run``,
  ``paid``, ``hits``, and a generated answer's measured ``seconds``);
* the fidelity of an instance the oracle explained is never a proxy's.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from proxyx.cli import app
from proxyx.results import Cost, LedgerRow, Spend, nano

USER_MODELS = Path(__file__).parent / "models"  # python:user_models:lexicon and :FITTED, free proxies

#: the oracle pays $1 per million tokens (1,000 nano-dollars a token); proxies are free
PRICED = {"input_per_mtok": 1.0}
FREE = {"input_per_mtok": 0.0}
NANO_PER_TOKEN = 1000

LEXICON = {"model": "python:user_models:lexicon", "alias": "lexicon", "price": FREE}
TINY = {"model": "python:user_models:FITTED", "alias": "tiny-tfidf", "price": FREE}
#: VADER under another cache identity (top_logprobs does not change its answers): the oracle's answers, but its
#: own calls at its own price, not cache hits of the oracle's at the oracle's price; the screen accepts it
COPY = {"model": "local/vader", "alias": "vader-copy", "top_logprobs": 19, "price": FREE}


# ----------------------------------------------------------------------------- running the CLI twice


@dataclass
class Run:
    doc: dict  # the first run's document
    again: dict  # the rerun's
    added: dict[str, Spend]  # cache rows the first run added, by model
    added_again: dict[str, Spend]


def cache_rows(cache_dir: Path) -> dict[str, Spend]:
    """Calls, tokens and dollars of the cached answers, by the model that paid for them."""
    out: dict[str, Spend] = defaultdict(Spend)
    path = cache_dir / "calls.sqlite"
    if path.exists():
        with sqlite3.connect(path) as db:
            for model, answer in db.execute("SELECT model, answer FROM calls"):
                a = json.loads(answer)
                out[model] = out[model] + Spend(calls=1, tokens=a["prompt_tokens"] + a["completion_tokens"],
                                                nano_usd=nano(a["usd"]))
    return dict(out)


def minus(after: dict[str, Spend], before: dict[str, Spend]) -> dict[str, Spend]:
    return {m: s - before.get(m, Spend()) for m, s in after.items() if s.calls != before.get(m, Spend()).calls}


def invoke(args: list[str], document: Path, cache_dir: Path) -> tuple[dict, dict[str, Spend]]:
    before = cache_rows(cache_dir)
    result = CliRunner().invoke(app, [*args, "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(document.read_text()), minus(cache_rows(cache_dir), before)


def run_twice(args: list[str], document: Path, cache_dir: Path) -> Run:
    doc, added = invoke(args, document, cache_dir)
    again, added_again = invoke(args, document, cache_dir)
    return Run(doc, again, added, added_again)


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- the runs


def classify(tmp: Path, name: str, **blocks) -> Path:
    """A fine_foods config: VADER the oracle (priced), a lexicon and a copy of VADER the proxies (free)."""
    return write(tmp / f"{name}.yaml", {
        "seed": 0, "oracle": {"model": "local/vader", "price": PRICED}, "proxies": [LEXICON, COPY],
        "dataset": {"name": "fine_foods", "limit": 4, "max_words": 30, "screen_split": "test"},
        "explainer": {"method": "kernel_shap", "samples": 32},
        "screen": {"confidence": 0.9, "min_instances": 2, "max_instances": 3, "all": True},
        "fidelity": {"enabled": True, "heldout_samples": 16},
        "cache_dir": str(tmp / "cache"), "output": str(tmp / f"{name}.json"), **blocks})


ESTIMATOR = {"method": "kernel_shap", "samples": 32, "estimator": "control_variate", "oracle_samples": 12}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    tmp = tmp_path_factory.mktemp("invariants")
    cache = tmp / "cache"
    out: dict[str, Run] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(USER_MODELS))
        gated = classify(tmp, "explain", proxies=[TINY])  # its label agrees with VADER's on some instances only
        out["explain"] = run_twice(["explain", str(gated), "--no-html", "--show", "0"], tmp / "explain.json", cache)
        screened = classify(tmp, "screened")
        out["screen"] = run_twice(["screen", str(screened), "--out", str(tmp / "screen.json")], tmp / "screen.json",
                                  cache)
        out["explain-saved-screen"] = run_twice(
            ["explain", str(screened), "--screen", str(tmp / "screen.json"), "--no-html", "--show", "0"],
            tmp / "screened.json", cache)
        inline = classify(tmp, "inline", screen={"enabled": True, "confidence": 0.9, "min_instances": 2,
                                                 "max_instances": 3},
                          fidelity={"enabled": False})  # the all-oracle cost estimated from the masks' tokens
        out["explain-screening"] = run_twice(["explain", str(inline), "--no-html", "--show", "0"],
                                             tmp / "inline.json", cache)
        estimator = classify(tmp, "estimator", explainer=ESTIMATOR)
        out["explain-estimator"] = run_twice(
            ["explain", str(estimator), "--screen", str(tmp / "screen.json"), "--no-html", "--show", "0"],
            tmp / "estimator.json", cache)
        grid = classify(tmp, "grid", proxies=[COPY, TINY], explainer=ESTIMATOR,
                        bench={"methods": ["kernel_shap"], "samples": [24, 8]})
        out["bench-grid"] = run_twice(["bench", str(grid), "--out", str(tmp / "grid")], tmp / "grid" / "bench.json",
                                      cache)
        frontier = classify(tmp, "frontier", proxies=[LEXICON], bench={
            "methods": ["lime"], "samples": [], "oracle_ladder": [8, 24], "estimators": ["control_variate"],
            "oracle_samples": [8], "proxy_samples": 24})
        out["bench-frontier"] = run_twice(["bench", str(frontier), "--out", str(tmp / "frontier")],
                                          tmp / "frontier" / "bench.json", cache)
    for name in ("compress", "clean"):
        config = prompt_app(tmp, name)
        out[name] = run_twice([name, str(config), "--out", str(tmp / name)], tmp / name / f"{name}.json",
                              tmp / "app-cache")
    return out


def prompt_app(tmp: Path, name: str) -> Path:
    """compress or clean on fine_foods with the in-context TF-IDF (it reads the demonstrations) as oracle and proxy."""
    model = {"model": "local/incontext-tfidf"}
    # another cache identity for the proxy (top_logprobs does not change this model's answers), so that its
    # answers are its own, at its own price, not cache hits of the oracle's at the oracle's price
    proxy = {**model, "alias": "incontext-b", "top_logprobs": 19, "price": FREE}
    return write(tmp / f"{name}-app.yaml", {
        "seed": 0, "oracle": {**model, "price": PRICED}, "proxies": [proxy],
        "dataset": {"name": "fine_foods", "split": "test", "max_words": 30},
        "demonstrations": {"count": 4, "max_words": 25}, "explainer": {"method": "kernel_shap", "samples": 16},
        "compress": {"validation": 3, "test": 12, "methods": ["random", "proxy", "oracle"], "random_seeds": 2},
        "clean": {"validation": 3, "test": 12, "poison": {"count": 1}, "random_seeds": 2},
        "cache_dir": str(tmp / "app-cache"), "output": str(tmp / f"{name}.json")})


# ----------------------------------------------------------------------------- reading the reports

EXPLAIN = ("explain", "explain-saved-screen", "explain-screening", "explain-estimator")
BENCH = ("bench-grid", "bench-frontier")
APPS = ("compress", "clean")
CLASSIFY = (*EXPLAIN, "screen", *BENCH, *APPS)


def report(doc: dict):
    """The typed document."""
    from proxyx.apps import CleanReport, CompressReport
    from proxyx.results import BenchReport, ExplainReport, ScreenResult

    kinds = {c.SCHEMA: c for c in (ExplainReport, ScreenResult, BenchReport, CompressReport, CleanReport)}
    return kinds[doc["schema"]].from_dict(doc)


def ledger(doc: dict) -> list[LedgerRow]:
    r = report(doc)
    if hasattr(r, "ledger"):
        return r.ledger
    return r.run.ledger if hasattr(r, "run") else []


def amounts(s: Spend) -> tuple[int, int, int]:
    return s.calls, s.tokens, s.nano_usd


def counts(c: Cost) -> tuple:
    """A cost without model seconds (sums of floats in another order may differ in the last digit)."""
    return amounts(c.paid), amounts(c.nominal), c.hits, c.failures


def added_up(costs) -> Cost:
    out = Cost()
    for c in costs:
        out = out + c
    return out


def rows(doc: dict, *, model: str | None = None, purposes=None) -> Cost:
    return added_up(r.cost for r in ledger(doc) if (model is None or r.model == model)
                    and (purposes is None or r.purpose in purposes))


def paid_by_model(doc: dict) -> dict[str, tuple]:
    r = report(doc)
    if doc["schema"].startswith("proxyx.screen"):
        models = {m for p in r.proxies for m in p.cost}
        return {m: amounts(r.model_cost(m).paid) for m in models if r.model_cost(m).paid.calls}
    out: dict[str, Cost] = defaultdict(Cost)
    for row in ledger(doc):
        out[row.model] = out[row.model] + row.cost
    return {m: amounts(c.paid) for m, c in out.items() if c.paid.calls}


def at_least(a: Spend, b: Spend) -> bool:
    return a.calls >= b.calls and a.tokens >= b.tokens and a.nano_usd >= b.nano_usd


def reproducible(doc):
    """The document without what a rerun changes: timestamps, wall time and what this run paid."""
    if isinstance(doc, dict):
        wall = "nano_usd" not in doc  # a Spend's seconds are the model time when first paid: kept
        return {k: reproducible(v) for k, v in doc.items()
                if k not in ("created", "run", "paid", "hits") and "wall_time" not in k
                and not (wall and (k == "seconds" or k.startswith("mean_seconds")))}
    if isinstance(doc, list):
        return [reproducible(v) for v in doc]
    return doc


# ----------------------------------------------------------------------------- the invariants


@pytest.mark.parametrize("flow", CLASSIFY)
def test_paid_calls_are_the_rows_added_to_the_cache(runs, flow):
    run = runs[flow]
    assert paid_by_model(run.doc) == {m: amounts(s) for m, s in run.added.items()}
    assert paid_by_model(run.again) == {} and run.added_again == {}  # the rerun paid nothing


@pytest.mark.parametrize("flow", CLASSIFY)
def test_a_rerun_reports_the_same(runs, flow):
    assert reproducible(runs[flow].again) == reproducible(runs[flow].doc)


@pytest.mark.parametrize("flow", EXPLAIN)
def test_explain_costs_add_up_to_the_ledger(runs, flow):
    doc = runs[flow].doc
    r, oracle = report(doc), "local/vader"
    done = [e for e in r.instances if e.status == "ok"]
    assert done and len(done) == len(r.instances)
    for field, purposes in (("gate", ("gate",)), ("explanation", ("explain",)), ("evaluation", ("evaluate",))):
        assert counts(added_up(getattr(e.cost, field) for e in done)) == counts(rows(doc, purposes=purposes)), field
    paid_here = ("gate", "explain")
    assert counts(added_up(e.cost.with_proxy for e in done)) == counts(rows(doc, purposes=paid_here))
    assert counts(added_up(e.cost.with_proxy_oracle for e in done)) == counts(rows(doc, model=oracle,
                                                                                   purposes=paid_here))
    screened_here = rows(doc, purposes=("screen",))
    if screened_here.nominal.calls:  # the screen ran in this run: its record is the ledger's
        for model in {row.model for row in ledger(doc) if row.purpose == "screen"}:
            assert counts(r.screen.model_cost(model)) == counts(rows(doc, model=model, purposes=("screen",)))


@pytest.mark.parametrize("flow", EXPLAIN)
def test_explain_spends_at_least_the_oracles_share_and_crr_agrees_in_tokens_and_dollars(runs, flow):
    r = report(runs[flow].doc)
    for e in r.instances:
        c = e.cost
        assert at_least(c.with_proxy.nominal, c.with_proxy_oracle.nominal), e.id
        assert at_least(c.all_oracle.nominal, c.with_proxy_oracle.nominal), e.id
        assert c.with_proxy.nominal.nano_usd == c.with_proxy_oracle.nominal.nano_usd  # free proxies
        assert c.with_proxy_oracle.nominal.nano_usd == NANO_PER_TOKEN * c.with_proxy_oracle.nominal.tokens
    assert r.crr.usd == pytest.approx(r.crr.tokens, rel=1e-12)
    if r.screen is not None:
        assert r.crr.screen == r.screen.cost.nominal


@pytest.mark.parametrize("flow", EXPLAIN)
def test_an_instance_the_oracle_explained_has_no_proxy_fidelity(runs, flow):
    r = report(runs[flow].doc)
    scored = r.config["fidelity"]["enabled"]
    for e in r.instances:
        if e.role == "oracle":
            assert e.fidelity is None and e.oracle_attribution is None, e.id
        else:
            assert (e.fidelity is not None) == scored and e.cost.estimated != scored, e.id
    compared = [e for e in r.instances if e.fidelity is not None]
    assert (r.fidelity.n if r.fidelity else 0) == len(compared)


def test_the_runs_cover_every_path(runs):
    explained = [e for flow in EXPLAIN for e in report(runs[flow].doc).instances]
    assert {e.role for e in explained} == {"proxy", "oracle", "estimator"}
    assert {e.role for e in report(runs["explain"].doc).instances} == {"proxy", "oracle"}  # the gate both ways
    assert any(e.cost.estimated and e.role == "proxy" for e in explained)  # the all-oracle cost estimated
    assert report(runs["screen"].doc).accepted == ["vader-copy"]


def test_a_saved_screen_is_charged_only_where_it_is_used(runs):
    screen = report(runs["screen"].doc)
    used = report(runs["explain-saved-screen"].doc)
    assert reproducible(used.screen.to_dict()) == reproducible(runs["screen"].doc)  # the file the rerun rewrote
    assert used.crr.screen == screen.cost.nominal
    unused = report(runs["explain-estimator"].doc)
    assert unused.screen is None and unused.crr.screen is None
    assert any("saved screen was not used" in n for n in unused.notes)


def test_screen_costs_are_the_oracles_tokens(runs):
    r = report(runs["screen"].doc)
    oracle = r.model_cost("local/vader").nominal
    assert oracle.calls and r.cost.nominal.nano_usd == oracle.nano_usd == NANO_PER_TOKEN * oracle.tokens


def test_bench_grid_costs_add_up_and_crr_agrees(runs):
    doc = runs["bench-grid"].doc
    r = report(doc)
    assert r.status == "complete" and len(r.cells) == 4
    parts = [ref.run.paid for ref in r.references] + [c.run.paid for c in r.cells]
    assert amounts(added_up(Cost(paid=p) for p in parts).paid) == amounts(r.run.paid)
    for c in r.cells:
        assert at_least(c.cost.explanation.total, c.cost.explanation.oracle)
        assert at_least(c.cost.screening.total, c.cost.screening.oracle)
        assert at_least(c.cost.all_oracle, c.cost.explanation.oracle)
        for view in (c.pipeline, c.proxy_only):
            assert view.crr.usd == pytest.approx(view.crr.tokens, rel=1e-12)
        assert c.pipeline.crr_excl_screen.usd == pytest.approx(c.pipeline.crr_excl_screen.tokens, rel=1e-12)
        # the proxy's fidelity is over the instances the proxy explained, never the oracle's
        assert (c.proxy_only.fidelity.n if c.proxy_only.fidelity else 0) == c.proxy_only.explained_by_proxy
        for d in c.instances_detail:
            assert d.explained_by in (c.proxy, "local/vader")
            if not d.gate_agrees:
                assert d.proxy_fidelity is None and d.proxy_spearman is None
    assert not all(d.gate_agrees for c in r.cells for d in c.instances_detail)  # the gate disagreed somewhere


def test_bench_frontier_dollars_are_the_oracles_tokens(runs):
    r = report(runs["bench-frontier"].doc)
    points = [p for cell in r.frontier.cells for p in cell.points]
    assert points and all(p.nano_usd == NANO_PER_TOKEN * p.oracle_tokens for p in points)
    for cell in r.frontier.cells:
        if cell.route.kind != "oracle":  # every proxy route asks the oracle at least for its label
            assert all(p.oracle_calls >= 1 and p.proxy_calls >= 1 for p in cell.points)


#: what each ranking method's reported cost is, as ledger purposes: (model, purpose) pairs
def method_rows(doc: dict, method: str, oracle: str, proxy: str) -> Cost:
    kind, _, name = method.partition(":")
    who = oracle if kind == "oracle" else name
    labels = rows(doc, model=oracle, purposes=("predict",))  # the oracle's labels the explanations explain
    return rows(doc, model=who, purposes=(f"explain:{who}",)) + labels


@pytest.mark.parametrize("flow", APPS)
def test_app_costs_add_up_to_the_ledger_and_the_oracle_alone_costs_at_least_its_share(runs, flow):
    doc = runs[flow].doc
    r = report(doc)
    oracle, proxy = "local/incontext-tfidf", "incontext-b"
    if flow == "clean":  # a route's oracle calls per run, measured around it: its share of the ledger
        explained = sum(x.removal("oracle").oracle_calls for x in r.runs)
        assert explained == rows(doc, model=oracle, purposes=(f"explain:{oracle}",)).nominal.calls > 0
        assert all(x.removal(f"proxy:{proxy}").oracle_calls == 0 for x in r.runs)  # the proxy asks the oracle nothing
        for x in r.runs:
            assert all(check.n + check.disagreements <= x.n_validation for check in x.proxy_checks)
        return
    methods = {m.method: m for m in r.summary if m.cost is not None}
    assert set(methods) == {"oracle", f"proxy:{proxy}"}
    for name, m in methods.items():
        assert counts(m.cost) == counts(method_rows(doc, name, oracle, proxy)), name
        assert counts(m.oracle_cost) == counts(method_rows(doc, name, oracle, proxy) if name == "oracle"
                                               else rows(doc, model=oracle, purposes=("predict",))), name
        assert at_least(m.cost.nominal, m.oracle_cost.nominal)
        assert m.cost.nominal.nano_usd == m.oracle_cost.nominal.nano_usd  # free proxies
        assert m.oracle_cost.nominal.nano_usd == NANO_PER_TOKEN * m.oracle_cost.nominal.tokens
    assert at_least(methods["oracle"].cost.nominal, methods[f"proxy:{proxy}"].oracle_cost.nominal)
    for check in r.proxy_checks:  # the proxy's quality is over the instances where its label agrees
        assert check.n + check.disagreements <= r.n_validation


# ----------------------------------------------------------------------------- generate: the one Gemma case


def generate(tmp: Path, name: str, **explainer) -> Path:
    """Debian FAQ questions answered by Gemma (priced per token), the lexical answer-overlap proxy (no calls)."""
    return write(tmp / f"{name}.yaml", {
        "seed": 0, "oracle": {"model": "local/gemma-3-270m", "price": {**PRICED, "output_per_mtok": 1.0}},
        "proxies": ["local/answer-overlap"],
        "dataset": {"name": "debian_faq", "limit": 1, "documents": 2, "document_words": 8},
        "task": {"type": "generate", "instruction": "Answer in a few words.",
                 "template": "Context:\n{context}\n\nQuestion: {question}\nAnswer:", "max_tokens": 6},
        "explainer": {"method": "kernel_shap", "value": "answer_logprob", "samples": 8,
                      "hierarchy": {"levels": ["document", "word"], "top_k": 1, "samples": [4, 8]}, **explainer},
        "screen": {"enabled": True, "min_instances": 2, "max_instances": 2},
        "cache_dir": str(tmp / "cache"), "output": str(tmp / f"{name}.json")})


@pytest.fixture(scope="module")
def gemma(tmp_path_factory) -> dict[str, Run]:
    pytest.importorskip("llama_cpp", reason="the embedded Gemma needs llama-cpp-python (make install)")
    tmp = tmp_path_factory.mktemp("gemma")
    screened = generate(tmp, "screened")
    out = {"generate": run_twice(["explain", str(screened), "--no-html"], tmp / "screened.json", tmp / "cache")}
    (tmp / "screen.json").write_text(json.dumps(out["generate"].doc["screen"]))  # the screen it ran, saved
    informed = generate(tmp, "informed", estimator="prior", oracle_samples=4)
    out["generate-estimator"] = run_twice(["explain", str(informed), "--screen", str(tmp / "screen.json"), "--no-html"],
                                          tmp / "informed.json", tmp / "cache")
    return out


@pytest.mark.parametrize("flow", ["generate", "generate-estimator"])
def test_gemma_generate_costs_add_up_pay_once_and_rerun_the_same(gemma, flow):
    run = gemma[flow]
    r, oracle = report(run.doc), "local/gemma-3-270m"
    assert r.status == "complete" and r.generated
    assert paid_by_model(run.doc) == {m: amounts(s) for m, s in run.added.items()}
    assert set(run.added) <= {oracle}  # the lexical proxy makes no call
    assert paid_by_model(run.again) == {} and run.added_again == {}
    assert reproducible(run.again) == reproducible(run.doc)
    screen = r.screen.cost if r.screen is not None and flow == "generate" else Cost()  # screened in this run
    assert counts(added_up(g.cost for g in r.generated) + screen) == counts(rows(run.doc))
    for g in r.generated:
        assert at_least(g.cost.nominal, added_up(lv.cost for lv in g.levels).nominal)
        for lv in g.levels:
            assert lv.cost.nominal.calls >= lv.oracle_calls
    total = rows(run.doc).nominal
    assert total.nano_usd == NANO_PER_TOKEN * total.tokens  # only the oracle is paid, per token


def test_gemma_generate_saved_screen_is_not_charged_to_an_estimator(gemma):
    used = report(gemma["generate"].doc)
    assert used.screen is not None and used.screen.proxies[0].n + used.screen.proxies[0].undefined >= 1
    unused = report(gemma["generate-estimator"].doc)
    assert unused.screen is None and any("saved screen was not used" in n for n in unused.notes)
    assert all(lv.estimator is not None for g in unused.generated for lv in g.levels)

"""The task-level screen. VADER is the oracle here (fast, real); the Gemma oracle is in tests/test_end_to_end.py."""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from proxyx.cache import CallCache
from proxyx.config import parse_config
from proxyx.ledger import Ledger
from proxyx.models import build_model
from proxyx.models.base import Answer, Model
from proxyx.scorer import Scorer
from proxyx.screen import run_screen, screen_decision, screen_pool, screen_proxy, t_bounds
from proxyx.session import Session


class RandomModel(Model):
    """A proxy whose probabilities are noise (seeded by the text): it must never pass the screen."""

    def _predict(self, texts, on_answer):
        out = []
        for i, t in enumerate(texts):
            p = np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).random()
            out.append(Answer(probs=(p, 1 - p), prompt_tokens=len(t.split())))
            on_answer(i, out[-1])
        return out


def config(tmp_path, **screen):
    return parse_config({
        "oracle": "local/vader", "proxies": [{"model": "local/vader", "alias": "vader-twin"}],
        "explainer": {"method": "kernel_shap", "samples": 48},
        "screen": {"enabled": True, "min_instances": 5, "max_instances": 15, **screen},
        "cache_dir": str(tmp_path / "cache"), "max_usd": None,
    })


def session(cfg, proxy_model=None, max_usd=None, cache_dir=None):
    cache = CallCache(cache_dir or cfg.cache_dir)
    ledger = Ledger(max_usd=max_usd)
    oracle = Scorer(build_model(cfg.oracle, cfg.task), cache=cache, ledger=ledger, role="oracle")
    proxy = Scorer(proxy_model or build_model(cfg.proxies[0], cfg.task), cache=cache, ledger=ledger, role="proxy")
    return Session(config=cfg, cache=cache, ledger=ledger, oracle=oracle, proxies=[proxy])


@pytest.mark.parametrize("n", [pytest.param(n, id=f"n={n}") for n in (2, 5, 13, 50)])
def test_bound_matches_scipy_t_quantile(n):
    d = np.random.default_rng(n).normal(0.05, 0.2, n)
    m, lo, hi = t_bounds(list(d), 0.99)
    sem = d.std(ddof=1) / math.sqrt(n)
    assert lo == pytest.approx(d.mean() - stats.t.ppf(0.99, n - 1) * sem, abs=1e-12)
    assert hi == pytest.approx(d.mean() + stats.t.ppf(0.99, n - 1) * sem, abs=1e-12)
    # the same bound as scipy's one-sided t interval
    ci = stats.ttest_1samp(d, 0.0, alternative="greater").confidence_interval(0.99)
    assert lo == pytest.approx(ci.low, abs=1e-12)


def test_oracle_under_another_name_is_accepted_with_fidelity_one(tmp_path, fine_foods):
    cfg = config(tmp_path)
    report = run_screen(session(cfg))
    (p,) = report.proxies
    assert p.decision == "accepted"
    assert p.mean_fidelity == pytest.approx(1.0)
    assert p.n >= cfg.screen.min_instances and p.disagreements == 0
    assert p.lower > 0


def test_random_proxy_is_rejected(tmp_path, fine_foods):
    cfg = config(tmp_path)
    rnd = RandomModel(config=cfg.proxies[0], task=cfg.task)
    report = run_screen(session(cfg, proxy_model=rnd))
    (p,) = report.proxies
    assert p.decision.startswith("rejected"), p
    assert report.accepted == []


def test_interrupted_screen_pays_nothing_twice(tmp_path, fine_foods):
    cfg = config(tmp_path)
    price = {"model": "local/vader", "alias": "vader-twin", "price": {"input_per_mtok": 1.0}}
    cfg = cfg.model_copy(update={"proxies": [parse_config({"oracle": "x/y", "proxies": [price]}).proxies[0]]})
    fresh = session(cfg, cache_dir=tmp_path / "fresh")
    whole = run_screen(fresh)
    paid_whole = fresh.ledger.total().paid.calls

    first = session(cfg, max_usd=0.0005)  # stops part-way
    stopped = run_screen(first)
    assert stopped.stopped == "budget"
    paid_first = first.ledger.total().paid.calls
    assert 0 < paid_first < paid_whole

    second = session(cfg)
    rerun = run_screen(second)
    assert paid_first + second.ledger.total().paid.calls == paid_whole
    assert second.ledger.total().hits >= paid_first
    assert [p.model_dump(exclude={"cost"}) for p in rerun.proxies] == [p.model_dump(exclude={"cost"}) for p in whole.proxies]
    untimed = [[{m: c.nominal.model_dump(exclude={"seconds"}) for m, c in p.cost.items()} for p in r.proxies]
               for r in (rerun, whole)]  # model time is measured when paid, in two caches here
    assert untimed[0] == untimed[1]


@pytest.mark.parametrize("splits", [
    pytest.param({}, id="default-splits"),
    pytest.param({"split": "test", "screen_split": "train"}, id="other-screen-split"),
])
def test_screen_pool_never_holds_an_explained_instance(tmp_path, splits):
    """One rule (run_screen, proxyx screen and the bench): the explained ids are always left out."""
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"id": f"r{i}", "text": f"review number {i}"}) + "\n" for i in range(6)))
    cfg = parse_config({"oracle": "local/vader", "dataset": {"path": str(data), **splits}})
    assert [x.id for x in screen_pool(cfg, {"r1", "r4"})] == [x.id for x in screen_pool(cfg, set()) if x.id not in {"r1", "r4"}]
    assert len(screen_pool(cfg, set())) == 6


def test_run_screen_from_a_config_opens_and_closes_its_own_session(tmp_path, fine_foods):
    cfg = config(tmp_path)
    result = run_screen(cfg)
    assert [p.proxy for p in result.proxies] == ["vader-twin"] and result.accepted == ["vader-twin"]
    with_session = run_screen(session(cfg))
    assert result.valid_for == with_session.valid_for  # what it is valid for does not depend on how it was run
    assert set(result.valid_for.proxies) == {"vader-twin"} and result.valid_for.samples == 48


@pytest.mark.parametrize("proxy", [pytest.param("twin", id="accepted"), pytest.param("random", id="rejected")])
def test_the_rule_over_measured_differences_is_the_screens_own(tmp_path, fine_foods, proxy):
    """The apps (compress, clean, rerank) measure every difference first, then apply the rule: the same decision,
    n and bounds as the screen that looked after each instance."""
    cfg = config(tmp_path)
    model = RandomModel(config=cfg.proxies[0], task=cfg.task) if proxy == "random" else None
    (p,) = run_screen(session(cfg, proxy_model=model)).proxies
    d = [i.d for i in p.instances if i.d is not None]
    replayed = screen_decision(d, cfg.screen)
    fields = ("decision", "n", "mean_d", "lower", "upper")
    assert {f: getattr(replayed, f) for f in fields} == {f: getattr(p, f) for f in fields}
    assert screen_decision(d + [1.0, -1.0], cfg.screen).n == p.n  # decided: later differences are not looked at
    assert screen_decision(d[: cfg.screen.min_instances - 1], cfg.screen).decision == "rejected_data"


@pytest.mark.parametrize("proxy, max_usd, decision", [
    pytest.param({"model": "python:user_models:raises", "alias": "dead"}, None, "failed", id="failed-call"),
    pytest.param({"model": "local/vader", "alias": "priced", "price": {"input_per_mtok": 1.0}}, 1e-9, "stopped_budget",
                 id="budget"),
])
def test_screen_proxy_records_a_fault_and_keeps_the_partial_record(tmp_path, fine_foods, monkeypatch, proxy, max_usd,
                                                                    decision):
    """One contract for every screen (classifier, prompt, generate): the error is in the record, never raised."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "models"))  # python:user_models:raises always raises
    cfg = config(tmp_path)
    cfg = cfg.model_copy(update={"proxies": [parse_config({"oracle": "x/y", "proxies": [proxy]}).proxies[0]]})
    s = session(cfg, max_usd=max_usd)
    record = screen_proxy(s, s.proxies[0], screen_pool(cfg, set()))
    assert record.decision == decision and record.error, record
    assert record.examined == 1 and record.instances == []  # the free oracle answered the first gate, then the fault

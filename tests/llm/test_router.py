"""Several deployments of one model through litellm's Router, on two real llama.cpp servers on loopback."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest
from llm_server import SKIP_REASON, gguf_path, start_server, stop_server
from llm_support import FAKE_KEY, KEY_ENV, task

from proxyx.cache import CallCache
from proxyx.config import Deployment, ModelConfig, Price
from proxyx.ledger import Ledger
from proxyx.models import build_model
from proxyx.models.llm import LiteLLMModel
from proxyx.scorer import Scorer

MODEL = "text-completion-openai/gemma-3-270m"
REVIEWS = ["Tasty snack, would buy again.", "Stale and bland, a waste of money.", "Fine coffee, strong and smooth.",
           "The box arrived crushed and the bars were broken.", "My dog loves these treats.",
           "Too sweet for me, will not reorder."]


def _servers(tmp_path, n: int = 2):
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    started = []
    try:
        for i in range(n):  # one thread each: two servers fit on two cores
            started.append(start_server(gguf_path(), tmp_path / f"server{i}.log", n_threads=1))
    except BaseException:
        for proc, _ in started:
            stop_server(proc)
        raise
    return started


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    started = _servers(tmp_path_factory.mktemp("router"))
    yield [s for _, s in started]
    for proc, _ in started:
        stop_server(proc)


@pytest.fixture
def killable_servers(tmp_path):
    started = _servers(tmp_path)
    yield started
    for proc, _ in started:
        stop_server(proc)


def _config(servers, **options) -> ModelConfig:
    settings = dict(model=MODEL, api_key_env=KEY_ENV, concurrency=2, timeout_s=30, max_retries=4,
                    price=Price(input_per_mtok=1.0, output_per_mtok=2.0),
                    deployments=[Deployment(api_base=s.api_base) for s in servers])
    settings.update(options)
    return ModelConfig(**settings)


def _texts(n: int, tag: str) -> list[str]:
    return [f"{REVIEWS[i % len(REVIEWS)]} ({tag} {i})" for i in range(n)]


def test_calls_go_to_every_deployment(two_servers, fake_key):
    before = [s.answered() for s in two_servers]
    model = build_model(_config(two_servers), task())
    answers = model.predict(_texts(16, "spread"))
    after = [s.answered() for s in two_servers]
    served = [b - a for a, b in zip(before, after)]
    assert sum(served) == 16 and min(served) >= 2  # both served (all 16 on one: p = 2 * 0.5**16)
    assert all(a.flag is None and sum(a.probs) == pytest.approx(1.0) for a in answers)


def test_both_deployments_give_the_answers_of_one_server(two_servers, fake_key):
    texts = _texts(6, "same")
    routed = build_model(_config(two_servers), task()).predict(texts)
    direct = build_model(_config(two_servers[:1], deployments=None, api_base=two_servers[0].api_base),
                         task()).predict(texts)
    np.testing.assert_allclose([a.probs for a in routed], [a.probs for a in direct], atol=0.03)  # KV-reuse noise
    assert [a.prompt_tokens for a in routed] == [a.prompt_tokens for a in direct]


def test_a_missing_key_names_the_deployments_variable(two_servers, monkeypatch, fake_key):
    config = _config(two_servers, deployments=[Deployment(api_base=two_servers[0].api_base),
                                               Deployment(api_base=two_servers[1].api_base, api_key_env="PROXYX_NOPE")])
    monkeypatch.delenv("PROXYX_NOPE", raising=False)
    from proxyx.errors import ConfigError

    with pytest.raises(ConfigError, match="PROXYX_NOPE \\(api_key_env\\) is not set"):
        build_model(config, task()).predict(["x"])


def test_killing_one_server_mid_run_loses_nothing(killable_servers, tmp_path, fake_key, caplog, capfd):
    """Every text is answered once, none is paid twice, and the live server takes over; the key leaks nowhere."""
    caplog.set_level(logging.DEBUG)
    (dying, dying_server), (_, survivor) = killable_servers
    config = _config([dying_server, survivor])
    model = build_model(config, task())
    assert isinstance(model, LiteLLMModel)
    ledger = Ledger()
    cache = CallCache(tmp_path / "cache")
    scorer = Scorer(model, cache=cache, ledger=ledger, role="oracle")
    texts = _texts(30, "kill")
    killed = threading.Event()

    def kill_after_a_few():
        deadline = time.monotonic() + 120
        while dying_server.answered() < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        dying.kill()  # SIGKILL: requests in flight are cut, new ones refused
        killed.set()

    threading.Thread(target=kill_after_a_few, daemon=True).start()
    probs = scorer(texts, "explain")
    assert killed.wait(5), "the server should have been killed mid-run"
    assert probs.shape == (30, 2) and np.allclose(probs.sum(axis=1), 1.0)
    total = ledger.total()
    assert (total.paid.calls, total.failures) == (30, 0)  # each text paid once, none failed
    assert len(cache.get_many(scorer.fingerprint, texts)) == 30
    answered = dying_server.answered()
    assert 4 <= answered < 30 and survivor.answered() >= 30 - answered
    cache.close()
    out, err = capfd.readouterr()
    assert FAKE_KEY not in caplog.text + out + err

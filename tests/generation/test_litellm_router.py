"""Generation over several deployments of one model (litellm's Router), on two real llama.cpp servers on loopback.

Both styles go through the classifiers' ``Transport``: ``completion`` decodes
and scores (echoed prompt log-probabilities) and ``chat`` decodes; every call
is spread over the deployments, the answers are those of one server alone,
and the cache key names the model block, not the deployment: a run with the
deployments in another order, or with one of them down, pays nothing for
what is cached. A deployment that refuses connections is a real fault (a
loopback port nothing listens on): the Router sends its calls to the other.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from proxyx.cache import CallCache
from proxyx.config import Deployment, ModelConfig, Price
from proxyx.generation import build_generator
from proxyx.ledger import Ledger

from .support import DOCS, ECHO_TIMEOUT_S, TASK

sys.path.insert(0, str(Path(__file__).parents[1] / "llm"))
from llm_server import SKIP_REASON, free_port, gguf_path, start_server, stop_server  # noqa: E402
from llm_support import KEY_ENV  # noqa: E402

ROUTES = {"completion": "text-completion-openai/gemma-3-270m", "chat": "openai/gemma-3-270m"}
BERLIN, PARIS_BERLIN, ALL = DOCS[1], DOCS[0] + "\n\n" + DOCS[1], "\n\n".join(DOCS)
# questions the context answers: an unanswerable one makes greedy decoding a near tie between a stop token
# ("") and an answer, which the servers' different batching (KV-cache reuse) can flip
ASKED = [(ALL, "What is the capital of Germany?"), (ALL, "What is the capital of France?"),
         (ALL, "Where is the Eiffel tower?"), (ALL, "What is Paris known for?"), (ALL, "What does Berlin have?"),
         (ALL, "Which city has many museums?"), (PARIS_BERLIN, "What is the capital of Germany?"),
         (PARIS_BERLIN, "What is the capital of France?"), (PARIS_BERLIN, "What is Paris known for?"),
         (PARIS_BERLIN, "Which city has many museums?"), (BERLIN, "What is the capital of Germany?"),
         (BERLIN, "What does Berlin have?"), (BERLIN, "Which city has many museums?")]


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    root, started = tmp_path_factory.mktemp("gen-router"), []
    try:
        # one token per forward pass: a server then computes the same numbers for a prompt whatever part of
        # it its KV cache held from the request before, so the answers and scores of one server, of the
        # other and of the Router over both are equal, not only close
        for i in range(2):  # one thread each: two servers fit on two cores
            started.append(start_server(gguf_path(), root / f"server{i}.log", n_threads=1, n_batch=1))
        yield [s for _, s in started]
    finally:
        for proc, _ in started:
            stop_server(proc)


def prompts(n: int = 12, *, short: bool = False) -> list[str]:
    """``n`` (<= 13) different prompts; ``short``: the ones with the shortest context (one token per pass is slow,
    and the server's echoed log-probabilities cost a sort of the vocabulary per prompt token)."""
    return [TASK.prompt(context, q) for context, q in (ASKED[-n:] if short else ASKED[:n])]


def generator(cache_dir: Path, style: str = "completion", *, bases: list[str] | None = None,
              api_base: str | None = None):
    deployments = [Deployment(api_base=b) for b in bases] if bases else None
    cfg = ModelConfig(model=ROUTES[style], style=style, api_base=api_base, deployments=deployments,
                      api_key_env=KEY_ENV, concurrency=2, timeout_s=ECHO_TIMEOUT_S, max_retries=2,
                      price=Price(input_per_mtok=1.0, output_per_mtok=2.0))
    return build_generator(cfg, TASK, cache=CallCache(cache_dir), ledger=Ledger())


def served(servers) -> list[int]:
    return [s.answered() for s in servers]


def spread(before: list[int], servers) -> list[int]:
    return [b - a for a, b in zip(before, served(servers))]


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_decodes_spread_over_both_deployments_and_match_one_server(two_servers, tmp_path, style):
    ps = prompts()
    before = served(two_servers)
    routed = generator(tmp_path / "routed", style, bases=[s.api_base for s in two_servers])
    answers = [a.text for a in routed.answer(ps)]
    calls = spread(before, two_servers)
    assert sum(calls) == len(ps) and min(calls) >= 1, calls  # both served (all 12 on one: p = 2 * 0.5**12)
    direct = generator(tmp_path / "direct", style, api_base=two_servers[0].api_base)
    assert answers == [a.text for a in direct.answer(ps)]
    assert any(a.strip() for a in answers)
    total = routed.ledger.total()
    assert (total.paid.calls, total.failures) == (len(ps), 0) and total.paid.usd > 0


def test_echo_scores_through_the_router_match_one_server(two_servers, tmp_path):
    ps = prompts(2, short=True)  # each echoed prompt token costs the server a sort of the vocabulary: few pairs
    direct = generator(tmp_path / "direct", api_base=two_servers[1].api_base)
    pairs = [(p, a.text) for p, a in zip(ps, direct.answer(ps)) if a.text][:1]  # an empty answer scores nothing
    assert len(pairs) == 1
    before = served(two_servers)
    routed = generator(tmp_path / "routed", bases=[s.api_base for s in two_servers])
    remote = routed.score(pairs)
    assert sum(spread(before, two_servers)) == len(pairs)  # (the decodes test shows the spread)
    mine = direct.score(pairs)
    for r, m in zip(remote, mine):
        assert len(r.logprobs) == len(m.logprobs) > 0
        assert r.logprobs == m.logprobs and r.top == m.top  # the same numbers: one token per pass
    assert remote[0].is_greedy(TASK.max_tokens) is True  # (test_litellm.py: a forced answer is not greedy)


def test_cache_key_does_not_depend_on_the_deployment(two_servers, tmp_path):
    """Answers paid through [a, b] are hits through [b, a] and through [b, a dead port]: no server is asked."""
    ps = prompts(2, short=True)
    bases = [s.api_base for s in two_servers]
    first = generator(tmp_path / "cache", bases=bases)
    answers = [a.text for a in first.answer(ps)]
    pairs = [(p, a) for p, a in zip(ps, answers) if a]
    scores = first.score(pairs)
    first.cache.close()
    before = served(two_servers)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    for order in (bases[::-1], [bases[1], dead]):
        again = generator(tmp_path / "cache", bases=order)
        assert again.fingerprint == first.fingerprint
        assert [a.text for a in again.answer(ps)] == answers
        assert [s.logprobs for s in again.score(pairs)] == [s.logprobs for s in scores]
        total = again.ledger.total()
        assert total.paid.calls == 0 and total.hits == len(ps) + len(pairs)
        again.cache.close()
    assert served(two_servers) == before


def test_a_refusing_deployment_loses_no_call(two_servers, tmp_path):
    """One deployment is a port nothing listens on: the Router fails over, every prompt is answered once."""
    ps = prompts(10)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    before = served(two_servers)
    routed = generator(tmp_path / "routed", bases=[dead, two_servers[0].api_base])
    answers = routed.answer(ps)
    direct = generator(tmp_path / "direct", api_base=two_servers[1].api_base)
    assert [a.text for a in answers] == [a.text for a in direct.answer(ps)]
    assert spread(before, two_servers)[0] == len(ps)
    total = routed.ledger.total()
    assert (total.paid.calls, total.failures) == (len(ps), 0)

import multiprocessing as mp
import os
import random
import sqlite3
import time

import pytest

import proxyx.cache as cache_module
from proxyx.cache import CallCache
from proxyx.config import ModelConfig, TaskConfig
from proxyx.errors import CacheError
from proxyx.ledger import Ledger
from proxyx.models.base import Answer
from proxyx.models.local import VaderModel
from proxyx.scorer import Scorer


def test_roundtrip_and_miss(cache_dir):
    c = CallCache(cache_dir)
    a = Answer(probs=(0.25, 0.75), prompt_tokens=10, completion_tokens=1, usd=1e-5, flag="verbalized")
    c.put("fp", "m", "hello world", a)
    assert c.get_many("fp", ["hello world", "other"]) == {"hello world": a}
    assert c.get_many("other-fp", ["hello world"]) == {}  # another model or prompt: another key
    assert len(c) == 1


def test_first_answer_wins(cache_dir):
    c = CallCache(cache_dir)
    c.put("fp", "m", "t", Answer(probs=(1.0, 0.0)))
    c.put("fp", "m", "t", Answer(probs=(0.0, 1.0)))
    assert c.get_many("fp", ["t"])["t"].probs == (1.0, 0.0)


def _writer(directory, worker, n):
    c = CallCache(directory)
    for i in range(n):
        c.put("fp", "m", f"text {worker} {i}", Answer(probs=(i / n, 1 - i / n), prompt_tokens=i))
    c.close()


def test_concurrent_writers_do_not_corrupt(cache_dir):
    CallCache(cache_dir).get_many("fp", [])  # create the file
    procs = [mp.get_context("spawn").Process(target=_writer, args=(cache_dir, w, 200)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    c = CallCache(cache_dir)
    assert len(c) == 800
    got = c.get_many("fp", [f"text 3 {i}" for i in range(200)])
    assert got["text 3 7"].prompt_tokens == 7
    assert sqlite3.connect(c.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_persists_across_instances(cache_dir):
    CallCache(cache_dir).put("fp", "m", "x", Answer(probs=(0.5, 0.5)))
    assert "x" in CallCache(cache_dir).get_many("fp", ["x"])


# ------------------------------------------------------------------ faults: corrupt or unwritable


def test_corrupt_file_is_a_cache_error_that_says_how_to_move_it_aside(cache_dir):
    cache_dir.mkdir()
    (cache_dir / "calls.sqlite").write_bytes(b"\x00garbage" * 512)
    with pytest.raises(CacheError, match=r"is corrupt \(file is not a database\); move it aside \(mv .*calls\.sqlite"):
        CallCache(cache_dir).check()


def test_cache_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CacheError, match="cannot create the cache directory .*afile/cache"):
        CallCache(tmp_path / "afile" / "cache").get_many("fp", ["x"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to a read-only directory anyway")
def test_read_only_cache_dir(cache_dir):
    cache_dir.mkdir()
    cache_dir.chmod(0o500)
    try:
        with pytest.raises(CacheError, match="cannot open the call cache .* set cache_dir to another directory"):
            CallCache(cache_dir).check()
    finally:
        cache_dir.chmod(0o700)


# ------------------------------------------------------------------ claims


def test_claims_keep_a_second_owner_off(cache_dir):
    a, b = CallCache(cache_dir), CallCache(cache_dir)
    assert a.claim("fp", ["x", "y", "z"], limit=2).mine == ["x", "y"]
    got = b.claim("fp", ["x", "y", "z"])
    assert got.mine == ["z"] and got.elsewhere == ["x", "y"]  # a's claims: a is alive
    a.put("fp", "m", "x", Answer(probs=(1.0, 0.0)))
    a.release("fp", ["x", "y"])  # x answered, y given up
    got = b.claim("fp", ["x", "y"])
    assert got.mine == ["y"] and got.elsewhere == ["x"]


def test_stale_claims_are_taken_over(cache_dir, monkeypatch):
    a, b = CallCache(cache_dir), CallCache(cache_dir)
    a.claim("fp", ["x"])
    assert b.claim("fp", ["x"]).elsewhere == ["x"]
    monkeypatch.setattr(cache_module, "CLAIM_TTL_S", 0.0)  # an owner silent for longer than the TTL
    assert b.claim("fp", ["x"]).mine == ["x"]


def _claim_and_die(directory):
    CallCache(directory).claim("fp", ["x", "y"])
    os._exit(0)  # no release: a crash


def test_claims_of_a_dead_process_are_taken_over(cache_dir):
    p = mp.get_context("spawn").Process(target=_claim_and_die, args=(cache_dir,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert CallCache(cache_dir).claim("fp", ["x", "y"]).mine == ["x", "y"]


# ------------------------------------------------------------------ two processes, one cache

WORDS = ("absolutely delicious the best coffee I have ever had stale and bland threw the whole bag away good value "
         "my kids love these crunchy snacks awful taste arrived broken").split()


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return list(dict.fromkeys(" ".join(rng.choice(WORDS) for _ in range(60)) for _ in range(n)))


class RecordingVader(VaderModel):
    """The real VADER model, writing down every text it is sent."""

    sent: list[str]

    def _predict(self, texts, on_answer):
        self.sent.extend(texts)
        return super()._predict(texts, on_answer)


def _scorer(directory) -> Scorer:
    model = RecordingVader(config=ModelConfig(model="local/vader"), task=TaskConfig())
    model.sent = []
    return Scorer(model, cache=CallCache(directory), ledger=Ledger(), role="oracle")


def _score(directory, batch, barrier, results):
    scorer = _scorer(directory)
    barrier.wait()
    probs = scorer(batch, "explain")
    results.put((os.getpid(), scorer.model.sent, probs.tolist()))


def test_two_processes_never_send_the_same_text_twice(cache_dir):
    batch = texts(5000)  # about 1.5 s of VADER per process alone: the two runs overlap
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_score, args=(cache_dir, batch, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    sent = [s for _, s, _ in out]
    assert sorted(sent[0] + sent[1]) == sorted(batch)  # every text sent once in total
    assert sent[0] and sent[1]  # and both did part of the work
    assert out[0][2] == out[1][2]  # the same answers in both


def _score_forever(directory, batch):
    _scorer(directory)(batch, "explain")


def test_a_killed_process_claims_are_taken_over_without_paying_twice(cache_dir):
    batch = texts(5000, seed=1)
    p = mp.get_context("spawn").Process(target=_score_forever, args=(cache_dir, batch))
    p.start()
    cache = CallCache(cache_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not cache.path.exists() or len(cache) < 300):
        time.sleep(0.05)
    p.kill()
    p.join(60)
    answered = set(cache.get_many(RecordingVader(config=ModelConfig(model="local/vader"), task=TaskConfig()).fingerprint(),
                                  batch))
    assert 300 <= len(answered) < len(batch)
    scorer = _scorer(cache_dir)
    started = time.monotonic()
    scorer(batch, "explain")
    assert time.monotonic() - started < 30  # the dead process's claims were taken over, not waited out
    assert sorted(scorer.model.sent) == sorted(set(batch) - answered)

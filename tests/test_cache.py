import multiprocessing as mp
import sqlite3

from proxyx.cache import CallCache
from proxyx.models.base import Answer


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

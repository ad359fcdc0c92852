"""On-disk call cache: never pay twice, resume after a crash.

One SQLite file; one row per (model fingerprint, exact input text). Every
answer is written in its own transaction as soon as it arrives, so a run
killed at any moment leaves only whole entries, and a rerun pays only for
what was not answered yet. WAL mode lets several processes share the file.

Two processes on one cache never pay the same call twice: before sending, a
process *claims* the calls it will make (``claim``: a row in ``claims`` with
its owner, host, pid and a heartbeat); another process skips claimed calls
and reads their answers once they are in. A claim is void once its call is
answered (``put``), ended by ``release``, and taken over when its owner is
dead (same host) or its heartbeat is older than ``CLAIM_TTL_S`` (an owner
that hangs, or a pid reused).
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CacheError
from .models.base import Answer

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    beat REAL NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS claims_owner ON claims (owner)",
)

#: a claim whose owner has not answered anything for this long is taken over
CLAIM_TTL_S = 600.0
#: an owner refreshes the heartbeat of its claims at most this often
_BEAT_EVERY_S = 2.0
_LOCK_WAIT_S = 60.0  # how long an open waits for another process that holds the file


def call_key(fingerprint: str, text: str) -> str:
    return hashlib.sha256(fingerprint.encode() + b"\x00" + text.encode("utf-8")).hexdigest()


@dataclass
class Claim:
    """The outcome of ``CallCache.claim``."""

    mine: list[str] = field(default_factory=list)  # claimed by this cache: send them, then ``put`` or ``release``
    elsewhere: list[str] = field(default_factory=list)  # answered or claimed by another live owner: read them later


def _alive(host: str, pid: int) -> bool:
    """Is ``pid`` on ``host`` a running (not zombie) process? Another host: assume so (its heartbeat decides)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class CallCache:
    """``get_many`` / ``put`` answers by (model fingerprint, text); ``claim`` / ``release`` calls about to be sent."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / "calls.sqlite"
        self._db: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._owner = ""
        self._last_beat = 0.0

    # ------------------------------------------------------------ connection and errors

    def _fault(self, e: BaseException, doing: str) -> CacheError:
        aside = f"mv {self.path} {self.path}.bad (and its -wal and -shm files, if any)"
        msg = str(e) or type(e).__name__
        if isinstance(e, sqlite3.DatabaseError) and ("not a database" in msg or "malformed" in msg):
            return CacheError(f"the call cache {self.path} is corrupt ({msg}); move it aside ({aside}) "
                              "or set cache_dir to another directory, then run again")
        if isinstance(e, OSError):
            msg = e.strerror or msg
        if doing == "create":
            return CacheError(f"cannot create the cache directory {self.path.parent} ({msg}); "
                              "set cache_dir to a directory you can write")
        if "locked" in msg:
            return CacheError(f"the call cache {self.path} stayed locked by another process for over a minute ({msg}); "
                              "wait for it to finish, or set cache_dir to another directory")
        return CacheError(f"cannot {doing} the call cache {self.path} ({msg}); make {self.path.parent} writable, "
                          f"move it aside ({aside}) or set cache_dir to another directory")

    @contextmanager
    def _guard(self, doing: str = "use") -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError:  # a bug, not the cache's state
            raise
        except (sqlite3.DatabaseError, OSError) as e:
            raise self._fault(e, doing) from e

    def _conn(self) -> sqlite3.Connection:
        if self._db is not None and self._pid != os.getpid():  # forked: never share a connection across processes
            self._db = None
        if self._db is None:
            with self._guard("create"):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._guard("open"):
                db = self._open()
            self._db, self._pid = db, os.getpid()
            self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        return self._db

    def _open(self) -> sqlite3.Connection:
        """Connect, switch to WAL and create the tables, retrying while another process does the same.

        Two processes that open a new file at once can deadlock on the switch to WAL; SQLite then answers
        "database is locked" at once instead of waiting, so the wait is here.
        """
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            db = sqlite3.connect(self.path, timeout=_LOCK_WAIT_S, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                for statement in _SCHEMA:
                    db.execute(statement)
                return db
            except sqlite3.OperationalError as e:
                db.close()
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            except BaseException:
                db.close()
                raise

    def check(self) -> None:
        """Open the cache now: ``CacheError`` if it is corrupt or cannot be written (before anything is paid).

        Also drops the void claims (of answered calls) that killed processes left behind.
        """
        db = self._conn()
        with self._guard("write"):
            db.execute("DELETE FROM claims WHERE EXISTS (SELECT 1 FROM calls WHERE calls.key = claims.key)")

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        with self._guard(doing):
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # ------------------------------------------------------------ answers

    def get_many(self, fingerprint: str, texts: Iterable[str]) -> dict[str, Answer]:
        """Cached answers for the texts that have one, by text."""
        by_key = {call_key(fingerprint, t): t for t in texts}
        found: dict[str, Answer] = {}
        keys = list(by_key)
        db = self._conn()
        with self._guard("read"):
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                rows = db.execute(f"SELECT key, answer FROM calls WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for key, answer in rows:
                    found[by_key[key]] = Answer.from_json(answer)
        return found

    def put(self, fingerprint: str, model: str, text: str, answer: Answer) -> None:
        """Store an answer (the first one wins): from now on its claim, if any, is void."""
        db = self._conn()
        now = time.time()
        with self._guard("write"):
            db.execute("INSERT OR IGNORE INTO calls (key, model, answer, created) VALUES (?, ?, ?, ?)",
                       (call_key(fingerprint, text), model, answer.to_json(), now))
            if now - self._last_beat > _BEAT_EVERY_S:  # still working: keep this owner's other claims alive
                db.execute("UPDATE claims SET beat = ? WHERE owner = ?", (now, self._owner))
                self._last_beat = now

    # ------------------------------------------------------------ claims

    def claim(self, fingerprint: str, texts: Iterable[str], *, limit: int | None = None) -> Claim:
        """Claim, in order, up to ``limit`` of ``texts`` that are neither answered nor claimed by a live owner.

        Claims of a dead owner, or with a heartbeat older than ``CLAIM_TTL_S``,
        are taken over. Texts looked at and not claimed are in ``elsewhere``.
        """
        out = Claim()
        now = time.time()
        alive: dict[tuple[str, int], bool] = {}
        with self._transaction("write") as db:
            for text in texts:
                if limit is not None and len(out.mine) >= limit:
                    break
                key = call_key(fingerprint, text)
                if db.execute("SELECT 1 FROM calls WHERE key = ?", (key,)).fetchone():
                    out.elsewhere.append(text)
                    continue
                row = db.execute("SELECT owner, host, pid, beat FROM claims WHERE key = ?", (key,)).fetchone()
                if row is not None and row[0] != self._owner:
                    owner, host, pid, beat = row
                    if (host, pid) not in alive:
                        alive[(host, pid)] = _alive(host, pid)
                    if alive[(host, pid)] and now - beat < CLAIM_TTL_S:
                        out.elsewhere.append(text)
                        continue
                db.execute("INSERT OR REPLACE INTO claims (key, owner, host, pid, beat) VALUES (?, ?, ?, ?, ?)",
                           (key, self._owner, socket.gethostname(), os.getpid(), now))
                out.mine.append(text)
        self._last_beat = now
        return out

    def release(self, fingerprint: str, texts: Iterable[str]) -> None:
        """End this cache's claims on ``texts``: the unanswered ones may now be sent by another process."""
        keys = [call_key(fingerprint, t) for t in texts]
        if not keys or self._db is None:
            return
        with self._transaction("write") as db:
            db.executemany("DELETE FROM claims WHERE key = ? AND owner = ?", [(k, self._owner) for k in keys])

    def release_all(self) -> None:
        """End every claim this cache holds (the worker it served is gone; its unanswered calls are free again)."""
        if self._db is None:
            return
        with self._transaction("write") as db:
            db.execute("DELETE FROM claims WHERE owner = ?", (self._owner,))

    def __len__(self) -> int:
        db = self._conn()
        with self._guard("read"):
            return db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        if self._db is not None:
            if self._pid == os.getpid():
                self._db.close()
            self._db = None

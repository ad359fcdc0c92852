"""On-disk call cache: never pay twice, resume after a crash.

One SQLite file; one row per (model fingerprint, exact input text). Every
answer is written in its own transaction as soon as it arrives, so a run
killed at any moment leaves only whole entries, and a rerun pays only for
what was not answered yet. WAL mode lets several processes share the file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from .models.base import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def call_key(fingerprint: str, text: str) -> str:
    return hashlib.sha256(fingerprint.encode() + b"\x00" + text.encode("utf-8")).hexdigest()


class CallCache:
    """``get_many`` / ``put`` answers by (model fingerprint, text)."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / "calls.sqlite"
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            self._db = db
        return self._db

    def get_many(self, fingerprint: str, texts: Iterable[str]) -> dict[str, Answer]:
        """Cached answers for the texts that have one, by text."""
        by_key = {call_key(fingerprint, t): t for t in texts}
        found: dict[str, Answer] = {}
        keys = list(by_key)
        db = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = db.execute(f"SELECT key, answer FROM calls WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            for key, answer in rows:
                found[by_key[key]] = Answer.from_json(answer)
        return found

    def put(self, fingerprint: str, model: str, text: str, answer: Answer) -> None:
        self._conn().execute(
            "INSERT OR IGNORE INTO calls (key, model, answer, created) VALUES (?, ?, ?, ?)",
            (call_key(fingerprint, text), model, answer.to_json(), time.time()),
        )

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

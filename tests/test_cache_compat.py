"""A cache written by the code before the one-runtime change (commit e4a8b09) is read by today's code: 0 paid calls.

``tests/fixtures/cache_e4a8b09`` holds two small configs and the ``cache/calls.sqlite`` that e4a8b09 wrote running
them (``PYTHONPATH=<e4a8b09 checkout> python -m proxyx explain explain.yaml`` and ``compress compress.yaml``):
VADER and TF-IDF answering reviews, the in-context model answering many-shot prompts. A change to a model's
fingerprint, a prompt's rendering or the cache key would make today's run pay again.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proxyx.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "cache_e4a8b09"


def rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]


@pytest.mark.parametrize("args, report", [
    pytest.param(["explain", "explain.yaml", "--no-html", "--show", "0"], "explain.json", id="explain"),
    pytest.param(["compress", "compress.yaml", "-o", "compress"], "compress/compress.json", id="compress"),
])
def test_a_cache_written_by_e4a8b09_is_read_with_no_paid_call(tmp_path, monkeypatch, fine_foods, args, report):
    shutil.copytree(FIXTURE, tmp_path / "run")
    monkeypatch.chdir(tmp_path / "run")  # the configs name cache_dir: cache (a copy: the fixture stays as it was)
    before = rows(Path("cache/calls.sqlite"))
    result = CliRunner().invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    ledger = json.loads(Path(report).read_text())["ledger"]
    assert sum(r["cost"]["paid"]["calls"] for r in ledger) == 0, ledger
    assert sum(r["cost"]["hits"] for r in ledger) > 0
    assert rows(Path("cache/calls.sqlite")) == before  # nothing new was asked

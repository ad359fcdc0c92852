"""Writing reports."""

from __future__ import annotations

import json
import os

from proxyx.report import write_json


def test_write_json_makes_an_ordinary_file_and_leaves_no_temp(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "out" / "report.json", {"schema": "x/1", "ü": 1.5})
    finally:
        os.umask(old)
    assert json.loads(path.read_text(encoding="utf-8")) == {"schema": "x/1", "ü": 1.5}
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]

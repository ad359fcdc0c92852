"""Output safety: checked before anything is paid, atomic, never through a link, nothing lost, no temp files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from proxyx import output
from proxyx.errors import ConfigError
from proxyx.output import check_output_path, write_json, write_text

DOC = {"schema": "test/1", "values": [1, 2.5, "é"]}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------ check_output_path


def test_check_leaves_nothing_not_even_the_directories_it_tried(tmp_path):
    path = tmp_path / "a" / "b" / "report.json"
    assert check_output_path(path) == path
    assert list(tmp_path.iterdir()) == []
    write_json(path, DOC)  # the writer creates them
    assert json.loads(path.read_text()) == DOC


def test_check_accepts_an_existing_regular_file(tmp_path):
    (tmp_path / "report.json").write_text("old")
    assert check_output_path(tmp_path / "report.json") == tmp_path / "report.json"


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe")
    return tmp_path / "pipe"


def _link(tmp_path: Path) -> Path:
    (tmp_path / "target.json").write_text("precious")
    (tmp_path / "link.json").symlink_to(tmp_path / "target.json")
    return tmp_path / "link.json"


def _dangling(tmp_path: Path) -> Path:
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere" / "x.json")
    return tmp_path / "dangling.json"


def _parent_is_a_file(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("x")
    return tmp_path / "afile" / "report.json"


@pytest.mark.parametrize(
    "make, needle",
    [
        pytest.param(lambda t: t, "is a directory", id="directory"),
        pytest.param(lambda t: Path("/dev/null"), "is a device", id="device"),
        pytest.param(_fifo, "is a pipe", id="fifo"),
        pytest.param(_link, "is a symlink", id="symlink"),
        pytest.param(_dangling, "is a symlink", id="dangling-symlink"),
        pytest.param(_parent_is_a_file, "afile' is not a directory", id="parent-is-a-file"),
        pytest.param(lambda t: t / "..", "is not a file name", id="dot-dot"),
    ],
)
def test_check_refuses(tmp_path, make, needle):
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=needle) as e:
        check_output_path(path)
    assert "\n" not in str(e.value)


# ------------------------------------------------------------------ write_json / write_text


def test_write_json_is_readable_0644_and_leaves_no_temp(tmp_path, umask_022):
    path = write_json(tmp_path / "out" / "report.json", DOC)
    assert json.loads(path.read_text(encoding="utf-8")) == DOC
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert leftovers(path.parent) == []


def test_write_json_respects_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        path = write_json(tmp_path / "report.json", DOC)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_json_replaces_a_regular_file(tmp_path):
    (tmp_path / "report.json").write_text("old")
    write_json(tmp_path / "report.json", DOC)
    assert json.loads((tmp_path / "report.json").read_text()) == DOC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_never_writes_through_a_symlink(tmp_path):
    link = _link(tmp_path)
    with pytest.raises(ConfigError, match="is a symlink"):
        write_json(link, DOC)
    assert link.is_symlink() and (tmp_path / "target.json").read_text() == "precious"
    assert leftovers(tmp_path) == []


def test_never_replaces_a_non_regular_file(tmp_path):
    fifo = _fifo(tmp_path)
    with pytest.raises(ConfigError, match="is a pipe"):
        write_json(fifo, DOC)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "make",
    [pytest.param(lambda t: t / "adir", id="path-became-a-directory"),
     pytest.param(_parent_is_a_file, id="parent-is-a-file"),
     pytest.param(_link, id="symlink")],
)
def test_fallback_when_the_report_cannot_be_written(tmp_path, make):
    (tmp_path / "adir").mkdir()
    path = make(tmp_path)
    fallback = tmp_path / "cache"
    got = write_json(path, DOC, fallback_dir=fallback)
    assert got.parent == fallback and got.name.startswith(f"{path.stem}.") and got.suffix == ".json"
    assert json.loads(got.read_text()) == DOC
    assert leftovers(fallback) == [] and leftovers(tmp_path) == []


def test_no_fallback_is_one_config_error(tmp_path):
    with pytest.raises(ConfigError, match="is not a directory|cannot write the output"):
        write_json(_parent_is_a_file(tmp_path), DOC)


def test_fallback_that_fails_too_says_results_are_lost(tmp_path):
    with pytest.raises(ConfigError, match="nor its fallback .* the results are lost"):
        write_json(_parent_is_a_file(tmp_path), DOC, fallback_dir=tmp_path / "afile" / "cache")


def test_a_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    """A full disk or a vanished directory at rename time: a fault real parts cannot produce on demand."""
    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "replace", no_space)
    with pytest.raises(ConfigError, match="No space left on device"):
        write_json(tmp_path / "report.json", DOC)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_writing_leaves_no_temp_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json(tmp_path / "report.json", DOC)
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_document_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_json(tmp_path / "report.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_write_text_same_guarantees(tmp_path, umask_022):
    path = write_text(tmp_path / "bench.md", "# bench\n")
    assert path.read_text() == "# bench\n" and stat.S_IMODE(path.stat().st_mode) == 0o644
    got = write_text(_link(tmp_path), "# x\n", fallback_dir=tmp_path / "fb")
    assert got.parent == tmp_path / "fb" and got.suffix == ".json" and got.read_text() == "# x\n"
    assert (tmp_path / "target.json").read_text() == "precious" and leftovers(tmp_path) == []


# ------------------------------------------------------------------ through the CLI


def _config(tmp_path: Path) -> Path:
    rows = [{"id": "a", "text": "Absolutely delicious coffee.", "label": "great"},
            {"id": "b", "text": "Stale and bland.", "label": "other"}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"oracle: local/vader\nproxies: [{{model: local/vader, alias: twin}}]\n"
                   f"dataset: {{path: {tmp_path / 'r.jsonl'}}}\nexplainer: {{samples: 10}}\n"
                   f"cache_dir: {tmp_path / 'cache'}\noutput: {tmp_path / 'report.json'}\n")
    return cfg


@pytest.mark.parametrize(
    "make, needle",
    [pytest.param(lambda t: Path("/dev/null"), "is a device", id="device"),
     pytest.param(_link, "is a symlink", id="symlink"),
     pytest.param(lambda t: t, "is a directory", id="directory")],
)
def test_cli_refuses_before_anything_is_paid(tmp_path, make, needle):
    cfg, out = _config(tmp_path), make(tmp_path)
    p = subprocess.run([sys.executable, "-m", "proxyx", "explain", str(cfg), "-q", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert needle in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cache" / "calls.sqlite").exists()  # refused before the cache was even opened
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if out.is_symlink():
        assert (tmp_path / "target.json").read_text() == "precious"

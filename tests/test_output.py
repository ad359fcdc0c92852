"""Output safety: checked before anything is paid, atomic, never through a link, nothing lost, no temp files."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proxyx import output
from proxyx.cli import app
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


# ------------------------------------------------------------------ nothing a run reads, nothing twice (CLI)

runner = CliRunner()


def _one_line(result, code: int = 2) -> str:
    assert result.exit_code == code and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _split_files(tmp_path: Path) -> Path:
    cfg = _config(tmp_path)
    (tmp_path / "train.jsonl").write_text((tmp_path / "r.jsonl").read_text())
    cfg.write_text(cfg.read_text().replace(f"path: {tmp_path / 'r.jsonl'}",
                                           f"path: {{test: {tmp_path / 'r.jsonl'}, train: {tmp_path / 'train.jsonl'}}}"))
    return cfg


def _out(name: str):
    return lambda t: ["--out", t / name]


def _link_to(source: str):
    """--out a hard link to ``source``."""
    def make(t: Path) -> list:
        os.link(t / source, t / "h.json")
        return ["--out", t / "h.json"]
    return make


def _page_linked_to_report(t: Path) -> list:
    (t / "x.json").write_text("{}")
    os.link(t / "x.json", t / "x.html")
    return ["--out", t / "x.json"]


def _page(make):
    """The sibling page report.html made by ``make(path)``; the report path is the default."""
    def run(t: Path) -> list:
        make(t / "report.html")
        return []
    return run


def _socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


def _read_only_file(t: Path) -> list:
    (t / "old.json").write_text("keep")
    (t / "old.json").chmod(0o444)
    return ["--out", t / "old.json"]


def _read_only_dir(t: Path) -> list:
    (t / "ro").mkdir(mode=0o555)
    return ["--out", t / "ro" / "x.json"]


@pytest.mark.parametrize("args, needle", [
    pytest.param(_out("c.yaml"), "(the report) is the config file", id="config-file"),
    pytest.param(_out("r.jsonl"), "(the report) is the data file (dataset.path)", id="data-file"),
    pytest.param(_out("cache/calls.sqlite"), "is inside the cache directory (cache_dir)", id="cache-database"),
    pytest.param(_out("cache/notes/x.json"), "is inside the cache directory", id="under-cache"),
    pytest.param(_out("x.html"), "would be both the report and the HTML page", id="page-is-report"),
    pytest.param(lambda t: ["--out", t / "s.json", "--screen", t / "s.json"], "is the screening result (--screen)",
                 id="screen-file"),
    pytest.param(_link_to("c.yaml"), "is a hard link to the config file", id="hard-link-to-config"),
    pytest.param(_link_to("r.jsonl"), "is a hard link to the data file", id="hard-link-to-data"),
    pytest.param(_page_linked_to_report, "is a hard link to the report", id="page-hard-link-to-report"),
    pytest.param(_page(Path.mkdir), "(the HTML page; --no-html writes none) is a directory", id="page-is-a-directory"),
    pytest.param(_page(os.mkfifo), "(the HTML page; --no-html writes none) is a pipe", id="page-is-a-fifo"),
    pytest.param(_page(lambda p: p.symlink_to(p.parent / "c.yaml")), "(the HTML page; --no-html writes none) is a "
                 "symlink", id="page-is-a-symlink"),
    pytest.param(_page(_socket), "(the HTML page; --no-html writes none) is a socket", id="page-is-a-socket"),
    pytest.param(_read_only_file, "(the report) is read-only", id="read-only-target"),
    pytest.param(_read_only_dir, "the directory", id="read-only-parent"),
    pytest.param(lambda t: ["--out", "/proc/proxyx-report.json"], "the directory '/proc' is read-only",
                 id="read-only-filesystem"),
    pytest.param(lambda t: ["--out", _parent_is_a_file(t)], "afile' is not a directory", id="parent-is-a-file"),
])
def test_explain_refuses_what_it_reads_and_bad_targets_before_anything_is_paid(tmp_path, args, needle):
    cfg = _config(tmp_path)
    before = {p: p.read_bytes() for p in (cfg, tmp_path / "r.jsonl")}
    line = _one_line(runner.invoke(app, ["explain", str(cfg), "-q", *map(str, args(tmp_path))]))
    assert needle in line
    assert not (tmp_path / "cache").exists()  # refused before the cache was opened: nothing paid
    assert {p: p.read_bytes() for p in before} == before


def test_a_split_file_is_an_input_too(tmp_path):
    cfg = _split_files(tmp_path)
    line = _one_line(runner.invoke(app, ["explain", str(cfg), "-q", "--out", str(tmp_path / "train.jsonl")]))
    assert "is the data file (dataset.path.train)" in line


def test_a_hard_link_to_the_cache_database_is_refused_and_the_cache_kept(tmp_path):
    cfg = _config(tmp_path)
    assert runner.invoke(app, ["explain", str(cfg), "-q", "--no-html"]).exit_code == 0
    db = tmp_path / "cache" / "calls.sqlite"
    os.link(db, tmp_path / "elsewhere.json")
    kept = db.read_bytes()
    line = _one_line(runner.invoke(app, ["explain", str(cfg), "-q", "--out", str(tmp_path / "elsewhere.json")]))
    assert "is a hard link to the cache directory (cache_dir)" in line and db.read_bytes() == kept


@pytest.mark.parametrize("command, args, needle", [
    pytest.param("screen", lambda t: ["--out", t / "c.yaml"], "(the screening result) is the config file", id="screen"),
    pytest.param("bench", lambda t: ["--out", t / "cache"], "(the bench's bench.json) is inside the cache directory",
                 id="bench"),
    pytest.param("bench", lambda t: ["--out", _parent_is_a_file(t).parent], "afile' is not a directory",
                 id="bench-parent-is-a-file"),
])
def test_screen_and_bench_check_their_files_too(tmp_path, command, args, needle):
    cfg = _config(tmp_path)
    line = _one_line(runner.invoke(app, [command, str(cfg), "-q", *map(str, args(tmp_path))]))
    assert needle in line and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("page, needle", [
    pytest.param(lambda t: t / "report.json", "is the report shown", id="the-report-itself"),
    pytest.param(_parent_is_a_file, "afile' is not a directory", id="parent-is-a-file"),
    pytest.param(lambda t: _read_only_file(t)[1], "is read-only", id="read-only"),
    pytest.param(lambda t: t, "is a directory", id="directory"),
])
def test_show_html_refuses_with_one_line(tmp_path, page, needle):
    cfg = _config(tmp_path)
    assert runner.invoke(app, ["explain", str(cfg), "-q", "--no-html"]).exit_code == 0
    report = (tmp_path / "report.json").read_bytes()
    line = _one_line(runner.invoke(app, ["show", str(tmp_path / "report.json"), "--html", str(page(tmp_path))]))
    assert needle in line and (tmp_path / "report.json").read_bytes() == report


# ------------------------------------------------------------------ a report that cannot be written at the end

#: an oracle that, on its first call, makes the report's path a directory (another process racing the run)
SABOTEUR = '''
import os
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_VADER = SentimentIntensityAnalyzer()


def predict(texts):
    target = Path(os.environ["PROXYX_TEST_BLOCK"])
    if not target.exists():
        target.mkdir(parents=True)
    out = []
    for t in texts:
        p = (_VADER.polarity_scores(t)["compound"] + 1) / 2
        out.append([p, 1 - p])
    return out
'''


@pytest.mark.parametrize("command, written", [
    pytest.param("explain", "report.json", id="explain"),
    pytest.param("screen", "report.screen.json", id="screen"),
    pytest.param("bench", "report/bench.md", id="bench"),
])
def test_a_result_that_cannot_be_written_goes_beside_the_cache(tmp_path, command, written):
    (tmp_path / "saboteur.py").write_text(SABOTEUR)
    cfg = _config(tmp_path)
    cfg.write_text(cfg.read_text().replace("oracle: local/vader", "oracle: python:saboteur:predict")
                   .replace("r.jsonl}", "r.jsonl, limit: 1}") + "bench: {samples: [10], methods: [lime]}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           "PROXYX_TEST_BLOCK": str(tmp_path / written)}
    args = [sys.executable, "-m", "proxyx", command, str(cfg), "-q"] + (["--no-html"] if command == "explain" else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert "Traceback" not in p.stdout + p.stderr and p.returncode in (0, 3), p.stdout + p.stderr
    saved = list((tmp_path / "cache").glob(f"{Path(written).stem}.*{Path(written).suffix}"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    assert f"could not write {tmp_path / written}" in p.stderr and str(saved[0]) in p.stderr

"""Write every artefact safely: checked before anything is paid, atomic, never through a link.

``check_outputs`` refuses, before a run spends anything, every target that
is an input of the run (the config, a data file, a screen result, anything
under the cache directory: ``run_inputs``), that is another
target of the same run (the HTML page over the report), the same file as one
of them through a hard link, a directory, a symlink, a device, a FIFO, a
socket, a read-only file, or whose directory cannot be created or written.
``write_bytes`` (``write_json``, ``write_text``) is the one writer of
artefacts: it writes a temp file in the same directory and renames it over
the path, so a reader never sees half a file and a killed run leaves the old
one; it never replaces a non-regular file nor follows a symlink, and leaves
no temp file behind whatever fails. If the file still cannot be written, and
a ``fallback_dir`` is given (the cache directory), it goes to
``fallback_dir/<name>.<timestamp><suffix>``, a warning says where, and that
path is returned, so the results of a long run are not lost.

Files are created with mode 0666 minus the umask (0644 under the usual
umask 022), as ``open()`` would.
"""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .data import data_dir
from .errors import ConfigError
from .inputs import file_kind

log = logging.getLogger(__name__)

_TEMP_SUFFIX = ".tmp"
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _umask() -> int:
    try:  # Linux: read it, since setting it to read it back races with other threads creating files
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _name(path: Path, what: str | None) -> str:
    return f"output {str(path)!r}" + (f" ({what})" if what else "")


def _refuse_existing(path: Path, what: str | None = None) -> None:
    """ConfigError if ``path`` exists and is anything but a writable regular file (a symlink is not followed)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # nothing there (a parent that is a file: see the caller)
        return
    except OSError as e:
        raise ConfigError(f"{_name(path, what)}: cannot be checked ({e.strerror}); choose another path") from e
    if stat.S_ISLNK(st.st_mode):
        raise ConfigError(f"{_name(path, what)} is a symlink; proxyx does not write through links, "
                          "give the real path or another name")
    kind = file_kind(st.st_mode)
    if kind is not None:
        raise ConfigError(f"{_name(path, what)} is {kind}; proxyx only replaces regular files, give another path")
    if not st.st_mode & _WRITE_BITS or not os.access(path, os.W_OK):
        raise ConfigError(f"{_name(path, what)} is read-only; proxyx does not replace it: "
                          "make it writable (chmod u+w) or choose another path")


def check_output_path(path: str | Path, what: str | None = None) -> Path:
    """The output path (``what`` names it in errors), once it is known to be writable: call it before any
    call is paid. Tries a temp file in its directory, creating the missing ones, and leaves no trace.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ConfigError(f"{_name(path, what)} is not a file name; give e.g. runs/report.json")
    _refuse_existing(path, what)
    parent = path.parent
    above = next((p for p in [parent, *parent.parents] if os.path.lexists(p)), None)
    if above is not None and not above.is_dir():
        raise ConfigError(f"{_name(path, what)}: {str(above)!r} is not a directory; choose another path "
                          "with --out or 'output' in the config")
    if above is not None and not os.stat(above).st_mode & _WRITE_BITS:
        raise ConfigError(f"{_name(path, what)}: the directory {str(above)!r} is read-only; "
                          "choose a writable place with --out or 'output' in the config")
    missing = [p for p in [parent, *parent.parents] if not os.path.lexists(p)]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(f"{_name(path, what)}: cannot write in {str(parent)!r} ({e.strerror}); "
                          "choose a writable place with --out or 'output' in the config") from e
    finally:
        for p in missing:  # innermost first: the check leaves nothing behind
            try:
                p.rmdir()
            except OSError:
                pass
    return path


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _files_under(directory: Path) -> Iterable[Path]:
    for root, _, names in os.walk(directory):
        for name in names:
            yield Path(root) / name


@dataclass(frozen=True)
class Input:
    """A file (``directory=False``) or every file under a directory that a run reads; ``what`` names it."""

    path: Path
    what: str
    directory: bool = False


def run_inputs(config, *files: tuple[str | Path | None, str]) -> list[Input]:
    """What a run of ``config`` reads: ``files`` given as (path, what) (the config file, a screen result),
    the data files, a model's weights file and the cache directory."""
    out = [Input(Path(p), what) for p, what in files if p is not None]
    ds = config.dataset
    paths = ds.path if isinstance(ds.path, dict) else {"": ds.path} if ds.path else {}
    for split, p in paths.items():
        out.append(Input(Path(p), f"the data file (dataset.path{'.' + split if split else ''})"))
    for name in {n for n in (None if ds.path else ds.name, config.rerank.dataset) if n}:
        out.append(Input(data_dir() / name, f"the built-in data set {name!r}", directory=True))
    for m in [config.oracle, *config.proxies]:
        if m.model_path:
            out.append(Input(Path(m.model_path), f"the model file of {m.name} (model_path)"))
    out.append(Input(Path(config.cache_dir), "the cache directory (cache_dir)", directory=True))
    return out


def check_outputs(targets: Iterable[tuple[str | Path, str]], inputs: Iterable[Input] = ()) -> list[Path]:
    """Check every (path, what) target of one run (``check_output_path``), none of them an input of the run
    (``run_inputs``) nor another target, by path or through a hard link; the paths, in order.

    Call it before anything is paid.
    """
    inputs = list(inputs)
    seen: dict[Path, str] = {}
    ids: dict[tuple[int, int], str] = {}
    out = []
    for target, what in targets:
        path = check_output_path(target, what)
        real = path.resolve()
        for i in inputs:
            root = i.path.resolve()
            if real == root or (i.directory and real.is_relative_to(root)):
                where = "is" if real == root else "is inside"
                raise ConfigError(f"{_name(path, what)} {where} {i.what} {str(i.path)!r}; proxyx never "
                                  "overwrites what it reads: choose another path")
        if real in seen:
            raise ConfigError(f"output {str(path)!r} would be both {seen[real]} and {what}; give them different "
                              "names (e.g. --out NAME.json, the page goes to NAME.html)")
        seen[real] = what
        here = _identity(path)
        if here is None:
            out.append(path)
            continue
        if here in ids:
            raise ConfigError(f"{_name(path, what)} is a hard link to {ids[here]}; give them separate files")
        ids[here] = what
        if os.stat(path).st_nlink > 1:  # another name of the same file may be an input
            for i in inputs:
                files = _files_under(i.path) if i.directory else [i.path]
                if any(_identity(f) == here for f in files):
                    raise ConfigError(f"{_name(path, what)} is a hard link to {i.what} {str(i.path)!r}; "
                                      "proxyx never overwrites what it reads: choose another path")
        out.append(path)
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a report is an ordinary file
        _refuse_existing(path)  # again, just before the rename: never replace what appeared meanwhile
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_bytes(path: str | Path, data: bytes, *, fallback_dir: str | Path | None = None,
                suffix: str | None = None) -> Path:
    """Write ``data`` at ``path`` (atomic, no link followed); returns where it went: ``path``, or the fallback
    (named ``<stem>.<timestamp><suffix>``, by default the suffix of ``path``)."""
    path = Path(path)
    try:
        _write_atomic(path, data)
        return path
    except (OSError, ConfigError) as e:
        reason = str(e) if isinstance(e, ConfigError) else f"{str(path)!r}: {e.strerror or e}"
        if fallback_dir is None:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"cannot write the output {reason}; choose a writable place with --out") from e
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        fallback = Path(fallback_dir) / f"{path.stem or 'report'}.{stamp}{path.suffix if suffix is None else suffix}"
        try:
            _write_atomic(fallback, data)
        except (OSError, ConfigError) as e2:
            raise ConfigError(f"cannot write the output ({reason}), nor its fallback {str(fallback)!r} "
                              f"({getattr(e2, 'strerror', None) or e2}); the results are lost") from e2
        log.warning("could not write %s (%s); it is in %s", path, reason, fallback)
        return fallback


def write_json(path: str | Path, doc: dict, *, fallback_dir: str | Path | None = None) -> Path:
    """Write ``doc`` as indented UTF-8 JSON; returns where it went (``path``, or the fallback)."""
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")  # a TypeError here is a bug
    return write_bytes(path, data, fallback_dir=fallback_dir, suffix=".json")


def write_text(path: str | Path, text: str, *, fallback_dir: str | Path | None = None) -> Path:
    """Write ``text`` (Markdown, HTML, a prompt) as UTF-8 with the guarantees of ``write_bytes``."""
    return write_bytes(path, text.encode("utf-8"), fallback_dir=fallback_dir, suffix=Path(path).suffix or ".txt")


def write_figure(path: str | Path, figure, *, dpi: float | None = None, fallback_dir: str | Path | None = None) -> Path:
    """Write a matplotlib ``figure`` as PNG with the guarantees of ``write_bytes``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return write_bytes(path, buffer.getvalue(), fallback_dir=fallback_dir)

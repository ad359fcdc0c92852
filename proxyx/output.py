"""Write reports safely: checked before anything is paid, atomic, never through a link.

``check_output_path`` refuses, before a run spends anything, a path that is
a directory, a symlink, a device or any other non-regular file, or whose
directory cannot be created or written. ``write_json`` / ``write_text``
write a temp file in the same directory and rename it over the path, so a
reader never sees half a report and a killed run leaves the old one; they
never replace a non-regular file nor follow a symlink, and leave no temp
file behind whatever fails. If the report still cannot be written, and a
``fallback_dir`` is given (the CLI passes the cache directory), it goes to
``fallback_dir/<name>.<timestamp>.json`` and that path is returned, so the
results of a long run are not lost; the caller prints where.

Files are created with mode 0666 minus the umask (0644 under the usual
umask 022), as ``open()`` would.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from pathlib import Path

from .errors import ConfigError

_TEMP_SUFFIX = ".tmp"


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


def _refuse_existing(path: Path) -> None:
    """ConfigError if ``path`` exists and is anything but a regular file (a symlink is not followed)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # nothing there (a parent that is a file: see the caller)
        return
    except OSError as e:
        raise ConfigError(f"output {str(path)!r}: cannot be checked ({e.strerror}); choose another path") from e
    if stat.S_ISLNK(st.st_mode):
        raise ConfigError(f"output {str(path)!r} is a symlink; proxyx does not write through links, "
                          "give the real path or another name")
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"output {str(path)!r} is a directory; give a file name, e.g. {path / 'report.json'}")
    if not stat.S_ISREG(st.st_mode):
        kind = "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file"
        raise ConfigError(f"output {str(path)!r} is {kind}; proxyx only replaces regular files, give a file path")


def check_output_path(path: str | Path) -> Path:
    """The output path, once it is known to be writable: call it before any call is paid.

    Creates the missing parent directories and tries a temp file in them.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ConfigError(f"output {str(path)!r} is not a file name; give e.g. runs/report.json")
    _refuse_existing(path)
    parent = path.parent
    above = next((p for p in [parent, *parent.parents] if os.path.lexists(p)), None)
    if above is not None and not above.is_dir():
        raise ConfigError(f"output {str(path)!r}: {str(above)!r} is not a directory; choose another path "
                          "with --out or 'output' in the config")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(f"output {str(path)!r}: cannot write in {str(parent)!r} ({e.strerror}); "
                          "choose a writable place with --out or 'output' in the config") from e
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    check_output_path(path)
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


def _write(path: str | Path, data: bytes, fallback_dir: Path | None, suffix: str) -> Path:
    path = Path(path)
    try:
        _write_atomic(path, data)
        return path
    except (OSError, ConfigError) as e:
        reason = e if isinstance(e, ConfigError) else f"{str(path)!r}: {e.strerror or e}"
        if fallback_dir is None:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"cannot write the output {reason}; choose a writable place with --out") from e
        stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        fallback = Path(fallback_dir) / f"{path.stem or 'report'}.{stamp}{suffix}"
        try:
            _write_atomic(fallback, data)
        except (OSError, ConfigError) as e2:
            raise ConfigError(f"cannot write the output ({reason}), nor its fallback {str(fallback)!r} "
                              f"({getattr(e2, 'strerror', None) or e2}); the results are lost") from e2
        return fallback


def write_json(path: str | Path, doc: dict, *, fallback_dir: Path | None = None) -> Path:
    """Write ``doc`` as indented UTF-8 JSON; returns where it went (``path``, or the fallback)."""
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")  # a TypeError here is a bug
    return _write(path, data, fallback_dir, ".json")


def write_text(path: str | Path, text: str, *, fallback_dir: Path | None = None) -> Path:
    """Write ``text`` (Markdown, ...) as UTF-8 with the guarantees of ``write_json``."""
    return _write(path, text.encode("utf-8"), fallback_dir, Path(path).suffix or ".txt")

"""The files a run reads: only regular files.

``read_input`` opens without blocking and checks the opened file, so a FIFO
(``<(...)`` is one), a device, a socket or a directory is refused with one
line before anything waits on it or reads it, and a file swapped between a
check and the open cannot slip through.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ConfigError, ProxyxError


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (a FIFO, or <(...) in the shell)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    return None if stat.S_ISREG(mode) else _kind(mode)


def read_input(path: str | Path, *, what: str, fix: str, error: type[ProxyxError] = ConfigError,
               max_bytes: int | None = None) -> bytes:
    """The bytes of the regular file ``path``; else ``error``: "<what> '<path>' is a pipe ...; <fix>".

    ``max_bytes``: refuse a larger file before reading it.
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO opens at once, unread
    except FileNotFoundError:
        raise error(f"{what} {name!r} does not exist; {fix}") from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket cannot be opened
            raise error(f"{what} {name!r} is a socket, not a regular file; {fix}") from None
        raise error(f"cannot read {what} {name!r} ({e.strerror}); check its permissions") from None
    try:
        st = os.fstat(fd)
        kind = file_kind(st.st_mode)
        if kind is not None:
            raise error(f"{what} {name!r} is {kind}, not a regular file; {fix}")
        if max_bytes is not None and st.st_size > max_bytes:
            raise error(f"{what} {name!r} has {st.st_size:,} bytes; a {what} is at most {max_bytes:,} bytes, "
                        "is this the right file?")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as e:
        raise error(f"cannot read {what} {name!r} ({e.strerror}); check the file") from None
    finally:
        os.close(fd)

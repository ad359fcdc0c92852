"""What a run reads from outside proxyx: regular files, and the Python objects a config names.

``read_input`` opens without blocking and checks the opened file, so a FIFO
(``<(...)`` is one), a device, a socket or a directory is refused with one
line before anything waits on it or reads it, and a file swapped between a
check and the open cannot slip through.

``python:package.module:name`` in a config (a model, an explainer, a task
kind) is imported by ``import_named``; ``package.module`` must be on
``sys.path`` (installed, or ``PYTHONPATH=its folder``).
"""

from __future__ import annotations

import errno
import importlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

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


#: how a config names a Python object of the user's: ``python:package.module:name``
PYTHON = "python:"


def first_line(e: BaseException) -> str:
    """``Type: first line of the message``: an exception of the user's code, in one line."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def import_named(spec: str, fail: Callable[[str], Exception], example: str) -> tuple[ModuleType, Any]:
    """The module and the object ``python:package.module:name`` (or ``package.module:name``; ``name`` may be
    dotted) names, imported; ``fail(message)`` is raised for a malformed spec, a module that does not import
    or a missing name (``example``: a well-formed spec, for the message)."""
    module_name, sep, attr = spec.removeprefix(PYTHON).partition(":")
    if not (sep and module_name and attr):
        raise fail(f"write python:package.module:name, e.g. {example}")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # ImportError, or anything the module raises while it is imported
        raise fail(f"cannot import {module_name!r} ({first_line(e)}); check the name and that its folder is on "
                   "sys.path (pip install it, or run with PYTHONPATH=its folder)") from e
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
            raise fail(f"module {module_name!r} has no attribute {attr!r}; its callables are: "
                       f"{', '.join(names[:12]) or '(none)'}")
        obj = getattr(obj, part)
    return module, obj


def python_class(spec: str, base: type, what: str) -> type:
    """The subclass of ``base`` that ``python:package.module:Class`` names; else ``ConfigError`` naming it."""
    def fail(message: str) -> ConfigError:
        return ConfigError(f"{what} {spec!r}: {message}")

    _, cls = import_named(spec, fail, f"python:my_module:My{base.__name__}")
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise fail(f"{spec.rpartition(':')[2]!r} is not a subclass of proxyx's {base.__name__}")
    return cls

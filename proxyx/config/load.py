"""Read a YAML config strictly: one line naming file and line for each problem.

PyYAML alone accepts things a config must not contain:

- bytes that are not UTF-8 (a ``UnicodeDecodeError`` traceback);
- a key given twice (it silently keeps the last one);
- deep nesting (the composer recurses: ``RecursionError``);
- an "alias bomb" (``&a [*b, *b, ...]`` nested: a few lines that expand to
  billions of values once something walks them, such as validation).

Aliases (``&name`` / ``*name``) are allowed, since they are a fair way to
share a block, but the document *after expanding them* may hold at most
``MAX_NODES`` values and be at most ``MAX_DEPTH`` levels deep; beyond that
it is refused before anything walks it. A config is at most ``MAX_BYTES``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .inputs import read_input

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 10_000


def decode_utf8(raw: bytes, source: str, *, error: type[Exception] = ConfigError, line: int = 1) -> str:
    """``raw`` (starting on ``line`` of ``source``) as UTF-8 text, a leading BOM dropped; else ``error``
    naming the line, column and byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line += raw.count(b"\n", 0, e.start)
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise error(f"{source}:{line}: not UTF-8 (byte 0x{raw[e.start]:02x} at column {column}: {e.reason}); "
                    f"save the file as UTF-8, e.g. iconv -f latin1 -t utf-8 {source} > fixed") from None


class _Refused(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting deeper than ``MAX_DEPTH`` (it recurses per level)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep; a config needs a handful",
                               self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check(root: yaml.Node) -> None:
    """Refuse duplicate keys, and a document that expands (aliases included) beyond the bounds."""
    count = 0
    stack: list[tuple[yaml.Node, tuple, int]] = [(root, (), 1)]
    while stack:  # iterative: an alias reached twice is walked twice, as a consumer would
        node, path, depth = stack.pop()
        count += 1
        line = node.start_mark.line + 1
        if count > MAX_NODES:
            raise _Refused(f"expands to more than {MAX_NODES:,} values once its aliases (*name) are filled in "
                           "(an alias bomb?); write the values out or use fewer aliases", line)
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep once its aliases (*name) are filled in "
                           "(a recursive alias?)", line)
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    here = key.start_mark.line + 1
                    if key.value in seen:
                        dotted = ".".join(str(p) for p in (*path, key.value))
                        raise _Refused(f"duplicate key {dotted!r} (first on line {seen[key.value]}, again on line "
                                       f"{here}); YAML would silently keep only the last one, so remove one", here)
                    seen[key.value] = here
                stack.append((value, (*path, key.value), depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, i), depth + 1) for i, item in enumerate(node.value))


def line_index(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path of a (checked) YAML document to its 1-based line."""
    out = {} if out is None else out
    if node is None:
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value if isinstance(key, yaml.ScalarNode) else f"<{key.tag}>",)
            out[sub] = key.start_mark.line + 1
            line_index(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            line_index(item, path + (i,), out)
    return out


def load_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """The document of a YAML file and the line of every key path; ``ConfigError`` on anything refused."""
    raw = read_input(path, what="config file", max_bytes=MAX_BYTES,
                     fix="pass the path of a YAML file such as configs/quickstart.yaml")
    text = decode_utf8(raw, str(path))
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check(node)
        data = loader.construct_document(node)
    except _Refused as e:
        raise ConfigError(f"{path}:{e.line}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML ({problem}); check indentation and quoting") from None
    finally:
        loader.dispose()
    return data, line_index(node)

"""Read a YAML config strictly and validate it: one line naming file and line for each problem.

``load_config(path)`` reads, ``parse_config(data)`` validates (errors name the
dotted field and the YAML line), ``apply_overrides`` puts CLI flags over the
YAML (precedence: CLI flag > YAML > default; ``UNSET`` restores a default).

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
from pydantic import ValidationError

from ..errors import ConfigError
from ..inputs import read_input
from ..validation import describe, key_path
from .run import Config

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


# --------------------------------------------------------------------------- a config from YAML


#: a secret's shape: the value of api_key_env is never echoed when it looks like one
_KEY_PREFIXES = ("sk-", "sk_", "pk-", "hf_", "gsk_", "xai-", "ghp_", "gho_", "github_pat_", "AIza", "r8_", "pplx-", "nvapi-")


def _looks_like_a_key(value: str) -> bool:
    """Not a shell variable name, a known key prefix, or long mixed-case-and-digits without an underscore."""
    if not value.isascii() or not (value[:1].isalpha() or value[:1] == "_") or not value.replace("_", "").isalnum():
        return True
    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
    return value.startswith(_KEY_PREFIXES) or (len(value) >= 20 and mixed and "_" not in value)


def _key_env_paths(config: Config) -> list[tuple[tuple, str]]:
    out = []
    for where, m in [(("oracle",), config.oracle), *((("proxies", i), p) for i, p in enumerate(config.proxies))]:
        if m.api_key_env:
            out.append(((*where, "api_key_env"), m.api_key_env))
        for j, d in enumerate(getattr(m, "deployments", None) or []):
            if d.api_key_env:
                out.append(((*where, "deployments", j, "api_key_env"), d.api_key_env))
    return out


def _line_of(loc: tuple, lines: dict[tuple, int]) -> int | None:
    loc = key_path(loc)
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def parse_config(data: Any, *, source: str = "<config>", lines: dict[tuple, int] | None = None) -> Config:
    """Validate a loaded YAML document; errors name field and line."""
    if data is None:
        raise ConfigError(f"{source}: the config is empty; start from configs/quickstart.yaml")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping (key: value), got {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        path, message = describe(errors)
        line = _line_of(path, lines or {})
        where = f"{source}:{line}" if line else source
        others = sum(key_path(tuple(err["loc"])) != path for err in errors)
        more = f" (and {others} more)" if others else ""
        raise ConfigError(f"{message} ({where}){more}") from None
    for loc, value in _key_env_paths(config):
        if _looks_like_a_key(value):
            line = _line_of(loc, lines or {})
            raise ConfigError(
                f"{'.'.join(map(str, loc))}: this looks like an API key, not the NAME of an environment variable "
                "(the value is not shown); put the key in a variable (export OPENAI_API_KEY=...) and write its name, "
                f"e.g. api_key_env: OPENAI_API_KEY; if it is a real key, treat it as exposed "
                f"({f'{source}:{line}' if line else source})")
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file (UTF-8, no duplicate keys, bounded size: ``load_yaml``)."""
    path = Path(path)
    data, lines = load_yaml(path)
    return parse_config(data, source=str(path), lines=lines)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: an ``apply_overrides`` value that removes a field, so that its default applies
UNSET: Any = _Unset()


def apply_overrides(config: Config, **overrides: Any) -> Config:
    """CLI flag > YAML: return a copy with the given dotted keys replaced (None = keep, ``UNSET`` = the default)."""
    data = config.model_dump()
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        if value is UNSET:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return parse_config(data, source="command-line options")

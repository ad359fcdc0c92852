"""pydantic's validation errors in words a user can act on: the dotted key, what is allowed, what was given.

pydantic says "Input should be a valid dictionary or instance of FewShot" and,
for a field that takes one of several kinds (``clean.remove``: ``negative`` or
a number), reports one error per kind under paths such as
``clean.remove.literal['negative']``. ``describe`` folds those into one line:

    clean.remove: must be 'negative' or a whole number greater than 0, got 'all'
"""

from __future__ import annotations

import re
from typing import Any

#: the parts of an error's location pydantic adds for a member of a union, not keys of the config
_MEMBER = re.compile(r"^(function-|literal\[|constrained-|nullable\[|list\[|dict\[|tagged-union\[|json-or-python\[)"
                     r"|^(str|int|float|bool|none|dict|list)$")
#: fields whose value may be a secret given by mistake: never echoed
SECRET_FIELDS = {"api_key_env"}

_KINDS = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false",
          "list": "a list ([a, b] or one '- item' per line)", "dict": "a mapping (key: value)"}
_TYPE_ERRORS = {
    "int_parsing": "int", "int_type": "int", "int_from_float": "int", "float_parsing": "float",
    "float_type": "float", "string_type": "str", "bool_parsing": "bool", "bool_type": "bool",
    "list_type": "list", "dict_type": "dict", "model_type": "dict", "model_attributes_type": "dict",
}
_BOUNDS = {"greater_than": ("gt", "greater than"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}


def key_path(loc: tuple) -> tuple:
    """The config keys of an error location, without pydantic's union-member parts."""
    return tuple(p for p in loc if not (isinstance(p, str) and _MEMBER.match(p)))


def _member_kind(loc: tuple) -> str | None:
    """'int' for a location that ends in an int member of a union (``constrained-int``), and so on."""
    last = loc[-1] if loc else None
    if isinstance(last, str) and _MEMBER.match(last):
        base = last.removeprefix("constrained-")
        return base if base in _KINDS else None
    return None


def _number(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def allowed(err: dict) -> str | None:
    """What the value must be, in words ("'lime' or 'kernel_shap'", "a whole number at least 1"); None: no rule
    to state (the error's own message says it)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "literal_error":
        return ctx.get("expected")
    if kind == "model_type" and ctx.get("class_name") == "ModelConfig":
        return "a model name (e.g. local/vader) or a mapping with 'model:'"
    if kind in _TYPE_ERRORS:
        return _KINDS[_TYPE_ERRORS[kind]]
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        what = _KINDS.get(_member_kind(err["loc"]) or "", "")
        return f"{what} {words} {_number(ctx.get(key))}".strip()
    if kind in ("too_short", "string_too_short"):
        n, unit = ctx.get("min_length"), "items" if kind == "too_short" else "characters"
        return "non-empty" if n == 1 else f"at least {n} {unit} long"
    if kind in ("too_long", "string_too_long"):
        return f"at most {ctx.get('max_length')} {'items' if kind == 'too_long' else 'characters'} long"
    return None


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:60] + "..." + shown[-10:]


def describe(errors: list[dict]) -> tuple[tuple, str]:
    """The key path of the first error and one line about it (its union siblings folded in)."""
    first = errors[0]
    path = key_path(tuple(first["loc"]))
    loc = ".".join(map(str, path)) or "(top level)"
    if first["type"] == "extra_forbidden":
        return path, f"{loc}: unknown key; check its spelling (see configs/quickstart.yaml for every key)"
    if first["type"] == "missing":
        return path, f"{loc}: required key is missing"
    siblings = [e for e in errors
                if key_path(tuple(e["loc"])) == path and e["type"] not in ("missing", "extra_forbidden")]
    rules = [allowed(e) for e in siblings]
    if all(rules):
        msg = "must be " + " or ".join(dict.fromkeys(rules))
    else:  # our own validators' messages say what to do
        msg = next(e["msg"] for e, r in zip(siblings, rules) if not r).removeprefix("Value error, ")
    if SECRET_FIELDS & {str(p) for p in path}:  # it may be a key given by mistake: never print it
        return path, f"{loc}: {msg} (the value is not shown: it may be a secret)"
    got = first.get("input")
    if isinstance(got, (dict, list)):
        return path, f"{loc}: {msg}"
    return path, f"{loc}: {msg}, got " + ("an empty value" if got is None else _shown(got))

"""Read the generated answers of a ``task.type: generate`` report into the few values the views show.

The one place that knows the field names of ``GeneratedInstance``,
``GenLevel`` and ``GenerationInfo`` (``proxyx.results.generate``); the
terminal (``generated_text``) and HTML (``generated_html``) views never index
a dict. Every field is read defensively: an older report without
``explained_by`` or ``gate``, or a failed question without levels, still shows.

Which refined unit holds which finer unit comes from the units' words alone:
every level splits the same words (documents' words, whitespace normalised)
in the same order, so a unit's words are the running count of the words of
the units before it (``proxyx.perturb.ContextSegments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .tables import usd


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, Mapping):
            return None
        d = d.get(k)
    return d


def _float(x: Any) -> float | None:
    try:
        return None if x is None or isinstance(x, bool) else float(x)
    except (TypeError, ValueError):
        return None


def _int(x: Any) -> int | None:
    f = _float(x)
    return None if f is None else int(f)


def _list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else []


@dataclass(frozen=True)
class Level:
    """One level of an explanation: its units, their values (None: not explained here), what it cost."""

    unit: str  # document | sentence | word
    units: tuple[str, ...]
    values: tuple[float | None, ...]
    selected: tuple[int, ...]  # refined at the next level
    calls: int | None  # nominal calls, every model (cache hits included)
    paid: int | None  # of which paid this run
    oracle_calls: int | None  # nominal oracle calls, when the report tells them apart
    usd: float | None  # nominal
    seconds: float | None
    samples: int | None
    exact: bool | None
    estimator: str | None  # the proxy-informed estimator and its calls, in words

    @property
    def explained(self) -> list[int]:
        return [i for i, v in enumerate(self.values) if v is not None]

    @property
    def scale(self) -> float:
        """The largest |value| of the level (1 when none): colour intensity is |value| / scale."""
        return max((abs(v) for v in self.values if v is not None), default=0.0) or 1.0

    def strongest(self, k: int) -> tuple[list[int], list[int]]:
        """The ``k`` explained units raising the answer's value most, and the ``k`` lowering it most
        (values under 5% of the largest left out)."""
        keep = [i for i in self.explained if abs(self.values[i]) >= 0.05 * self.scale]
        up = sorted((i for i in keep if self.values[i] > 0), key=lambda i: -self.values[i])[:k]
        down = sorted((i for i in keep if self.values[i] < 0), key=lambda i: self.values[i])[:k]
        return up, down

    @property
    def ranges(self) -> list[tuple[int, int]]:
        """The words [start, end) of each unit."""
        return word_ranges(self.units)


@dataclass(frozen=True)
class Gate:
    """A proxy's answer to the question against the oracle's."""

    proxy: str
    answer: str | None
    agreement: float | None
    agrees: bool | None


@dataclass(frozen=True)
class GenInstance:
    id: str
    question: str
    answer: str  # the oracle's: what every level explains
    documents: tuple[str, ...]
    gold_document: int | None
    levels: tuple[Level, ...]
    explained_by: str | None  # whose answers made the explanation (absent in older reports)
    gate: tuple[Gate, ...]
    prompt_tokens: int | None
    seconds: float | None
    usd: float | None  # nominal, everything the question cost
    reuse: str | None  # answer_match with reuse: decodes run and saved, in words
    error: str | None

    @property
    def status(self) -> str:
        return "failed" if self.error else "ok"

    def facts(self) -> list[str]:
        """Prompt tokens, seconds, cost and reuse, in words (what is known of them)."""
        bits = [f"{self.prompt_tokens} prompt tokens"] if self.prompt_tokens is not None else []
        if self.seconds is not None:
            bits.append(f"{self.seconds:.1f} s")
        if self.usd is not None:
            bits.append(f"cost {usd(self.usd)} (nominal)")
        if self.reuse:
            bits.append(self.reuse)
        return bits


@dataclass(frozen=True)
class GenInfo:
    """What the values mean and how the budget was split (``GenerationInfo``)."""

    oracle: str | None
    value: str | None
    match: str | None
    reuse: bool | None
    scoring: bool | None
    method: str | None
    levels: tuple[str, ...]
    rule: str | None
    max_tokens: int | None
    mean_calls: dict[str, float]
    mean_seconds: dict[str, float]
    decodes: int | None
    decodes_saved: int | None
    proxy: str | None = None  # substituting (after the gate) or sharpening (an estimator)
    gate: str | None = None  # the gate's rule, with a substituting proxy


def _estimator(e: Any) -> str | None:
    if not isinstance(e, Mapping):
        return None
    calls = [f"{e['oracle_calls']} oracle" if e.get("oracle_calls") is not None else "",
             f"{e['proxy_calls']} proxy" if e.get("proxy_calls") is not None else ""]
    calls = [c for c in calls if c]
    return f"{e.get('name') or 'estimator'}" + (f" ({' + '.join(calls)} calls)" if calls else "")


def read_level(d: Mapping) -> Level:
    units = tuple(str(u) for u in _list(d.get("units")))
    values = [_float(v) for v in _list(d.get("values"))]
    values = (values + [None] * len(units))[: len(units)]  # a damaged level shows its units, unexplained
    n = len(units)
    return Level(unit=str(d.get("unit") or "?"), units=units, values=tuple(values),
                 selected=tuple(i for i in (_int(s) for s in _list(d.get("selected"))) if i is not None and 0 <= i < n),
                 calls=_int(_get(d, "cost", "nominal", "calls")), paid=_int(_get(d, "cost", "paid", "calls")),
                oracle_calls=_int(d.get("oracle_calls")),
                 usd=_float(_get(d, "cost", "nominal", "usd")), seconds=_float(d.get("seconds")),
                 samples=_int(d.get("samples")), exact=d.get("exact") if isinstance(d.get("exact"), bool) else None,
                 estimator=_estimator(d.get("estimator")))


def read_gate(d: Any) -> Gate | None:
    if not isinstance(d, Mapping):
        return None
    agrees = d.get("agrees")
    return Gate(proxy=str(d.get("proxy") or "?"), answer=None if d.get("answer") is None else str(d["answer"]),
                agreement=_float(d.get("agreement")), agrees=agrees if isinstance(agrees, bool) else None)


def read_instance(d: Mapping) -> GenInstance:
    reuse = d.get("reuse")
    reuse_text = None
    if isinstance(reuse, Mapping) and reuse.get("decodes") is not None:
        reuse_text = (f"{reuse.get('decodes')} decodes, {reuse.get('saved', 0)} saved by reuse "
                      f"({reuse.get('checks', 0)} teacher-forced checks)")
    gold = _int(d.get("gold_document"))
    explained_by = d.get("explained_by")
    return GenInstance(
        id=str(d.get("id")), question=str(d.get("question") or ""), answer=str(d.get("answer") or ""),
        documents=tuple(str(x) for x in _list(d.get("documents"))), gold_document=gold,
        levels=tuple(read_level(lv) for lv in _list(d.get("levels")) if isinstance(lv, Mapping)),
        explained_by=str(explained_by) if explained_by else None,
        gate=tuple(g for g in (read_gate(x) for x in _list(d.get("gate"))) if g is not None),
        prompt_tokens=_int(d.get("prompt_tokens")), seconds=_float(d.get("seconds")),
        usd=_float(_get(d, "cost", "nominal", "usd")), reuse=reuse_text, error=d.get("error") or None)


def read_info(d: Any) -> GenInfo | None:
    if not isinstance(d, Mapping):
        return None

    def numbers(x: Any) -> dict[str, float]:
        return {str(k): f for k, v in x.items() if (f := _float(v)) is not None} if isinstance(x, Mapping) else {}

    return GenInfo(oracle=d.get("oracle"), value=d.get("value"), match=d.get("match"), reuse=d.get("reuse"),
                   scoring=d.get("scoring"), method=d.get("method"),
                   levels=tuple(str(x) for x in _list(d.get("levels"))), rule=d.get("rule"),
                   max_tokens=_int(d.get("max_tokens")), mean_calls=numbers(d.get("mean_calls_by_level")),
                   mean_seconds=numbers(d.get("mean_seconds_by_level")), decodes=_int(d.get("decodes")),
                   decodes_saved=_int(d.get("decodes_saved")), proxy=d.get("proxy") or None,
                   gate=d.get("gate") or None)


def read_generated(doc: Mapping) -> tuple[GenInfo | None, list[GenInstance]]:
    """The ``generation`` block and the ``generated`` questions of an explain report (empty for classifiers)."""
    return read_info(doc.get("generation")), [read_instance(g) for g in _list(doc.get("generated"))
                                              if isinstance(g, Mapping)]


# ------------------------------------------------------------------ which units to show, grouped


@dataclass(frozen=True)
class Group:
    """Consecutive units of one level shown together, under a label (a document, or a refined unit above)."""

    label: str
    units: tuple[int, ...]
    note: str = ""  # e.g. "gold document", "refined"


def _inside(ranges: list[tuple[int, int]], a: int, b: int) -> list[int]:
    return [i for i, (s, e) in enumerate(ranges) if a <= s and e <= b and e > s]


def doc_label(j: int) -> str:
    return f"d{j + 1}"


def _parent_label(x: GenInstance, parent: Level, p: int) -> str:
    if parent.unit == "document":
        return doc_label(p)
    owner = _owner(x, parent, p)
    return f"{parent.unit} {p + 1}" + (f" of {doc_label(owner)}" if owner is not None else "")


def word_ranges(texts) -> list[tuple[int, int]]:
    """The words [start, end) of each text, the texts' words numbered in order."""
    out, n = [], 0
    for t in texts:
        w = len(t.split())
        out.append((n, n + w))
        n += w
    return out


def _doc_ranges(x: GenInstance) -> list[tuple[int, int]]:
    return word_ranges(x.documents)


def _owner(x: GenInstance, level: Level, i: int) -> int | None:
    s, e = level.ranges[i]
    return next((j for j, (a, b) in enumerate(_doc_ranges(x)) if a <= s and e <= b), None)


def groups(x: GenInstance, k: int) -> list[Group]:
    """What level ``k`` shows: at the first level every unit, by document; below, the units inside each unit
    refined at the level above (units of the level outside them were held as in the full input: not shown)."""
    level = x.levels[k]
    ranges = level.ranges
    words = ranges[-1][1] if ranges else 0
    if k == 0:
        docs = _doc_ranges(x)
        if docs and docs[-1][1] == words:
            out = []
            for j, (a, b) in enumerate(docs):
                notes = ["gold document"] * (j == x.gold_document)
                if level.unit == "document" and j in level.selected and len(x.levels) > 1:
                    notes.append("refined")
                out.append(Group(doc_label(j), tuple(_inside(ranges, a, b)), ", ".join(notes)))
            return [g for g in out if g.units]
        return [Group("context", tuple(range(len(level.units))))]
    parent = x.levels[k - 1]
    pr = parent.ranges
    if pr and pr[-1][1] == words:
        return [Group(_parent_label(x, parent, p), tuple(_inside(ranges, *pr[p])),
                      "gold document" if parent.unit == "document" and p == x.gold_document else "")
                for p in parent.selected]
    # the levels do not split the same words (a damaged report): the explained units, in order
    return [Group("explained", tuple(level.explained))] if level.explained else []

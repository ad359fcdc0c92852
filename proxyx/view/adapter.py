"""Read a report into the few typed values the views show.

The one place that knows the field names of explain and bench reports
(docs/report-schema.md): a renamed field is fixed here, and the terminal and
HTML views never index a dict. Current documents are validated through the
typed models of ``proxyx.results`` first; reports written before them
(``proxyx.report/1``, ``proxyx.bench/1``: flat cost tallies) are read as
they are, so older runs and docs/headline still show.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import DataError
from ..inputs import read_input
from ..results import BaselineSummary, BenchReport, ExplainReport
from .generated import GenInfo, GenInstance, read_generated
from .style import Z90

LEGACY_EXPLAIN, LEGACY_BENCH = "proxyx.report/1", "proxyx.bench/1"
PLOT_NAME = "fidelity_vs_cost.png"  # written next to bench.json by 'proxyx bench'


@dataclass(frozen=True)
class Explanation:
    """One attribution vector over an instance's units, and who computed it."""

    model: str
    role: str  # "proxy", "oracle", "estimator" or "baseline" (the oracle alone at the estimator's n)
    values: tuple[float, ...]
    caption: str = ""  # how a view titles it; default "ROLE explanation"
    errors: tuple[float | None, ...] | None = None  # standard error per unit (None: not in the report; a unit's
    # None: not estimable, the oracle's answers show no residual)

    @property
    def title(self) -> str:
        return self.caption or f"{self.role} explanation"

    @property
    def scale(self) -> float:
        """The largest |value| (1 when all are 0): colour intensity is |value| / scale."""
        return max((abs(v) for v in self.values), default=0.0) or 1.0

    def uncertain(self, i: int) -> bool:
        """Whether unit ``i``'s 90% interval crosses zero, or its error is not estimable (never without errors)."""
        return self.errors is not None and (not self.estimable(i) or abs(self.values[i]) < Z90 * self.errors[i])

    def estimable(self, i: int) -> bool:
        """Whether unit ``i`` has a standard error (True without errors: nothing claimed)."""
        return self.errors is None or self.errors[i] is not None

    def strongest(self, k: int) -> tuple[list[int], list[int]]:
        """Indices of the ``k`` units pushing most towards the label and the ``k`` most against it
        (values under 5% of the largest are noise and left out)."""
        v = self.values
        keep = [i for i in range(len(v)) if abs(v[i]) >= 0.05 * self.scale]
        towards = sorted((i for i in keep if v[i] > 0), key=lambda i: -v[i])[:k]
        against = sorted((i for i in keep if v[i] < 0), key=lambda i: v[i])[:k]
        return towards, against


@dataclass(frozen=True)
class InstanceView:
    id: str
    text: str
    units: tuple[str, ...]
    status: str
    error: str | None
    label: str | None  # the oracle's label: the one every attribution explains
    prob: float | None  # the oracle's probability of it
    gold: str | None
    explained_by: str | None
    role: str | None
    explanation: Explanation | None  # what the pipeline used
    oracle_explanation: Explanation | None  # the oracle's own, when fidelity ran and a proxy explained
    fidelity: float | None
    q_proxy: float | None  # AOPC on the oracle
    q_oracle: float | None
    spearman: float | None
    usd: float | None  # this instance's cost with proxies (nominal)
    all_oracle_usd: float | None  # the same instance explained by the oracle alone
    baseline_explanation: Explanation | None = None  # estimators: the oracle alone at the same n calls
    baseline_samples: int | None = None
    q_estimate: float | None = None  # estimators: AOPC on the oracle, with the proxy and the oracle alone at n
    q_baseline: float | None = None
    adaptive: str | None = None  # oracle_samples: auto: the oracle calls used and why the rounds stopped

    @property
    def explanations(self) -> list[Explanation]:
        return [e for e in (self.explanation, self.baseline_explanation, self.oracle_explanation) if e is not None]


@dataclass(frozen=True)
class ModelCost:
    model: str
    role: str
    calls: int  # nominal: cache hits included
    usd: float
    evaluation_usd: float  # of which fidelity scoring (outside the CRR)


@dataclass(frozen=True)
class BenchCell:
    proxy: str
    method: str
    samples: int
    decision: str | None
    gate_agreement: float | None
    fidelity: float | None  # screen-and-apply
    cost_share: float | None
    proxy_only_fidelity: float | None
    proxy_only_cost_share: float | None


@dataclass(frozen=True)
class ReportView:
    kind: str  # "explain" or "bench"
    source: Path | None
    created: str | None
    status: str | None
    oracle: str | None
    method: str | None
    samples: int | None
    instances: list[InstanceView] = field(default_factory=list)
    explained_by: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    crr_usd: float | None = None
    usd_with_proxies: float | None = None
    usd_all_oracle: float | None = None
    all_oracle_estimated: bool = False
    mean_fidelity: float | None = None
    fidelity_ci95: tuple[float, float] | None = None
    fidelity_n: int = 0
    fidelity_undefined: int = 0
    mean_spearman: float | None = None
    costs: list[ModelCost] = field(default_factory=list)
    headlines: list[str] = field(default_factory=list)  # bench: one sentence per method
    cells: list[BenchCell] = field(default_factory=list)
    plot_png: bytes | None = None
    baseline: BaselineSummary | None = None  # estimators: with the proxy vs the oracle alone at the same n
    generation: GenInfo | None = None  # task.type: generate (then instances is empty and generated holds the questions)
    generated: list[GenInstance] = field(default_factory=list)


def _get(d: Mapping | None, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, Mapping):
            return None
        d = d.get(k)
    return d


def _floats(values: Any) -> tuple[float | None, ...] | None:
    return None if values is None else tuple(None if v is None else float(v) for v in values)


def _usd(cost: Mapping | None) -> float | None:
    """Nominal dollars of a cost: ``{paid, nominal: {usd}}`` now, a flat ``{usd}`` tally in /1 reports."""
    if not isinstance(cost, Mapping):
        return None
    return _get(cost, "nominal", "usd") if "nominal" in cost else cost.get("usd")


def _instance(e: Mapping, oracle_name: str | None) -> InstanceView:
    units = tuple(e.get("units") or ())
    label = _get(e, "oracle", "label")
    explained_by, role = e.get("explained_by"), e.get("role")
    main = oracle = None
    values = _floats(e.get("attribution"))
    if values is not None:
        main = Explanation(explained_by or "?", role or "?", values, errors=_floats(e.get("standard_errors")))
    a = e.get("adaptive")
    if (role in ("proxy", "estimator") or a) and e.get("oracle_attribution") is not None:
        oracle = Explanation(oracle_name or "oracle", "oracle", _floats(e["oracle_attribution"]),
                             "oracle explanation at the full budget" if a else
                             f"oracle explanation at {e.get('samples')} samples" if role == "estimator" else "",
                             errors=_floats(e.get("oracle_standard_errors")))
    b = e.get("baseline")
    alone = None if b is None else Explanation(oracle_name or "oracle", "baseline", _floats(b["attribution"]),
                                               f"oracle alone at the same n = {b['samples']} calls",
                                               errors=_floats(b.get("standard_errors")))
    for x in (main, oracle, alone):
        if x is not None and (len(x.values) != len(units) or len(x.errors or units) != len(units)):
            what = "attributions" if len(x.values) != len(units) else "standard errors"
            count = len(x.values) if what == "attributions" else len(x.errors)
            raise DataError(f"instance {e.get('id')!r}: {count} {what} for {len(units)} units; "
                            "the report is damaged, write it again with 'proxyx explain'")
    fid = e.get("fidelity")
    return InstanceView(
        id=str(e.get("id")), text=e.get("text") or "", units=units, status=e.get("status") or "ok",
        error=e.get("error"), label=label, prob=_get(e, "oracle", "probs", label) if label else None,
        gold=e.get("gold_label"), explained_by=explained_by, role=role, explanation=main, oracle_explanation=oracle,
        fidelity=_get(fid, "fidelity"), q_proxy=_get(fid, "q_proxy", "aopc"), q_oracle=_get(fid, "q_oracle", "aopc"),
        spearman=_get(fid, "agreement", "spearman"), usd=_usd(_get(e, "cost", "with_proxy")),
        all_oracle_usd=_usd(_get(e, "cost", "all_oracle")), baseline_explanation=alone,
        baseline_samples=_get(b, "samples"), q_estimate=_get(b, "q_estimate", "aopc"),
        q_baseline=_get(b, "q_baseline", "aopc"),
        adaptive=a and f"{a['oracle_calls']} oracle calls (n = {a['oracle_samples']}; stopped at the {a['stopped']})")


def _costs(ledger: list[Mapping]) -> list[ModelCost]:
    acc: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for r in ledger:
        row = acc[(r["model"], r["role"])]
        if "cost" in r:
            calls, usd = _get(r, "cost", "nominal", "calls") or 0, _usd(r["cost"]) or 0.0
        else:  # a /1 ledger row
            calls, usd = r.get("nominal_calls", 0), r.get("nominal_usd", 0.0)
        row[0] += calls
        row[1] += usd
        if r.get("purpose") == "evaluate":
            row[2] += usd
    rows = [ModelCost(m, role, int(c), u, ev) for (m, role), (c, u, ev) in acc.items()]
    return sorted(rows, key=lambda r: (r.role != "oracle", -r.usd, r.model))


def _oracle(doc: Mapping) -> str | None:
    for r in doc.get("ledger") or ():
        if r.get("role") == "oracle":
            return r["model"]
    o = _get(doc, "config", "oracle")
    return (o.get("alias") or o.get("model")) if isinstance(o, Mapping) else o


def _explain_view(doc: Mapping, source: Path | None) -> ReportView:
    oracle = _oracle(doc)
    instances = [_instance(e, oracle) for e in doc.get("instances") or ()]
    fid, crr = doc.get("fidelity") or {}, doc.get("crr") or {}
    ci = fid.get("ci95")
    generation, generated = read_generated(doc)
    return ReportView(
        kind="explain", source=source, created=doc.get("created"), status=doc.get("status"), oracle=oracle,
        method=_get(doc, "config", "explainer", "method"), samples=_get(doc, "config", "explainer", "samples"),
        instances=instances, explained_by=dict(_get(doc, "summary", "explained_by") or {}),
        failed=_get(doc, "summary", "failed") or 0, crr_usd=crr.get("usd"),
        usd_with_proxies=_get(crr, "with_proxies", "usd"), usd_all_oracle=_get(crr, "all_oracle", "usd"),
        all_oracle_estimated=bool(crr.get("estimated", _get(crr, "all_oracle", "estimated"))),
        mean_fidelity=fid.get("mean_fidelity"),
        fidelity_ci95=tuple(ci) if ci and None not in ci else None, fidelity_n=fid.get("n") or 0,
        fidelity_undefined=fid.get("undefined") or 0, mean_spearman=fid.get("mean_spearman"),
        costs=_costs(doc.get("ledger") or []), generation=generation, generated=generated,
        baseline=BaselineSummary.model_validate(doc["baseline"]) if doc.get("baseline") else None)


def _cell(c: Mapping) -> BenchCell:
    return BenchCell(
        proxy=c["proxy"], method=c["method"], samples=c["samples"], decision=_get(c, "screen", "decision"),
        gate_agreement=c.get("gate_agreement"), fidelity=_get(c, "pipeline", "fidelity", "mean_fidelity"),
        cost_share=_get(c, "pipeline", "cost_share_usd"),
        proxy_only_fidelity=_get(c, "proxy_only", "fidelity", "mean_fidelity"),
        proxy_only_cost_share=_get(c, "proxy_only", "cost_share_usd"))


def _bench_view(doc: Mapping, source: Path | None, typed: Any = None) -> ReportView:
    png = source.with_name(PLOT_NAME) if source else None
    plot = png.read_bytes() if png and png.is_file() else None
    if plot is None and typed is not None and doc.get("cells"):
        plot = _render_plot(typed)
    ledger = _get(doc, "run", "ledger") or []
    return ReportView(
        kind="bench", source=source, created=doc.get("created"), status=doc.get("status"), oracle=doc.get("oracle"),
        method=None, samples=None, costs=_costs(ledger), plot_png=plot,
        headlines=[h["text"] for h in doc.get("headline") or () if h.get("text")]
                  + list((doc.get("frontier") or {}).get("headline") or ()),
        cells=[_cell(c) for c in doc.get("cells") or ()])


def _render_plot(bench_report: Any) -> bytes | None:
    """The bench plot when bench.json travelled without its PNG (matplotlib, through a temp file)."""
    import tempfile

    from ..bench.plot import plot_fidelity_vs_cost

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(plot_fidelity_vs_cost(bench_report, Path(tmp) / PLOT_NAME))
        return path.read_bytes() if path.is_file() else None


def read_report(report: "ReportView | Mapping | str | Path") -> ReportView:
    """A report view from a file path, a report dict or document, or a view (returned as is)."""
    if isinstance(report, ReportView):
        return report
    source = None
    if isinstance(report, (str, Path)):
        source = Path(report)
        raw = read_input(source, what="report", error=DataError,
                         fix="write one with 'proxyx explain CONFIG' or 'proxyx bench CONFIG'")
        try:
            report = json.loads(raw.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise DataError(f"{source} is not JSON; pass a report written by 'proxyx explain' or 'proxyx bench'") from None
    elif isinstance(report, ExplainReport):  # a typed document: already validated
        return _explain_view(report.to_dict(), None)
    elif isinstance(report, BenchReport):
        return _bench_view(report.to_dict(), None, report)
    if not isinstance(report, Mapping):
        raise DataError(f"{source or 'the report'} is not a JSON object; pass a report written by 'proxyx explain'")
    schema = report.get("schema")
    name = str(source or "the report")
    if schema == LEGACY_EXPLAIN:
        return _explain_view(report, source)
    if schema == LEGACY_BENCH:
        return _bench_view(report, source)
    if schema == ExplainReport.SCHEMA:
        return _explain_view(ExplainReport.from_dict(dict(report), source=name).to_dict(), source)
    if schema == BenchReport.SCHEMA:
        typed = BenchReport.from_dict(dict(report), source=name)
        return _bench_view(typed.to_dict(), source, typed)
    known = [ExplainReport.SCHEMA, BenchReport.SCHEMA, LEGACY_EXPLAIN, LEGACY_BENCH]
    raise DataError(f"{name} has schema {schema!r}; 'proxyx show' reads the reports of 'proxyx explain' and "
                    f"'proxyx bench' ({', '.join(known)})")


def select(view: ReportView, *, ids: list[str] | None = None, limit: int | None = None) -> ReportView:
    """The same view with only the instances (or generated questions) named by ``ids`` (in that order), then
    the first ``limit``."""
    if view.generation is not None or view.generated:
        return replace(view, generated=_chosen(view.generated, ids, limit))
    return replace(view, instances=_chosen(view.instances, ids, limit))


def _chosen(items: list, ids: list[str] | None, limit: int | None) -> list:
    chosen = items
    if ids:
        by_id = {x.id: x for x in items}
        missing = [i for i in ids if i not in by_id]
        if missing:
            known = ", ".join(list(by_id)[:5]) + (", ..." if len(by_id) > 5 else "")
            raise DataError(f"--id {missing[0]!r} is not in the report; its instance ids are {known or 'none'}")
        chosen = [by_id[i] for i in ids]
    if limit is not None:
        chosen = chosen[:limit]
    return chosen

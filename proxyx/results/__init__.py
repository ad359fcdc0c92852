"""Typed results: what proxyx runs produce, as pydantic models that save and load themselves.

    report = run_explain(load_config("configs/quickstart.yaml"))   # an ExplainReport
    report.save("runs/report.json")
    ExplainReport.load("runs/report.json")

Three documents: ``ExplainReport`` (``proxyx explain``), ``ScreenResult``
(``proxyx screen``) and ``BenchReport`` (``proxyx bench``). Their JSON Schema
is generated from these models (``json_schema``; ``scripts/gen_report_schema.py``
writes it into docs/report-schema.md, and a test checks that the two agree).

    core       Spend, Cost (integer nano-dollars: see its docstring), Document
    instance   InstanceResult and its parts; FidelitySummary, BaselineSummary, CRR
    screen     ScreenResult, ProxyScreen, ScreenValidity
    reports    ExplainReport, BenchReport and its cells
    generate   GenerationInfo, GeneratedInstance, GenLevel (task.type: generate)
"""

from __future__ import annotations

import json

from pydantic.json_schema import models_json_schema

from .core import NANO, Cost, Document, LedgerRow, ResultModel, Spend, nano, total
from .instance import (CRR, AdaptiveInfo, AdaptiveSummary, Agreement, Baseline, BaselineSummary, Comparison, EstimatorInfo, FidelitySummary, GateCheck, InstanceCost,
                       InstanceResult, OracleLabel, Paired, QualityScores, Ratios)
from .reports import (BenchCell, BenchReport, BestProxy, CellCost, CellRef, CellScreen, ExplainReport, ExplainSummary,
                      Headline, InstanceDetail, Reference, ReferenceCost, RunInfo, SpendSplit, Throughput, View)
from .frontier import Estimate, Frontier, FrontierCell, FrontierPoint, FrontierSummary, Route, Target
from .screen import GenScreenInstance, GenScreenLevel, ProxyScreen, ScreenInstance, ScreenResult, ScreenStats, ScreenValidity
from .generate import GenGateCheck, GeneratedInstance, GenerationInfo, GenLevel, ReuseInfo
from .rerank import AnswerScore, Difference, QuestionResult, RerankReport, RerankRow, RerankScreen, RetrievalStats, Spread
from .influence import InfluenceBench, InfluenceLookup, Match, MethodScore, Published, SettingInfo

DOCUMENTS: tuple[type[Document], ...] = (ExplainReport, ScreenResult, BenchReport)


def json_schema() -> dict:
    """One JSON Schema for the three documents (as written), sharing their definitions."""
    _, schema = models_json_schema([(m, "serialization") for m in DOCUMENTS], title="proxyx documents")
    schema["anyOf"] = [{"$ref": f"#/$defs/{m.__name__}"} for m in DOCUMENTS]
    return schema


def schema_markdown() -> str:
    """The generated section of docs/report-schema.md: valid JSON, one definition a line."""
    schema = json_schema()
    defs = schema.pop("$defs")
    head = json.dumps(schema, ensure_ascii=False)[:-1]
    lines = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(defs.items())]
    return "```json\n" + head + ', "$defs": {\n' + ",\n".join(lines) + "\n}}\n```\n"


__all__ = [
    "CRR", "DOCUMENTS", "NANO", "AdaptiveInfo", "AdaptiveSummary", "Agreement", "Baseline", "BaselineSummary", "BenchCell", "BenchReport", "BestProxy", "CellCost", "CellRef", "CellScreen",
    "Comparison", "Cost", "Document", "Estimate", "EstimatorInfo", "ExplainReport", "ExplainSummary", "FidelitySummary", "Frontier", "FrontierCell", "FrontierPoint", "FrontierSummary", "GateCheck",
    "Headline", "InstanceCost", "InstanceDetail", "InstanceResult", "LedgerRow", "OracleLabel", "Paired", "ProxyScreen",
    "QualityScores", "Ratios", "Reference", "ReferenceCost", "ResultModel", "Route", "RunInfo", "ScreenInstance",
    "ScreenResult", "ScreenStats", "ScreenValidity", "Spend", "SpendSplit", "Target", "Throughput", "View", "json_schema", "nano",
    "schema_markdown", "total",
    "GenGateCheck", "GenLevel", "GenScreenInstance", "GenScreenLevel", "GeneratedInstance", "GenerationInfo", "ReuseInfo",
    "AnswerScore", "Difference", "QuestionResult", "RerankReport", "RerankRow", "RerankScreen", "RetrievalStats", "Spread",
    "InfluenceBench", "InfluenceLookup", "Match", "MethodScore", "Published", "SettingInfo",
]

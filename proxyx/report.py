"""Reports: the ``proxyx.report/2`` document of an explain run (``proxyx.results.ExplainReport``).

Documented in docs/report-schema.md. Reports hold the config (which names
API-key *variables*, never keys). Rendering lives in ``proxyx.view``.
"""

from __future__ import annotations

import platform
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata

from . import __version__
from .adaptive import adaptive_summary
from .baseline import baseline_summary
from .config import Config
from .costs import crr, fidelity_summary
from .results import ExplainReport, ExplainSummary, InstanceResult, LedgerRow, ScreenResult, Spend
from .session import split_note


def versions() -> dict[str, str]:
    out = {"proxyx": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scikit-learn", "shap", "litellm", "llama_cpp_python", "vaderSentiment"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def notes(config: Config) -> list[str]:
    """What a reader of the report must know about the run (how ``dataset.path`` was split)."""
    return [n for n in (split_note(config),) if n]


def created() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def explain_report(config: Config, instances: list[InstanceResult], *, screen: ScreenResult | None,
                   ledger: list[LedgerRow], status: str, stop_reason: str | None, wall_time_s: float,
                   flags: dict[str, dict[str, int]]) -> ExplainReport:
    """The explain document: summary, the estimator against its baseline, fidelity, CRR (screening cost included)
    and every instance."""
    done = [e for e in instances if e.status == "ok"]
    screen_cost = screen.cost.nominal if screen else None
    screen_oracle = screen.model_cost(config.oracle.name).nominal if screen else Spend()
    return ExplainReport(
        created=created(), status=status, stop_reason=stop_reason, seed=config.seed, versions=versions(),
        config=config.model_dump(mode="json"), notes=notes(config), screen=screen,
        summary=ExplainSummary(instances=len(instances), explained=len(done),
                               failed=sum(e.status == "failed" for e in instances),
                               explained_by=dict(Counter(e.explained_by for e in done)),
                               wall_time_s=wall_time_s, flags=flags, adaptive=adaptive_summary(done)),
        baseline=baseline_summary(done), fidelity=fidelity_summary(done), crr=crr(done, screen=screen_cost, screen_oracle=screen_oracle),
        ledger=ledger, instances=instances)

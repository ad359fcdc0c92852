"""proxyx: explain expensive LLMs cheaply with screened proxy models.

The public names are imported on first use, so ``import proxyx`` (and the
CLI's start-up) stays fast.
"""

import importlib
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

__version__ = "0.1.0"

_PUBLIC = {
    "Answer": "proxyx.models.base",
    "Attribution": "proxyx.explainers",
    "BenchReport": "proxyx.results",
    "BudgetExceeded": "proxyx.errors",
    "CallCache": "proxyx.cache",
    "CallFailed": "proxyx.errors",
    "Config": "proxyx.config",
    "ConfigError": "proxyx.errors",
    "Cost": "proxyx.results",
    "DataError": "proxyx.errors",
    "EXPLAINERS": "proxyx.explainers",
    "ExplainReport": "proxyx.results",
    "Instance": "proxyx.data",
    "InstanceResult": "proxyx.results",
    "Ledger": "proxyx.ledger",
    "Model": "proxyx.models.base",
    "ModelError": "proxyx.errors",
    "ProxyxError": "proxyx.errors",
    "ScreenResult": "proxyx.results",
    "Scorer": "proxyx.scorer",
    "Segments": "proxyx.perturb",
    "Spend": "proxyx.results",
    "build_model": "proxyx.models",
    "load_config": "proxyx.config",
    "make_explainer": "proxyx.explainers",
    "open_session": "proxyx.session",
    "run_bench": "proxyx.bench.run",
    "run_explain": "proxyx.pipeline",
    "run_screen": "proxyx.screen",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'proxyx' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)

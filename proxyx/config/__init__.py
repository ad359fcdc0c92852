"""YAML config -> validated, typed config objects: the public face of the config package.

    config = load_config("configs/quickstart.yaml")     # or parse_config(a dict)
    config = apply_overrides(config, **{"explainer.samples": 200})

Every block maps one-to-one onto constructor arguments. Unknown keys are
errors, and every error names the dotted field and the YAML line:

    explainer.samples: must be greater than 0, got -5 (configs/x.yaml:7)

Precedence is explicit: CLI flag > YAML > default (``apply_overrides``).
Where each part lives:

    load       strict YAML (UTF-8, no duplicate keys, bounded), line numbers, parse_config, load_config,
               apply_overrides (``UNSET`` restores a default)
    run        Config (the root and the rules across blocks), dataset, engine
    models     the model blocks (oracle, proxies: ModelConfig) and the classifier task (TaskConfig); Strict
    tasks      the task block: type generate (GenTask), a registered kind or python:module:Class (KindTask)
    explain    explainer (any registered explainer or python:module:Class), precision, screen, fidelity, bench
    apps       compress, clean, rerank, influence
"""

from __future__ import annotations

from .apps import CleanConfig, CompressConfig, DemonstrationsConfig, InfluenceConfig, PoisonConfig, RerankConfig
from .explain import MAX_SAMPLES, BenchConfig, ExplainerConfig, FidelityConfig, PrecisionConfig, ScreenConfig
from .load import UNSET, apply_overrides, load_config, parse_config
from .models import Deployment, FewShot, ModelConfig, Price, TaskConfig
from .run import MAX_TEXT_WORDS, Config, DatasetConfig, EngineConfig
from .tasks import GenerateTask, GenTask, HierarchyConfig, KindTask

__all__ = [
    "BenchConfig", "CleanConfig", "CompressConfig", "Config", "DatasetConfig", "DemonstrationsConfig", "Deployment",
    "EngineConfig", "ExplainerConfig", "FewShot", "FidelityConfig", "GenTask", "GenerateTask", "HierarchyConfig",
    "InfluenceConfig", "KindTask", "MAX_SAMPLES", "MAX_TEXT_WORDS", "ModelConfig", "PoisonConfig",
    "PrecisionConfig", "Price", "RerankConfig", "ScreenConfig", "TaskConfig", "UNSET", "apply_overrides",
    "load_config", "parse_config",
]

"""The explainers by name: ``EXPLAINERS`` and ``make_explainer``."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Explainer
from .kernel_shap import KernelShapExplainer
from .lime import LimeExplainer

EXPLAINERS: dict[str, type[Explainer]] = {"lime": LimeExplainer, "kernel_shap": KernelShapExplainer}


def make_explainer(name: str, *, samples: int = 1000, seed: int = 0, sampler: str = "kernel") -> Explainer:
    """The explainer registered as ``name``, with its arguments checked (``sampler``: ``Explainer.samplers``)."""
    try:
        cls = EXPLAINERS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown explainer {name!r}; use one of: {', '.join(sorted(EXPLAINERS))}") from None
    explainer = cls(samples=samples, seed=seed, sampler=sampler)
    explainer.check_params()
    return explainer

"""Perturbation explainers: masks in, one attribution per unit out.

    make_explainer("kernel_shap", samples=1000, seed=0).explain(n_units, value_fn)

``value_fn`` maps a boolean mask matrix (True = keep the unit) to the
model's probability of the target label on each masked text. An explainer
never knows whether a proxy or the oracle answers.
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Attribution, Explainer
from .kernel_shap import KernelShapExplainer
from .lime import LimeExplainer

EXPLAINERS: dict[str, type[Explainer]] = {"lime": LimeExplainer, "kernel_shap": KernelShapExplainer}


def make_explainer(name: str, *, samples: int = 1000, seed: int = 0) -> Explainer:
    """The explainer registered as ``name``, with its arguments checked."""
    try:
        cls = EXPLAINERS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown explainer {name!r}; use one of: {', '.join(sorted(EXPLAINERS))}") from None
    explainer = cls(samples=samples, seed=seed)
    explainer.check_params()
    return explainer


__all__ = ["Attribution", "EXPLAINERS", "Explainer", "KernelShapExplainer", "LimeExplainer", "make_explainer"]

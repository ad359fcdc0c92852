"""Perturbation explainers: masks in, one attribution per unit out.

    make_explainer("kernel_shap", samples=1000, seed=0).explain(n_units, value_fn)

Kernel SHAP takes ``sampler="leverage"`` for Leverage SHAP's masks
(``leverage.py``); the default, ``"kernel"``, is each method's own sampler.

``value_fn`` maps a boolean mask matrix (True = keep the unit) to the
model's probability of the target label on each masked text. An explainer
never knows whether a proxy or the oracle answers.

    explain_informed("lime", n_units, oracle_fn, proxy_fn, samples=1000,
                     oracle_samples=50, estimator="prior", seed=0)

combines a few oracle answers with many proxy answers (``estimators.py``).
"""

from __future__ import annotations

from .base import Attribution, Explainer
from .estimators import ESTIMATORS, EstimatorInfo, explain_informed
from .kernel_shap import KernelShapExplainer
from .lime import LimeExplainer
from .registry import EXPLAINERS, make_explainer

__all__ = [
    "Attribution", "ESTIMATORS", "EXPLAINERS", "EstimatorInfo", "Explainer", "KernelShapExplainer", "LimeExplainer",
    "explain_informed", "make_explainer",
]

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

A new explainer is one class: an ``Explainer`` with a ``method`` name, its
masks (``_sample``), their weights (``kernel``) and its surrogate's closed
form (``surrogate``, a ``LinearSurrogate`` such as ``InterceptSurrogate``,
and ``alpha``), made known with ``@register_explainer``. It then works alone
and with every estimator, and a config names it by ``method`` (or as
``python:module:Class``, imported and registered by ``explainer_class``).
"""

from __future__ import annotations

from .base import EXPLAINERS, Attribution, Explainer, explainer_class, make_explainer, register_explainer
from .estimators import ESTIMATORS, EstimatorInfo, explain_informed
from .kernel_shap import EfficientSurrogate, KernelShapExplainer
from .lime import InterceptSurrogate, LimeExplainer
from .linear import LinearSurrogate

__all__ = [
    "Attribution", "ESTIMATORS", "EXPLAINERS", "EfficientSurrogate", "EstimatorInfo", "Explainer",
    "InterceptSurrogate", "KernelShapExplainer", "LimeExplainer", "LinearSurrogate", "explain_informed",
    "explainer_class", "make_explainer", "register_explainer",
]

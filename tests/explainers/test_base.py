"""The shared explainer contract: registry, parameters, masks, one batched call."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import proxyx.explainers as explainers
from proxyx.errors import ConfigError
from proxyx.explainers import (EXPLAINERS, Attribution, Explainer, InterceptSurrogate, LimeExplainer,
                               LinearSurrogate, make_explainer, register_explainer)

METHODS = [pytest.param(name, id=name) for name in sorted(EXPLAINERS)]


def linear(n_units: int, seed: int = 0):
    w = np.random.default_rng(seed).normal(size=n_units)
    return lambda masks: 0.5 + masks.astype(float) @ w / n_units


class Recorder:
    """A value function that remembers every batch it was asked."""

    def __init__(self, fn):
        self.fn = fn
        self.batches: list[np.ndarray] = []

    def __call__(self, masks):
        self.batches.append(np.array(masks))
        return self.fn(masks)


def test_public_names_are_pinned():
    assert explainers.__all__ == sorted(explainers.__all__)
    assert explainers.__all__ == [
        "Attribution", "ESTIMATORS", "EXPLAINERS", "EfficientSurrogate", "EstimatorInfo", "Explainer",
        "InterceptSurrogate", "KernelShapExplainer", "LimeExplainer", "LinearSurrogate", "explain_informed",
        "explainer_class", "make_explainer", "register_explainer",
    ]


def test_registry_is_a_plain_dict_of_explainer_classes():
    assert sorted(EXPLAINERS) == ["kernel_shap", "lime"]
    for name, cls in EXPLAINERS.items():
        assert issubclass(cls, Explainer)
        assert cls.method == name
        assert issubclass(cls.surrogate, LinearSurrogate)


class Unfinished(Explainer):  # no _sample, no kernel
    method = "unfinished"
    surrogate = InterceptSurrogate


@pytest.mark.parametrize("cls,error,match", [
    pytest.param(Unfinished, TypeError, "not a concrete Explainer", id="abstract"),
    pytest.param(int, TypeError, "not a concrete Explainer", id="not-an-explainer"),
    pytest.param(type("NoName", (LimeExplainer,), {"method": ""}), TypeError, "non-empty string", id="no-name"),
    pytest.param(type("NoFit", (LimeExplainer,), {"method": "nofit", "surrogate": None}), TypeError,
                 "LinearSurrogate subclass", id="no-surrogate"),
    pytest.param(type("Other", (LimeExplainer,), {}), ValueError, "'lime' is already registered", id="name-taken"),
])
def test_register_explainer_refuses_what_cannot_work(cls, error, match):
    with pytest.raises(error, match=match):
        register_explainer(cls)
    assert sorted(EXPLAINERS) == ["kernel_shap", "lime"]
    assert register_explainer(LimeExplainer) is LimeExplainer  # registering the same class again is harmless


@pytest.mark.parametrize("name", METHODS)
def test_make_explainer_stores_arguments(name):
    explainer = make_explainer(name, samples=300, seed=7)
    assert isinstance(explainer, EXPLAINERS[name])
    assert (explainer.samples, explainer.seed) == (300, 7)
    assert "samples=300" in repr(explainer)


@pytest.mark.parametrize("name", [pytest.param("shap", id="near-miss"), pytest.param("", id="empty"),
                                  pytest.param(None, id="none")])
def test_unknown_explainer_lists_the_valid_names(name):
    with pytest.raises(ConfigError, match="unknown explainer") as info:
        make_explainer(name)
    message = str(info.value)
    assert "kernel_shap" in message and "lime" in message and "\n" not in message


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("samples", [pytest.param(0, id="zero"), pytest.param(-5, id="negative"),
                                     pytest.param(2.5, id="float"), pytest.param(True, id="bool"),
                                     pytest.param("1000", id="string")])
def test_invalid_samples_is_a_config_error(name, samples):
    with pytest.raises(ConfigError, match="samples must be a positive integer"):
        make_explainer(name, samples=samples)
    with pytest.raises(ConfigError, match="samples"):  # also when built directly: checked before any work
        EXPLAINERS[name](samples=samples).sample_masks(5)


@pytest.mark.parametrize("seed", [pytest.param(-1, id="negative"), pytest.param(0.5, id="float")])
def test_invalid_seed_is_a_config_error(seed):
    with pytest.raises(ConfigError, match="seed"):
        make_explainer("lime", seed=seed)


def test_constructor_is_keyword_only_and_does_no_work():
    with pytest.raises(TypeError):
        EXPLAINERS["lime"](100)  # type: ignore[misc]
    EXPLAINERS["lime"](samples=-1)  # stores only; the check happens at use
    with pytest.raises(TypeError):
        Explainer()  # type: ignore[abstract]


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("n_units,samples", [
    pytest.param(6, 20, id="sampled-small"),
    pytest.param(11, 2000, id="sampled-nearly-exhaustive"),
    pytest.param(25, 300, id="sampled-large"),
    pytest.param(60, 1000, id="review-sized"),
])
def test_sampled_masks_are_unique_and_fill_the_budget(name, n_units, samples):
    masks = make_explainer(name, samples=samples).sample_masks(n_units)
    assert masks.dtype == bool and masks.shape == (samples, n_units)
    assert len(np.unique(masks, axis=0)) == len(masks)
    assert masks[0].all()


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("n_units,samples", [
    pytest.param(1, 2, id="1-unit"),
    pytest.param(3, 8, id="exact-fit"),
    pytest.param(5, 1000, id="generous"),
    pytest.param(10, 1024, id="10-units"),
])
def test_masks_enumerate_every_coalition_when_the_budget_allows(name, n_units, samples):
    masks = make_explainer(name, samples=samples).sample_masks(n_units)
    assert masks.shape == (2**n_units, n_units)
    codes = masks.astype(np.int64) @ (1 << np.arange(n_units))
    assert sorted(codes) == list(range(2**n_units))
    assert masks[0].all() and not masks[-1].any()


@pytest.mark.parametrize("name", METHODS)
def test_masks_are_deterministic_per_seed(name):
    first = make_explainer(name, samples=200, seed=3).sample_masks(15)
    again = make_explainer(name, samples=200, seed=3).sample_masks(15)
    other = make_explainer(name, samples=200, seed=4).sample_masks(15)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("n_units", [pytest.param(12, id="12-units"), pytest.param(50, id="50-units")])
def test_a_smaller_budget_reuses_the_masks_of_a_larger_one(name, n_units):
    """Nested budgets: a bench over 100/300/1000 samples pays for 1000 and reads the rest from the cache."""
    big = {m.tobytes() for m in make_explainer(name, samples=1000, seed=3).sample_masks(n_units)}
    for samples in (100, 300):
        small = make_explainer(name, samples=samples, seed=3).sample_masks(n_units)
        shared = np.mean([m.tobytes() in big for m in small])
        assert shared >= 0.97, f"{name} at {samples} samples shares only {shared:.0%} of its masks with 1000"


@pytest.mark.parametrize("name", METHODS)
def test_masks_do_not_use_global_numpy_state(name):
    np.random.seed(1)
    first = make_explainer(name, samples=100).sample_masks(12)
    np.random.seed(2)
    np.testing.assert_array_equal(first, make_explainer(name, samples=100).sample_masks(12))


@pytest.mark.parametrize("name", METHODS)
def test_explain_calls_the_model_once_with_the_same_masks_for_any_model(name):
    explainer = make_explainer(name, samples=150, seed=5)
    proxy, oracle = Recorder(linear(14, seed=1)), Recorder(linear(14, seed=2))
    explainer.explain(14, proxy)
    attribution = explainer.explain(14, oracle)
    assert len(proxy.batches) == len(oracle.batches) == 1
    np.testing.assert_array_equal(proxy.batches[0], oracle.batches[0])
    np.testing.assert_array_equal(proxy.batches[0], explainer.sample_masks(14))
    assert attribution.n_evals == len(proxy.batches[0]) == 150


@pytest.mark.parametrize("name", METHODS)
def test_attribution_fields(name):
    fn = linear(9)
    attribution = make_explainer(name, samples=100).explain(9, fn)
    assert isinstance(attribution, Attribution)
    assert attribution.method == name
    assert attribution.values.shape == (9,) and attribution.values.dtype == float
    assert attribution.full_value == pytest.approx(fn(np.ones((1, 9), dtype=bool))[0])
    assert isinstance(attribution.base_value, float)
    with pytest.raises(AttributeError):
        attribution.method = "other"  # type: ignore[misc]
    with pytest.raises(ValueError):
        attribution.values[0] = 1.0  # read-only: frozen in fact


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("bad", [
    pytest.param(lambda m: np.zeros(len(m) + 1), id="wrong-length"),
    pytest.param(lambda m: np.zeros((len(m), 2)), id="two-columns"),
    pytest.param(lambda m: np.full(len(m), np.nan), id="nan"),
])
def test_a_bad_value_function_is_reported(name, bad):
    with pytest.raises(ValueError, match="value_fn"):
        make_explainer(name, samples=50).explain(8, bad)


@pytest.mark.parametrize("n_units", [pytest.param(0, id="zero"), pytest.param(2.0, id="float")])
def test_n_units_must_be_a_positive_integer(n_units):
    with pytest.raises(ValueError, match="n_units"):
        make_explainer("lime").sample_masks(n_units)


def test_samples_of_one_still_gives_the_rows_a_method_needs():
    assert make_explainer("lime", samples=1).sample_masks(7).shape == (1, 7)  # the unmasked text
    shap_masks = make_explainer("kernel_shap", samples=1).sample_masks(7)
    assert shap_masks.shape == (2, 7) and shap_masks[0].all() and not shap_masks[1].any()


@pytest.mark.parametrize("name", METHODS)
def test_fit_from_given_answers_is_explain(name):
    explainer, fn = make_explainer(name, samples=120, seed=2), linear(11, seed=3)
    masks = explainer.sample_masks(11)
    fitted, explained = explainer.fit(masks, fn(masks)), explainer.explain(11, fn)
    np.testing.assert_array_equal(fitted.values, explained.values)
    assert (fitted.base_value, fitted.full_value, fitted.n_evals) == (explained.base_value, explained.full_value, 120)


@pytest.mark.parametrize("name", METHODS)
def test_predict_is_the_surrogate(name):
    attribution = make_explainer(name, samples=200, seed=1).explain(9, linear(9, seed=4))
    masks = np.array([[True] * 9, [False] * 9, [True, False] * 4 + [True]])
    expected = attribution.base_value + masks.astype(float) @ attribution.values
    np.testing.assert_allclose(attribution.predict(masks), expected)
    assert attribution.predict(masks[1:2])[0] == attribution.base_value
    with pytest.raises(ValueError, match="shape"):
        attribution.predict(np.ones((2, 8), dtype=bool))


@pytest.mark.parametrize("name,n_units,samples,seed,digest", [
    pytest.param("lime", 30, 1000, 0, "d7e1a6d16e228b72", id="lime-30"),
    pytest.param("kernel_shap", 30, 1000, 0, "0664a0e1a0b9b467", id="kernel_shap-30"),
    pytest.param("lime", 80, 300, 5, "bb7ae4d79d3a3e7e", id="lime-80-bytes-keys"),
    pytest.param("kernel_shap", 80, 300, 5, "3e2b5be39e081168", id="kernel_shap-80-bytes-keys"),
    pytest.param("kernel_shap", 12, 100, 3, "d8216b1c705fafaf", id="kernel_shap-12-enumerated-levels"),
])
def test_masks_are_pinned(name, n_units, samples, seed, digest):
    """The masks are the cache's keys: a change to the samplers would make every cached answer useless."""
    masks = make_explainer(name, samples=samples, seed=seed).sample_masks(n_units)
    assert hashlib.sha256(masks.tobytes()).hexdigest()[:16] == digest

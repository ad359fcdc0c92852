"""The peers a user would pick instead of proxyx: shap's and lime's own explainers, on proxyx's units.

    explain_peer("shap_partition", segments, value_fn, samples=50, seed=s)

The bench runs each peer (``bench.peers``) at every oracle budget n of the
estimators (``bench.oracle_samples``), on the same instances and through the
same oracle scorer (its cache and ledger) as proxyx's routes, and scores it
the same way (``proxyx.bench.frontier``). Every peer masks proxyx's units
(``proxyx.perturb``: a masked unit is removed, the rest joined as proxyx
renders them), so the peers' masks mean what proxyx's mean and the same
masked text is one cached answer for all:

* ``shap_kernel``: ``shap.KernelExplainer`` over one binary feature per unit,
  a zero background (the empty coalition, as shap's text masker with an
  empty mask token) and the all-ones instance; ``nsamples = n - 2`` (it
  evaluates the background when built and the instance when explaining);
  shap's defaults otherwise (``l1_reg="num_features(10)"``: above 10 units
  it selects 10 by LARS and gives the rest 0, as a user of shap gets).
  Seeded through numpy's global state, restored afterwards.
* ``shap_partition``: ``shap.PartitionExplainer`` (Owen values over a
  hierarchy of units, ``max_evals = n``) with a masker over proxyx's units
  whose hierarchy is the one ``shap.maskers.Text`` builds over its tokens,
  here over proxyx's units (shap's own tokens are ``\\W+`` pieces: another
  perturbation space). Its queue breaks ties with numpy's global random
  state: seeded and restored as for the Kernel explainer.
* ``lime``: ``lime.lime_text.LimeTextExplainer`` (its sampler, cosine kernel
  of width 25 and ridge fit, every unit a feature, no feature selection),
  ``num_samples = n`` (the original text included), ``random_state`` the
  instance seed. lime tokenises the string it is given, so it is given one
  placeholder word per unit and its perturbed strings are read back as masks.

A peer may ask for duplicates (lime draws with repetition; shap may ask
more or fewer rows than its budget): ``n_evals`` of the attribution counts
the rows it asked for; the oracle calls (distinct texts, each paid once)
are counted by the bench's recorder.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

from ..errors import ConfigError
from ..explainers import Attribution
from ..explainers.base import ValueFn
from ..perturb import Segments

#: peer -> the proxyx method its explanations are judged as (held-out masks, kernel)
PEER_METHOD = {"shap_kernel": "kernel_shap", "shap_partition": "kernel_shap", "lime": "lime"}
PEERS = tuple(PEER_METHOD)


def check_peers(bench) -> None:
    """``ConfigError`` before anything is paid: peers without a frontier, a peer whose method is not benched, or
    whose package is missing (``bench``: the config's ``bench`` block)."""
    peers, methods = bench.peers, bench.methods
    if peers and not bench.oracle_ladder:
        raise ConfigError("bench.peers are compared on the frontier, which bench.oracle_ladder turns on; "
                          "give it (e.g. [25, 50, 100, 1000]) or remove bench.peers")
    for peer in peers:
        if PEER_METHOD[peer] not in methods:
            raise ConfigError(f"bench.peers: {peer} is judged as {PEER_METHOD[peer]} (its held-out masks and kernel), "
                              f"which bench.methods {list(methods)} leaves out; add it or remove the peer")
    if "lime" in peers:
        try:
            import lime.lime_text  # noqa: F401
        except ImportError as e:
            raise ConfigError("bench.peers: lime needs the lime package; pip install lime==0.2.0.1 "
                              "(or remove lime from bench.peers)") from e


class _Counted:
    """The value function, counting the rows a peer asks for (duplicates included) and keeping f(full)."""

    def __init__(self, value_fn: ValueFn, n_units: int):
        self.value_fn, self.n_units, self.rows = value_fn, n_units, 0
        self.full: float | None = None

    def __call__(self, masks) -> np.ndarray:
        masks = np.asarray(masks).reshape(-1, self.n_units) > 0.5  # shap passes 0/1 floats
        self.rows += len(masks)
        y = np.asarray(self.value_fn(masks), dtype=float)
        full = masks.all(axis=1)
        if full.any():
            self.full = float(y[full][0])
        return y


@contextmanager
def _numpy_seed(seed: int):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _shap_kernel(segments: Segments, f: _Counted, samples: int, seed: int) -> tuple[np.ndarray, float]:
    import shap

    n = len(segments)
    with _numpy_seed(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a near-singular solve at small budgets; shap says so
        explainer = shap.KernelExplainer(f, np.zeros((1, n)))
        values = explainer.shap_values(np.ones((1, n)), nsamples=max(samples - 2, 1), silent=True)
    return np.asarray(values, dtype=float).reshape(n), float(np.ravel(explainer.expected_value)[0])


def unit_hierarchy(segments: Segments) -> np.ndarray:
    """The clustering ``shap.maskers.Text`` builds over tokens, built over proxyx's units (one token each)."""
    import shap

    one_token_each = " ".join(u.replace(" ", "_") for u in segments.units)
    return shap.maskers.Text(r"\s+").clustering(one_token_each)


def _unit_masker(segments: Segments):
    import shap

    class UnitMasker(shap.maskers.Masker):
        """Masks go to the model as they are; it renders them with proxyx's units."""

        def __init__(self):
            self.shape = (1, len(segments))
            self.clustering = unit_hierarchy(segments)

        def __call__(self, mask, x):
            return (np.asarray(mask, dtype=bool).reshape(1, -1),)

    return UnitMasker()


def _shap_partition(segments: Segments, f: _Counted, samples: int, seed: int) -> tuple[np.ndarray, float]:
    import shap

    n = len(segments)
    with _numpy_seed(seed):  # its queue breaks ties at random
        explanation = shap.PartitionExplainer(f, _unit_masker(segments))(np.ones((1, n), dtype=bool),
                                                                         max_evals=samples, silent=True)
    return np.asarray(explanation.values, dtype=float).reshape(n), float(np.ravel(explanation.base_values)[0])


def _lime(segments: Segments, f: _Counted, samples: int, seed: int) -> tuple[np.ndarray, float]:
    from lime.lime_text import LimeTextExplainer

    n = len(segments)
    words = [f"u{i}" for i in range(n)]

    def proba(strings):
        kept = [set(s.split()) for s in strings]
        p = f(np.array([[w in k for w in words] for k in kept], dtype=bool))
        return np.column_stack([1 - p, p])

    explanation = LimeTextExplainer(feature_selection="none", random_state=seed).explain_instance(
        " ".join(words), proba, labels=(1,), num_features=n, num_samples=samples)
    vocab = explanation.domain_mapper.indexed_string.inverse_vocab
    values = np.zeros(n)
    for feature, coef in explanation.local_exp[1]:
        values[int(vocab[feature][1:])] = coef
    return values, float(explanation.intercept[1])


_EXPLAIN = {"shap_kernel": _shap_kernel, "shap_partition": _shap_partition, "lime": _lime}


def explain_peer(peer: str, segments: Segments, value_fn: ValueFn, *, samples: int, seed: int) -> Attribution:
    """``peer``'s explanation of ``value_fn`` over ``segments``' units, at a budget of ``samples`` model rows."""
    if peer not in _EXPLAIN:
        raise ConfigError(f"unknown peer {peer!r}; choose from {list(PEERS)}")
    f = _Counted(value_fn, len(segments))
    if len(segments) == 1:  # nothing to sample: every peer's answer is f(full) - f(empty)
        empty, full = f(np.array([[False], [True]]))
        return Attribution(values=[full - empty], base_value=empty, full_value=full, n_evals=f.rows, method=peer)
    values, base = _EXPLAIN[peer](segments, f, samples, seed)
    return Attribution(values=values, base_value=base, full_value=f.full, n_evals=f.rows, method=peer)

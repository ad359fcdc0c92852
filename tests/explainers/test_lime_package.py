"""proxyx's LIME against the ``lime`` package: the same mean coefficients, within noise.

lime counts a mask drawn twice twice; proxyx deduplicates masks (and
enumerates short texts), so it spreads each level's expected kernel mass over
the distinct masks of the level. Over 30 seeds, with the same deterministic
model (VADER) and the same number of samples, no word's mean coefficient
differs from lime's by more than noise, while the old weighting (one lime
weight per distinct mask) does. The comparison is ``scripts/lime_vs_package.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lime", reason="the comparison needs the lime package: pip install lime==0.2.0.1")
pytest.importorskip("vaderSentiment", reason="the comparison uses VADER as its deterministic model")

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lime_vs_package.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("lime_vs_package", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def comparisons(script):
    model = script.vader()
    return [script.compare(text, samples=1000, seeds=30, model=model) for text in script.TEXTS]


@pytest.mark.parametrize("which", [pytest.param(0, id="8-words-enumerated"), pytest.param(1, id="15-words-sampled")])
def test_mean_coefficients_match_lime_within_noise(comparisons, which):
    c = comparisons[which]
    # about 23 words in all: |z| < 3.5 keeps a family-wise false alarm rate near 1%
    assert np.abs(c.z_ours).max() < 3.5, dict(zip(c.words, np.round(c.z_ours, 1)))
    assert c.scale_ratio == pytest.approx(1.0, abs=0.02)


def test_the_old_weighting_is_detected(comparisons):
    """The comparison can fail: one lime weight per distinct mask is far from lime on the enumerated text."""
    c = comparisons[0]
    assert np.abs(c.z_unspread).max() > 5
    assert np.abs(c.unspread.mean(0)).sum() / np.abs(c.package.mean(0)).sum() < 0.95

"""proxyx rerank without the oracle: exact Shapley values, the lexical proxy, metrics, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from proxyx.apps.rerank_values import (answer_overlap, coalitions, containment, deletion_aopc, overlap_table, rank,
                                       recall_at, shapley_exact, token_f1)
from proxyx.cli import app


def brute_force_shapley(v, k):
    """Average marginal contribution over all k! orders (a different computation from the subset formula)."""
    phi = np.zeros(k)
    for order in itertools.permutations(range(k)):
        mask = 0
        for j in order:
            phi[j] += v[mask | 1 << j] - v[mask]
            mask |= 1 << j
    return phi / math.factorial(k)


@pytest.mark.parametrize("k", [pytest.param(k, id=f"k={k}") for k in (1, 2, 3, 5)])
def test_exact_shapley_is_the_brute_force_value(k):
    v = np.random.default_rng(k).normal(size=2 ** k)
    phi = shapley_exact(v, k)
    assert np.allclose(phi, brute_force_shapley(v, k), atol=1e-12)
    assert phi.sum() == pytest.approx(v[-1] - v[0])  # efficiency


def test_coalitions_are_bitmasks():
    m = coalitions(3)
    assert m.shape == (8, 3) and m[5].tolist() == [True, False, True] and not m[0].any() and m[7].all()


def test_coverage_game_splits_each_answer_word_among_the_passages_holding_it():
    answer = "apt-get installs packages from the archive"  # content words: apt-get installs packages archive
    passages = ["Use apt-get to fetch packages.", "The archive holds packages.", "Nothing relevant here."]
    table = overlap_table(answer, passages)
    assert table[0] == 0 and table[-1] == pytest.approx(3 / 4)  # 'installs' is in no passage
    phi = shapley_exact(table, 3)
    # apt-get: passage 0 alone; packages: shared by 0 and 1; archive: passage 1 alone
    assert np.allclose(phi, [1.5 / 4, 1.5 / 4, 0.0])
    assert np.allclose(phi, brute_force_shapley(table, 3))
    assert answer_overlap("", passages) == 0 and answer_overlap(answer, []) == 0


def test_rank_and_recall():
    assert rank([0.1, 0.5, 0.5, -1]) == [1, 2, 0, 3]  # ties keep retrieval order
    assert recall_at([2, 0, 1], 0, 1) == 0 and recall_at([2, 0, 1], 0, 2) == 1 and recall_at([0, 1], None, 2) == 0


def test_deletion_aopc_rewards_deleting_the_valuable_passage_first():
    v = np.array([0.0, 3.0, 0.0, 3.0])  # only passage 0 matters
    assert deletion_aopc([0, 1], v) == 3.0 and deletion_aopc([1, 0], v) == 0.0 and deletion_aopc([0], v[:2]) == 0.0


def test_answer_scores():
    assert token_f1("The archive holds packages", "packages live in the archive") == pytest.approx(2 / 3)
    assert containment("Yes, packages.", "The packages are here") == pytest.approx(0.5)
    assert containment("", "x") == 0.0


@pytest.fixture
def rerank_yaml(tmp_path):
    def make(**rerank):
        data = {"seed": 0, "oracle": "local/gemma-3-270m", "rerank": {"k": 3, "questions": 2, **rerank},
                "cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "rerank.json")}
        path = tmp_path / "rerank.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path
    return make


@pytest.mark.parametrize("over, message", [
    pytest.param({"k": 0}, "rerank.k: must be at least 1", id="k<1"),
    pytest.param({"dataset": "squad"}, "rerank.dataset: must be 'debian_faq', got 'squad'", id="unknown-dataset"),
    pytest.param({"questions": 500}, "rerank.questions: 500 asked, but debian_faq has", id="too-many-questions"),
    pytest.param({"top": [1, 4]}, "top 4 is more than k = 3", id="top>k"),
])
def test_bad_input_is_one_line_and_exit_2(rerank_yaml, tmp_path, over, message):
    result = CliRunner().invoke(app, ["rerank", str(rerank_yaml(**over)), "--quiet"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output
    assert not (tmp_path / "rerank.json").exists() and not (tmp_path / "cache").exists()

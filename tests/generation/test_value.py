"""Value functions on the real Gemma: answer_logprob, answer_match with and without decoded-output reuse."""

from __future__ import annotations

import numpy as np
import pytest

from proxyx.generation import AnswerMatch, exact_match, make_value, token_f1
from proxyx.perturb import ContextSegments
from .support import DOCS, QUESTION, TASK


@pytest.mark.parametrize("pred, gold, em, f1", [
    pytest.param(" Berlin.", "berlin", 1.0, 1.0, id="normalised"),
    pytest.param("The capital is Berlin", "Berlin", 0.0, 0.5, id="partial"),
    pytest.param("Paris", "Berlin", 0.0, 0.0, id="wrong"),
])
def test_match_scores(pred, gold, em, f1):
    assert exact_match(pred, gold) == em and token_f1(pred, gold) == pytest.approx(f1)


def _setup(gen, unit="document"):
    segs = ContextSegments(DOCS, unit=unit)
    render = lambda m: TASK.prompt(segs.render(m), QUESTION)  # noqa: E731
    answer = gen.answer([render(np.ones(len(segs), bool))])[0].text
    return segs, render, answer


def test_answer_logprob_values(gen):
    segs, render, answer = _setup(gen)
    masks = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0]], bool)
    total = make_value("answer_logprob", gen, render, answer)(masks)
    mean = make_value("answer_logprob_mean", gen, render, answer)(masks)
    n = len(gen.score([(render(masks[0]), answer)])[0].logprobs)
    np.testing.assert_allclose(mean * n, total, rtol=1e-9)
    assert total[0] > total[1]  # removing the document that holds the answer makes it less likely


def test_reuse_gives_identical_values_with_fewer_decodes(gen, gemma_backend, tmp_path):
    from proxyx.cache import CallCache
    from proxyx.generation import Generator
    from proxyx.ledger import Ledger

    segs, render, answer = _setup(gen, unit="sentence")
    masks = np.array([[bool(int(b)) for b in f"{i:05b}"] for i in range(32)])
    reused = AnswerMatch(gen, render, answer, match="f1", reuse=True)
    fresh_gen = Generator(gemma_backend, cache=CallCache(tmp_path / "other"), ledger=Ledger())
    plain = AnswerMatch(fresh_gen, render, answer, match="f1", reuse=False)
    np.testing.assert_array_equal(reused(masks), plain(masks))
    assert plain.stats.decodes == 32 and plain.stats.saved == 0
    assert reused.stats.saved > 0 and reused.stats.decodes == 32 - reused.stats.saved
    assert reused.decoded_ == plain.decoded_

"""The model protocol: every text answered exactly once, one probability per label; the scorer never loops."""

from __future__ import annotations

import pytest

from proxyx.cache import CallCache
from proxyx.config import ModelConfig, TaskConfig
from proxyx.errors import BadAnswers
from proxyx.ledger import Ledger
from proxyx.models.base import Answer, Model
from proxyx.scorer import Scorer

TEXTS = [f"text {i}" for i in range(5)]
HALF = Answer(probs=(0.5, 0.5))


class Misbehaving(Model):
    """A test double: answers the indices ``plan(n)`` returns (a fault no real model produces on demand)."""

    def __init__(self, plan, probs=(0.5, 0.5)):
        super().__init__(config=ModelConfig(model="local/misbehaving"), task=TaskConfig())
        self.plan, self.probs, self.calls = plan, probs, 0

    def _predict(self, texts, on_answer):
        self.calls += 1
        for i in self.plan(len(texts)):
            on_answer(i, Answer(probs=self.probs))


@pytest.mark.parametrize("plan, probs, match", [
    pytest.param(lambda n: range(3), (0.5, 0.5), "answered 3 of 5 texts; no answer for text\\(s\\) 3, 4", id="missing"),
    pytest.param(lambda n: [], (0.5, 0.5), "answered 0 of 5 texts", id="none"),
    pytest.param(lambda n: [0, 1, 1], (0.5, 0.5), "answered text 1 of 5 twice", id="twice"),
    pytest.param(lambda n: [0, n], (0.5, 0.5), "answered text index 5, but the batch has texts 0..4", id="out-of-range"),
    pytest.param(lambda n: range(n), (1.0,), "gave 1 probabilities for text 0, expected one per label \\(2: great, other\\)",
                 id="wrong-length"),
])
def test_predict_checks_every_text_is_answered_once(plan, probs, match):
    seen = []
    with pytest.raises(BadAnswers, match=match) as info:
        Misbehaving(plan, probs).predict(TEXTS, on_answer=lambda i, a: seen.append(i))
    assert "local/misbehaving" in str(info.value) and "\n" not in str(info.value)
    assert len(seen) == len(set(seen))  # a duplicate never reaches the caller


def test_a_well_behaved_model_in_any_order():
    answers = Misbehaving(lambda n: reversed(range(n))).predict(TEXTS)
    assert answers == [HALF] * 5
    assert Misbehaving(lambda n: []).predict([]) == []


@pytest.mark.timeout(30)
@pytest.mark.parametrize("plan", [pytest.param(lambda n: [], id="none"), pytest.param(lambda n: [0], id="one")])
def test_scorer_raises_instead_of_looping(tmp_path, plan):
    """A model that leaves texts unanswered made the scorer loop forever; now it fails once, and nothing stays reserved."""
    model = Misbehaving(plan)
    ledger = Ledger(max_usd=1.0)
    scorer = Scorer(model, cache=CallCache(tmp_path / "cache"), ledger=ledger, role="proxy")
    with pytest.raises(BadAnswers, match="answered"):
        scorer(TEXTS, "explain")
    assert model.calls == 1
    ledger.reserve(1.0)  # the whole budget is free again: every reservation of the failed round was released


@pytest.mark.timeout(30)
def test_scorer_guard_holds_when_a_model_skips_the_check(tmp_path):
    """Even a model that overrides ``predict`` (and so skips its check) cannot make the scorer loop."""

    class Silent(Misbehaving):
        def predict(self, texts, on_answer=None):
            self.calls += 1
            return []

    model = Silent(lambda n: [])
    scorer = Scorer(model, cache=CallCache(tmp_path / "cache"), ledger=Ledger(), role="proxy")
    with pytest.raises(BadAnswers, match="answered none of 5 texts"):
        scorer(TEXTS, "explain")
    assert model.calls == 1

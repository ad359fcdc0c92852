import numpy as np
import pytest

from proxyx.apps import CleanReport, run_clean
from proxyx.apps.clean import precision_recall, to_remove
from proxyx.cache import CallCache
from proxyx.config import FewShot, ModelConfig, TaskConfig
from proxyx.explain import attribute
from proxyx.ledger import Ledger
from proxyx.models.incontext import InContextModel
from proxyx.perturb import PromptSegments
from proxyx.scorer import Scorer

SHOTS = [
    FewShot(text="Delicious snack, my kids love the flavor", label="great"),
    FewShot(text="Stale, bland and overpriced", label="other"),
    FewShot(text="Great coffee with a rich flavor, love it", label="great"),
    FewShot(text="Arrived broken and tasted awful", label="other"),
    FewShot(text="Delicious cookies, the kids love them, great flavor", label="other"),  # planted: wrong label
]
PLANTED = 4


@pytest.fixture
def scorer(tmp_path):
    task = TaskConfig(few_shot=SHOTS)
    model = InContextModel(config=ModelConfig(model="local/incontext-tfidf"), task=task)
    s = Scorer(model, cache=CallCache(tmp_path), ledger=Ledger(), role="oracle")
    yield s
    s.close()


@pytest.mark.parametrize("text", [
    pytest.param("The flavor is delicious and my kids love it", id="kids"),
    pytest.param("Great cookies, delicious flavor", id="cookies"),
])
def test_planted_mislabelled_demonstration_gets_a_negative_gold_label_attribution(scorer, text):
    seg = PromptSegments(scorer.model.task, text)
    gold = scorer.labels.index("great")
    attr = attribute(scorer, seg, gold, method="kernel_shap", samples=64, seed=0, purpose="t")  # 2**5 <= 64: exact
    assert attr.values[PLANTED] < 0
    assert int(np.argmin(attr.values)) == PLANTED
    assert attr.values[0] > 0  # the same kind of text with the right label helps
    full, empty = scorer([seg.full, seg.render(np.zeros(5, bool))], "t")[:, gold]
    assert attr.values.sum() == pytest.approx(full - empty)  # exact Shapley values: efficiency


@pytest.mark.parametrize("values, remove, expected", [
    pytest.param([0.1, -0.2, 0.0, -0.01], "negative", [1, 3], id="negative"),
    pytest.param([0.1, 0.2], "negative", [], id="none-negative"),
    pytest.param([0.1, -0.2, 0.0, -0.01], 2, [1, 3], id="two-lowest"),
    pytest.param([0.3, 0.1, 0.2], 1, [1], id="lowest-even-if-positive"),
])
def test_to_remove(values, remove, expected):
    assert to_remove(values, remove) == expected


@pytest.mark.parametrize("removed, poisoned, expected", [
    pytest.param([1, 3], [3, 5], (0.5, 0.5), id="half"),
    pytest.param([], [3], (None, 0.0), id="nothing-removed"),
    pytest.param([3, 5], [3, 5], (1.0, 1.0), id="exact"),
])
def test_precision_recall(removed, poisoned, expected):
    assert precision_recall(removed, poisoned) == expected


def test_run_clean_end_to_end(app_config, tmp_path):
    cfg = app_config(clean={"poison": {"indices": [0, 3]}, "remove": 2})
    report = run_clean(cfg, out_dir=tmp_path / "run")
    assert report.poisoned == [0, 3]
    assert [s.poisoned for s in report.demonstrations] == [i in (0, 3) for i in range(6)]
    assert "gold label" in report.value
    for r in report.removals:
        assert len(r.removed) == 2
        assert r.recall == len(set(r.removed) & {0, 3}) / 2
        assert r.random is not None and len(r.random.values) == 3
        assert r.random.low <= r.random.mean <= r.random.high
        assert r.cost.nominal.calls > 0
        kept = (tmp_path / "run" / f"prompt.cleaned.{r.method.replace(':', '_')}.txt").read_text()
        assert kept.endswith("Review: {text}\nSentiment:")
        assert all((report.demonstrations[i].text in kept) == (i not in r.removed) for i in range(6))
    assert CleanReport.load(tmp_path / "run" / "clean.json").removals[0].removed == report.removals[0].removed

    again = run_clean(cfg, out_dir=tmp_path / "run2")  # from the cache: pays nothing, same numbers
    assert sum(row.cost.paid.calls for row in again.ledger) == 0
    assert sum(row.cost.paid.nano_usd for row in again.ledger) == 0
    assert again.accuracy_poisoned == report.accuracy_poisoned
    assert [r.removed for r in again.removals] == [r.removed for r in report.removals]

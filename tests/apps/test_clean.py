import dataclasses

import numpy as np
import pytest

from proxyx.apps import CleanReport, run_clean
from proxyx.apps.clean import diagnose, leave_one_out, precision_recall, to_remove
from proxyx.apps.demos import instances, with_shots
from proxyx.apps.poison import poisoned_prompt, vader_scorer
from proxyx.apps.scoring import open_prompt_session
from proxyx.cache import CallCache
from proxyx.config import FewShot, ModelConfig, TaskConfig
from proxyx.errors import DataError
from proxyx.explain import attribute
from proxyx.ledger import Ledger
from proxyx.models.incontext import InContextModel
from proxyx.perturb import PromptSegments
from proxyx.prompt import completion_prompt
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


def test_diagnose_splits_attributions_by_the_demonstrations_true_label():
    # demonstrations 0 (great) and 1 (other) are clean, 2 (true label great) is poisoned; reviews: great, other
    values = np.array([[0.3, -0.2, -0.4],
                       [-0.1, 0.5, 0.2]])
    d = diagnose(values, ["great", "other", "great"], [2], ["great", "other"])
    assert d.poisoned_same == pytest.approx(-0.4) and d.poisoned_opposite == pytest.approx(0.2)
    assert d.clean_same == pytest.approx((0.3 + 0.5) / 2) and d.clean_opposite == pytest.approx((-0.2 - 0.1) / 2)
    assert d.poisoned_rank == 1.0  # mean attributions 0.1, 0.15, -0.1


@pytest.fixture
def session_of(app_config):
    opened = []

    def make(**over):
        cfg = app_config(**over)
        session = open_prompt_session(cfg, cfg.task, "demonstration")
        opened.append(session)
        return cfg, session

    yield make
    for s in opened:
        s.close()


def test_poisoned_demonstrations_are_clear_and_spread_over_the_labels(session_of):
    cfg, session = session_of(demonstrations={"count": 8, "max_words": 30},
                              clean={"poison": {"count": 3, "vader_min": 0.85}})
    vader = vader_scorer(cfg, session.oracle)
    seen = set()
    for run in range(3):
        pp = poisoned_prompt(cfg, run, oracle=session.oracle, vader=vader)
        assert len(pp.poisoned) == 3 and len(pp.shots) == 8
        true = [pp.clean[i].label for i in pp.poisoned]
        assert sorted(true.count(lab) for lab in ("great", "other")) == [1, 2]  # spread over the labels
        assert [s.label for s in pp.clean].count("great") == 4  # the prompt as drawn is balanced
        for i, v in zip(pp.poisoned, pp.vader):
            assert pp.shots[i].label != pp.clean[i].label and pp.shots[i].text == pp.clean[i].text
            assert v >= 0.85  # VADER: the text plainly says its true label
        assert all(pp.shots[i] == pp.clean[i] for i in range(8) if i not in pp.poisoned)
        seen.add(tuple(s.text for s in pp.shots))
        again = poisoned_prompt(cfg, run, oracle=session.oracle, vader=vader)
        assert again.shots == pp.shots and again.poisoned == pp.poisoned  # seeded
    assert len(seen) == 3  # each run its own prompt
    assert session.ledger.total(model="local/vader").nominal.calls > 0  # through the cache and the ledger
    vader.close()


def test_listed_demonstrations_without_enough_clear_labels_are_refused(session_of):
    shots = [FewShot(text="It arrived on Tuesday in a box", label="great"),
             FewShot(text="Wonderful, delicious, the best tea I have ever had", label="great"),
             FewShot(text="It is a bag of rice", label="other"),
             FewShot(text="Awful, stale and disgusting, a terrible waste of money", label="other")]
    cfg, session = session_of(task={"few_shot": [s.model_dump() for s in shots]}, clean={"poison": {"count": 2}})
    vader = vader_scorer(cfg, session.oracle)
    pp = poisoned_prompt(cfg, 0, oracle=session.oracle, vader=vader)
    assert pp.poisoned == [1, 3] and pp.clean == shots  # only the plain ones are flipped
    with pytest.raises(DataError, match="labelled '(great|other)' have a clear label"):
        poisoned_prompt(cfg.model_copy(update={"clean": cfg.clean.model_copy(
            update={"poison": cfg.clean.poison.model_copy(update={"count": 4})})}), 0, oracle=session.oracle, vader=vader)
    vader.close()


def test_validation_and_test_are_balanced_and_each_run_draws_its_own_validation(app_config):
    cfg = app_config(dataset={"name": "fine_foods", "split": "test", "max_words": 40, "seed": 0})
    shots = [FewShot(text="Great tea", label="great")]
    v0, t0 = instances(cfg, shots, 6, 10, balanced=True, run=0)
    v1, t1 = instances(cfg, shots, 6, 10, balanced=True, run=1)
    for got, n in ((v0, 6), (t0, 10), (v1, 6)):
        assert [x.label for x in got].count("great") == n // 2 and len(got) == n
    assert t0 == t1 and v0 != v1
    assert not {x.text for x in v0} & {x.text for x in t0}


def test_leave_one_out_is_the_gold_probability_lost_without_each_demonstration(session_of):
    cfg, session = session_of()
    task = with_shots(cfg.task, SHOTS)
    s = dataclasses.replace(session, task=task)
    items, _ = instances(cfg, SHOTS, 3, 1, balanced=False, run=0)
    gold = [0, 1, 0]
    e = leave_one_out(s, items, gold)
    assert e.values.shape == (3, len(SHOTS))
    for v, x in enumerate(items):
        seg = PromptSegments(task, x.text)
        full = s.oracle([seg.full], "t")[0, gold[v]]
        for i in range(len(SHOTS)):
            mask = np.ones(len(SHOTS), bool)
            mask[i] = False
            assert e.values[v, i] == pytest.approx(full - s.oracle([seg.render(mask)], "t")[0, gold[v]])


def test_run_clean_end_to_end(app_config, tmp_path):
    cfg = app_config(explainer={"method": "kernel_shap", "samples": 64, "estimator": "prior", "oracle_samples": 16},
                     clean={"remove": 2, "validation": 4, "seeds": 2})
    report = run_clean(cfg, out_dir=tmp_path / "run")
    methods = ["oracle", "proxy:incontext-b8", "prior:incontext-b8", "leave_one_out", "random"]
    assert [r.method for r in report.routes] == methods
    k, n_val = 6, 4
    for run in report.runs:
        assert len(run.poisoned) == 2 and n_val == run.n_validation
        assert sorted(run.demonstrations[i].label for i in run.poisoned) == ["great", "other"]  # one flip each way
        assert sum(s.label == "great" for s in run.demonstrations) == k // 2  # flips keep the label counts
        assert all(run.demonstrations[i].vader >= 0.8 for i in run.poisoned)
        calls = {r.method: r.oracle_calls for r in run.removals}
        assert calls == {"oracle": 2 ** k * n_val, "proxy:incontext-b8": 0, "prior:incontext-b8": 16 * n_val,
                         "leave_one_out": (k + 1) * n_val, "random": 0}
        for r in run.removals:
            assert len(r.removed) == 2
            if r.method != "random":
                assert (r.precision, r.recall) == precision_recall(r.removed, run.poisoned)
                kept = (tmp_path / "run" / f"prompt.cleaned.{r.method.replace(':', '_')}.run{run.run}.txt").read_text()
                assert kept.endswith("Review: {text}\nSentiment:")
                assert all((d.text in kept) == (i not in r.removed) for i, d in enumerate(run.demonstrations))
        rnd = run.removal("random")
        assert len(rnd.draws) == 3 and rnd.accuracy == pytest.approx(np.mean(rnd.draw_accuracy))
    oracle = report.route("oracle")
    assert oracle.accuracy_after.values == [x.removal("oracle").accuracy for x in report.runs]
    assert oracle.gain.mean == pytest.approx(np.mean([x.removal("oracle").accuracy - x.accuracy_poisoned
                                                      for x in report.runs]))
    table = report.table()
    assert set(table) == {"accuracy_clean", "accuracy_poisoned", "accuracy_without_poisoned", "routes"}
    assert list(table["routes"]) == methods
    assert table["routes"]["leave_one_out"]["oracle_calls"] == (k + 1) * n_val
    assert table["accuracy_poisoned"] == pytest.approx(np.mean([x.accuracy_poisoned for x in report.runs]))
    assert CleanReport.load(tmp_path / "run" / "clean.json").table() == table

    without_poisoned_is_the_prompt_minus_exactly_the_poisoned(cfg, report)

    again = run_clean(cfg, out_dir=tmp_path / "run2")  # from the cache: pays nothing, same numbers
    assert sum(row.cost.paid.calls for row in again.ledger) == 0
    assert again.table() == table


def test_gemma_answers_the_zero_shot_prompt_of_each_poisoned_demonstration(app_config):
    pytest.importorskip("llama_cpp", reason="pip install 'llama-cpp-python[server]==0.3.36'")
    shots = [FewShot(text="Wonderful, delicious, the best tea I have ever had", label="great"),
             FewShot(text="Awful, stale and disgusting, a terrible waste of money", label="other")]
    cfg = app_config(oracle="local/gemma-3-270m", proxies=[], task={"few_shot": [s.model_dump() for s in shots]},
                     clean={"poison": {"count": 2}})
    session = open_prompt_session(cfg, cfg.task, "demonstration")
    try:
        pp = poisoned_prompt(cfg, 0, oracle=session.oracle, vader=vader_scorer(cfg, session.oracle))
        assert pp.poisoned == [0, 1] and [s.label for s in pp.shots] == ["other", "great"]
        zero_shot = [completion_prompt(with_shots(cfg.task, []), s.text) for s in shots]
        assert zero_shot[0] == ("Classify the sentiment of each product review as positive or negative.\n\n"
                                "Review: Wonderful, delicious, the best tea I have ever had\nSentiment:")
        direct = session.oracle(zero_shot, "t")
        assert pp.oracle == [pytest.approx(direct[0, 0]), pytest.approx(direct[1, 1])]
        assert session.ledger.total(model=session.oracle.name, purpose="poison").nominal.calls == 2
    finally:
        session.close()


def without_poisoned_is_the_prompt_minus_exactly_the_poisoned(cfg, report):
    """The ideal route's accuracy: the oracle asked directly with the poisoned demonstrations left out."""
    session = open_prompt_session(cfg, cfg.task, "demonstration")
    vader = vader_scorer(cfg, session.oracle)
    labels = list(cfg.task.labels)
    try:
        for run in report.runs:
            pp = poisoned_prompt(cfg, run.run, oracle=session.oracle, vader=vader)
            _, test = instances(cfg, pp.clean, cfg.clean.validation, cfg.clean.test, balanced=True, run=run.run)
            kept = with_shots(cfg.task, [s for i, s in enumerate(pp.shots) if i not in run.poisoned])
            p = session.oracle([completion_prompt(kept, x.text) for x in test], "t")
            expected = np.mean([labels[i] == x.label for i, x in zip(p.argmax(axis=1), test)])
            assert run.accuracy_without_poisoned == pytest.approx(expected)
        assert report.table()["accuracy_without_poisoned"] == pytest.approx(
            np.mean([x.accuracy_without_poisoned for x in report.runs]))
    finally:
        vader.close()
        session.close()

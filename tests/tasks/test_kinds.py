"""The task kinds a config names, and the classifier kinds' units and models (``proxyx.tasks``)."""

from __future__ import annotations

import pytest

import proxyx.tasks as tasks
from proxyx.config import parse_config
from proxyx.data import Instance
from proxyx.errors import ConfigError
from proxyx.perturb import PromptSegments, Segments
from proxyx.session import open_session
from proxyx.tasks import register_task, task_for
from proxyx.tasks.base import Task

GENERATE = {"type": "generate", "template": "Context: {context}\nQ: {question}\nA:"}
SHOTS = [{"text": "Great taste, would buy again.", "label": "great"}, {"text": "Stale and bland.", "label": "other"}]


def config(tmp_path, **blocks):
    return parse_config({"oracle": "local/vader", "proxies": ["local/tfidf-lr"], "cache_dir": str(tmp_path / "cache"),
                         **blocks})


@pytest.mark.parametrize("blocks, kind", [
    pytest.param({}, "classify", id="default"),
    pytest.param({"explainer": {"unit": "sentence"}}, "classify", id="sentence"),
    pytest.param({"explainer": {"unit": "demonstration"}, "task": {"few_shot": SHOTS}}, "prompt", id="prompt"),
    pytest.param({"task": GENERATE, "proxies": []}, "generate", id="generate"),
])
def test_the_config_names_its_kind(tmp_path, blocks, kind):
    task = task_for(config(tmp_path, **blocks))
    assert task.kind == kind and isinstance(task, Task) and type(task) is tasks.task_class(kind)


def test_public_face_is_sorted():
    assert tasks.__all__ == sorted(tasks.__all__)
    assert tasks.Task is Task


@pytest.mark.parametrize("kind", ["classify", "prompt", "generate", ""])
def test_a_kind_needs_a_name_of_its_own(kind):
    with pytest.raises(ValueError, match="name of its own"):
        register_task(type("Nameless", (Task,), {"kind": kind}))


def test_units_are_what_the_models_were_asked_before(tmp_path):
    """Same texts for every mask as ``Segments``/``PromptSegments`` (the cache keys of earlier runs)."""
    x = Instance(id="r1", text="Good coffee. Bitter though!  Would buy.")
    words = task_for(config(tmp_path)).units(x)
    assert words == Segments(x.text) and words.render([True, False, True, False, False, True]) == "Good Bitter buy."
    sentences = task_for(config(tmp_path, explainer={"unit": "sentence"})).units(x)
    assert sentences.units == ("Good coffee.", "Bitter though!", "Would buy.")
    cfg = config(tmp_path, explainer={"unit": "demonstration"}, task={"few_shot": SHOTS})
    assert task_for(cfg).units(x) == PromptSegments(cfg.task, x.text)


def test_a_prompt_task_refuses_a_model_that_reads_only_the_text(tmp_path):
    cfg = config(tmp_path, explainer={"unit": "demonstration"}, task={"few_shot": SHOTS})
    with pytest.raises(ConfigError, match="cannot see the demonstrations"):
        open_session(cfg)


def test_a_session_explains_with_its_tasks_models_and_instances(tmp_path):
    cfg = config(tmp_path, dataset={"limit": 3})
    session = open_session(cfg)
    try:
        xs = session.task.instances()
        assert len(xs) == 3 and session.oracle.name == "local/vader" and session.proxies[0].name == "local/tfidf-lr"
        assert not {x.id for x in xs} & {x.id for x in session.task.screen_pool({x.id for x in xs})}
        units = session.units(xs[0])
        assert session.oracle(units.render_many([[True] * len(units)]), "gate").shape == (1, 2)
    finally:
        session.close()


def test_a_generate_task_runs_its_own_flows(tmp_path):
    task = task_for(config(tmp_path, task=GENERATE, proxies=[]))
    with pytest.raises(ConfigError, match="runs its own flows"):
        task.instances()
    with pytest.raises(ConfigError, match="proxyx bench does not run generated answers"):
        task.bench()

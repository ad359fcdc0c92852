"""The model registry, and fingerprints that stay what they were (the cache of earlier runs stays valid)."""

from __future__ import annotations

import pytest

from proxyx.config import Deployment, FewShot, GenTask, ModelConfig, TaskConfig
from proxyx.errors import ConfigError, UnknownModel
from proxyx.models import EMBEDDED_LLM, FALLBACK, MODELS, PREFIXES, build_model, known_names, model_class, names_with


def test_registry_names_every_builtin():
    assert {"local/gemma-3-270m", "local/tfidf-lr", "local/vader"} <= set(MODELS)
    assert all(name.startswith("local/") for name in MODELS)
    assert list(PREFIXES) == ["python:"]


@pytest.mark.parametrize("name, cls", [
    pytest.param("local/gemma-3-270m", "LlamaCppModel", id="gemma"),
    pytest.param("local/tfidf-lr", "TfidfLogRegModel", id="tfidf"),
    pytest.param("local/vader", "VaderModel", id="vader"),
    pytest.param("python:somewhere:f", "PythonModel", id="python-prefix"),
    pytest.param("openai/gpt-4o-mini", "LiteLLMModel", id="litellm-fallback"),
])
def test_build_model_dispatch(name, cls):
    assert type(build_model(ModelConfig(model=name), TaskConfig())).__name__ == cls


@pytest.mark.parametrize("name", [pytest.param("local/gemma-2", id="unknown-local"),
                                  pytest.param("nosuchprovider-model", id="unknown-provider")])
def test_unknown_names_list_the_valid_ones(name):
    with pytest.raises(UnknownModel) as info:
        build_model(ModelConfig(model=name), TaskConfig())
    message = str(info.value)
    assert name in message and "\n" not in message
    for valid in [*MODELS, "python:package.module:callable", "openai/gpt-4o-mini"]:
        assert valid in message


def test_a_new_backend_is_one_entry(monkeypatch):
    from proxyx.models.local import VaderModel

    monkeypatch.setitem(MODELS, "local/vader-2", "local:VaderModel")
    assert isinstance(build_model(ModelConfig(model="local/vader-2"), TaskConfig()), VaderModel)
    assert model_class("local/vader-2") is VaderModel and "local/vader-2" in known_names()
    # a name in no table still reaches the fallback (litellm), not the new entry
    assert type(build_model(ModelConfig(model="openai/gpt-4o-mini"), TaskConfig())).__name__ == FALLBACK.split(":")[1]
    assert not isinstance(build_model(ModelConfig(model="openai/gpt-4o-mini"), TaskConfig()), VaderModel)


def test_capabilities_are_declared_on_the_backend_classes():
    """What the rest of proxyx asks instead of a model's name (nothing is built or loaded to answer)."""
    assert names_with("trains") == ["local/tfidf-lr", "local/minilm-lr", "local/learned"]  # its tfidf-lr feature
    assert names_with("reads_demonstrations") == ["local/incontext-tfidf"]
    assert names_with("answers_prompts") == names_with("generates") == names_with("gradients") == [EMBEDDED_LLM]
    assert names_with("token_logprobs") == names_with("cpu_threads") == [EMBEDDED_LLM]
    hosted = model_class("openai/gpt-4o-mini")
    assert hosted.answers_prompts and hosted.generates and not hosted.gradients and not hosted.token_logprobs
    assert not any(getattr(model_class("python:pkg.mod:f"), c) for c in ("answers_prompts", "trains", "generates"))
    price = lambda name: model_class(name).default_price.input_per_mtok  # noqa: E731
    assert price(EMBEDDED_LLM) > price("local/vader") > 0


def test_a_new_backend_is_asked_its_capabilities_not_its_name(monkeypatch):
    """Registered with one entry, a backend that declares ``answers_prompts`` answers masked prompts (compress,
    clean) and one that declares ``generates`` is built for generate tasks: no list elsewhere to update."""
    from proxyx.generation import build_generator
    from proxyx.models.local import VaderModel
    from proxyx.session import prompt_model

    llm = type("PromptVader", (VaderModel,), {"answers_prompts": True, "generates": True})
    monkeypatch.setitem(MODELS, "local/prompt-vader", llm)
    mc = ModelConfig(model="local/prompt-vader")
    assert isinstance(prompt_model(mc, SHOTS, "demonstration"), llm)
    assert isinstance(build_model(mc, GenTask()), llm)  # constructed only: nothing is loaded
    with pytest.raises(ConfigError, match=r"'local/vader' cannot generate text; a generate task needs an LLM: "
                                          r"local/gemma-3-270m, local/prompt-vader or a litellm model string"):
        build_generator(ModelConfig(model="local/vader"), GenTask(), cache=None, ledger=None)
    with pytest.raises(ConfigError, match=r"local/vader reads only the input text.*local/incontext-tfidf or an LLM "
                                          r"\(local/gemma-3-270m, local/prompt-vader, a litellm model\)"):
        prompt_model(ModelConfig(model="local/vader"), SHOTS, "demonstration")


SHOTS = TaskConfig(few_shot=[FewShot(text="Awful.", label="other"), FewShot(text="Yum!", label="great")])
COMPLETION = dict(model="text-completion-openai/gemma-3-270m", api_base="http://127.0.0.1:8080/v1", api_key_env="K")


@pytest.mark.parametrize("config, task, expected", [
    pytest.param(dict(model="local/gemma-3-270m"), TaskConfig(),
                 "548f9973e601016cf99e36bd50b5f61c05534a5adad598750c107f7fae2fa79e", id="gemma"),
    pytest.param(dict(model="local/vader"), SHOTS,
                 "44f3babf88cf6808f300c56f64a3daca9a947477e1ba44972e392202b7a3667c", id="vader-few-shot"),
    pytest.param(COMPLETION, SHOTS, "755eba87f20a78f28811b31cb74707e762a448b47c4470749402f44e549a1bea",
                 id="litellm-completion"),
    pytest.param(dict(model="openai/gpt-4o-mini", style="chat", top_logprobs=5), TaskConfig(),
                 "50b2b1ced078225373a47e2eee2a386d8d6a5f4e66b25328a5d90cb812d414d6", id="litellm-chat"),
    pytest.param(dict(model="openai/gpt-4o-mini", style="chat", top_logprobs=5, system_prompt="system"), TaskConfig(),
                 "50b2b1ced078225373a47e2eee2a386d8d6a5f4e66b25328a5d90cb812d414d6", id="system-prompt-at-default"),
])
def test_fingerprints_of_existing_configs_are_unchanged(config, task, expected):
    """Pinned from the code before the model boundary was split; a change here orphans every cached answer."""
    assert build_model(ModelConfig(**config), task).fingerprint() == expected


@pytest.mark.parametrize("config, task, options, expected", [
    pytest.param(dict(model="local/gemma-3-270m"), GenTask(), {},
                 "6caa667b1aeb0997181527c38426c2bc2ee8bd2ae3d5a6a63568a280383471fd", id="gemma"),
    pytest.param(dict(model="local/gemma-3-270m"), GenTask(max_tokens=8, stop=["\n", "."]), dict(block=1),
                 "9f35c29a4e011fd766346478fd9271b67d41758ceac50ac0a081ff352f862807", id="gemma-block-1"),
    pytest.param(COMPLETION, GenTask(), {}, "f8aeb7f6b5cd2962a68d96f730002501d5fdf1f9189da905b5a6964295cf640e",
                 id="litellm-completion"),
    pytest.param(dict(model="openai/gpt-4o-mini", style="chat"), GenTask(max_tokens=16), {},
                 "a3a0ad8ecf86accf52ea4586199141a4a1ff0202ebb2a90d9f585bf9fd18b621", id="litellm-chat"),
])
def test_generation_fingerprints_are_unchanged(config, task, options, expected):
    """Pinned from the code before one class per engine served both tasks (its ``generation`` backends)."""
    from proxyx.generation import build_generator

    gen = build_generator(ModelConfig(**config), task, cache=None, ledger=None, **options)
    assert gen.fingerprint == expected


def test_threads_only_for_a_model_on_this_cpu():
    with pytest.raises(ConfigError, match=r"threads is for local/gemma-3-270m only, not 'local/vader'"):
        build_model(ModelConfig(model="local/vader", threads=1), TaskConfig())
    assert build_model(ModelConfig(model=EMBEDDED_LLM, threads=1), TaskConfig()).n_threads == 1


def test_new_options_enter_the_fingerprint_only_away_from_their_default():
    chat = dict(model="openai/gpt-4o-mini", style="chat")
    base = build_model(ModelConfig(**chat), TaskConfig()).fingerprint()
    assert build_model(ModelConfig(**chat, system_prompt="fold"), TaskConfig()).fingerprint() != base


def test_deployments_do_not_enter_the_fingerprint():
    """One model, however many endpoints serve it: one name, one fingerprint."""
    one = ModelConfig(model="openai/m", deployments=[Deployment(api_base="http://127.0.0.1:1/v1")])
    two = ModelConfig(model="openai/m", deployments=[Deployment(api_base="http://127.0.0.1:2/v1", api_key_env="A"),
                                                     Deployment(api_base="http://127.0.0.1:3/v1")])
    plain = ModelConfig(model="openai/m")
    fps = {build_model(c, TaskConfig()).fingerprint() for c in (one, two, plain)}
    assert len(fps) == 1
    assert build_model(two, TaskConfig()).name == "openai/m"

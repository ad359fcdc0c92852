from pathlib import Path

import pytest

import proxyx.config
from proxyx.config import apply_overrides, load_config, parse_config
from proxyx.errors import ConfigError

GOOD = """\
seed: 3
oracle: local/gemma-3-270m
proxies:
  - local/tfidf-lr
  - model: local/vader
explainer:
  method: kernel_shap
  samples: 50
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_public_face_is_sorted_and_defined():
    """``proxyx.config`` re-exports what callers use; every name is there (``from proxyx.config import *``)."""
    assert proxyx.config.__all__ == sorted(proxyx.config.__all__)
    assert all(hasattr(proxyx.config, name) for name in proxyx.config.__all__)
    assert {"Config", "parse_config", "load_config", "apply_overrides", "UNSET", "ModelConfig"} <= set(
        proxyx.config.__all__)


def test_loads_shorthand_and_blocks(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.seed == 3
    assert cfg.oracle.model == "local/gemma-3-270m"
    assert [p.name for p in cfg.proxies] == ["local/tfidf-lr", "local/vader"]
    assert cfg.explainer.method == "kernel_shap" and cfg.explainer.samples == 50


@pytest.mark.parametrize(
    "text, needle, line",
    [
        pytest.param(GOOD.replace("samples: 50", "sampels: 50"), "explainer.sampels: unknown key", 8, id="misspelled-key"),
        pytest.param(GOOD.replace("samples: 50", "samples: -5"), "explainer.samples: must be greater than 0, got -5", 8, id="negative"),
        pytest.param(GOOD.replace("samples: 50", "samples: many"), "explainer.samples: must be a whole number, got 'many'", 8, id="wrong-type"),
        pytest.param(GOOD.replace("method: kernel_shap", "method: anchors"), "explainer.method: unknown explainer 'anchors'; use one of: kernel_shap, lime, or python:module:Class", 7, id="bad-method"),
        pytest.param(GOOD + "max_usd: 0\n", "max_usd: must be greater than 0, got 0", 9, id="budget"),
        pytest.param(GOOD.replace("method: kernel_shap", "method: lime\n  sampler: leverage"),
                     "explainer: sampler 'leverage' is for method: kernel_shap", 6, id="leverage-for-lime"),
        pytest.param(GOOD + "  sampler: uniform\n", "explainer.sampler: must be 'kernel' or 'leverage', got 'uniform'", 9,
                     id="unknown-sampler"),
        pytest.param("proxies: []\n", "oracle: required key is missing", 1, id="missing-oracle"),
        pytest.param(GOOD + "oracel: x\n", "oracel: unknown key", 9, id="top-level-typo"),
        pytest.param(GOOD.replace("- model: local/vader", "- {model: local/vader, distill: 100}"),
                     "proxies.1: distill is for local/tfidf-lr and local/minilm-lr only, not 'local/vader'", 5, id="distill-not-tfidf"),
        pytest.param(GOOD.replace("oracle: local/gemma-3-270m", "oracle: {model: local/tfidf-lr, distill: 5}"),
                     "oracle: distill is for proxies", 2, id="distill-oracle"),
        pytest.param(GOOD.replace("- local/tfidf-lr", "- {model: local/tfidf-lr, distill: 0}"),
                     "proxies.0.distill: must be greater than 0", 4, id="distill-zero"),
    ],
)
def test_errors_name_field_and_line(tmp_path, text, needle, line):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert needle in msg
    assert f"{p}:{line}" in msg
    assert "\n" not in msg


def test_yaml_syntax_error_has_line(tmp_path):
    p = write(tmp_path, "oracle: local/gemma-3-270m\nexplainer:\n  samples: [1,\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+: not valid YAML"):
        load_config(p)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("no/such.yaml")


def test_task_checks_verbalizers():
    with pytest.raises(ConfigError, match="no word for label"):
        parse_config({"oracle": "x/y", "task": {"labels": ["a", "b"], "verbalizers": {"a": "yes"}}})


def test_duplicate_model_names_need_alias():
    with pytest.raises(ConfigError, match="unique"):
        parse_config({"oracle": "local/vader", "proxies": ["local/vader"]})
    cfg = parse_config({"oracle": "local/vader", "proxies": [{"model": "local/vader", "alias": "twin"}]})
    assert cfg.proxies[0].name == "twin"


def test_api_key_env_must_be_a_name():
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        parse_config({"oracle": {"model": "openai/gpt-4o-mini", "api_key_env": "sk-abc.def"}})


def test_cli_overrides_yaml(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert apply_overrides(cfg, **{"dataset.limit": 4, "output": None}).dataset.limit == 4
    assert apply_overrides(cfg, **{"dataset.limit": None}).dataset.limit is None


def test_quickstart_config_is_valid():
    cfg = load_config(Path(__file__).parents[1] / "configs" / "quickstart.yaml")
    assert cfg.oracle.model == "local/gemma-3-270m"
    # make demo leads with an estimator against the oracle alone at its n, without paying for the oracle at N
    assert cfg.explainer.estimator != "plain" and cfg.explainer.oracle_samples < cfg.explainer.samples
    assert cfg.fidelity.enabled and not cfg.fidelity.reference


# ------------------------------------------------------------------ strict YAML (proxyx.config.load)


@pytest.mark.parametrize(
    "text, needle, line",
    [
        pytest.param(GOOD + "seed: 4\n", "duplicate key 'seed' (first on line 1, again on line 9)", 9, id="top-level"),
        pytest.param(GOOD.replace("  - model: local/vader", "  - model: local/vader\n    model: local/tfidf-lr"),
                     "duplicate key 'proxies.1.model' (first on line 5, again on line 6)", 6, id="in-a-list-item"),
        pytest.param(GOOD + "x: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels deep;", 9, id="deep"),
        pytest.param(GOOD + "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
            f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcd", "bcde")),
            "expands to more than 10,000 values", None, id="alias-bomb"),
    ],
)
def test_yaml_refused(tmp_path, text, needle, line):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert needle in str(e.value) and "\n" not in str(e.value)
    if line:
        assert str(e.value).startswith(f"{p}:{line}: ")


def test_shared_blocks_and_merge_keys_are_fine(tmp_path):
    text = GOOD.replace("  - model: local/vader", "  - &v {model: local/vader, alias: a}\n  - {<<: *v, alias: b}")
    cfg = load_config(write(tmp_path, text))
    assert [p.name for p in cfg.proxies] == ["local/tfidf-lr", "a", "b"]


def test_oversized_and_directory_configs(tmp_path):
    p = write(tmp_path, GOOD + "#" * 1_000_001 + "\n")
    with pytest.raises(ConfigError, match="a config file is at most 1,000,000 bytes"):
        load_config(p)
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="the config is empty"):
        load_config(write(tmp_path, "# nothing\n"))


def test_long_values_are_shortened_in_errors(tmp_path):
    msg = str(pytest.raises(ConfigError, load_config, write(tmp_path, GOOD.replace("samples: 50", "samples: " + "x" * 5000))).value)
    assert len(msg) < 300 and "..." in msg


# ------------------------------------------------------------------ api_key_env never echoed

KEYS = ["sk-proj-4fJk29xQmZ8pLr7TnW2s", "sk_live_4fJk29xQmZ8pLr7TnW2s", "AIzaSyD4fJk29xQmZ8pLr7TnW2sVb6Yc1Hd0eR",
        "hf_4fJk29xQmZ8pLr7TnW2sVb6Y", "4fJk29xQmZ8pLr7TnW2sVb6Yc1Hd", "key with spaces", "ÄPI_KEY"]


@pytest.mark.parametrize("value", [pytest.param(k, id=k[:6]) for k in KEYS])
def test_key_like_api_key_env_is_refused_and_never_echoed(value):
    for block in ({"oracle": {"model": "openai/gpt-4o-mini", "api_key_env": value}},
                  {"oracle": "local/vader", "proxies": [{"model": "openai/gpt-4o-mini", "api_key_env": value}]}):
        with pytest.raises(ConfigError) as e:
            parse_config(block)
        assert "api_key_env" in str(e.value) and value not in str(e.value) and value[:8] not in str(e.value)


def test_wrong_type_in_api_key_env_is_not_echoed():
    with pytest.raises(ConfigError) as e:
        parse_config({"oracle": {"model": "openai/gpt-4o-mini", "api_key_env": 1234567890123}})
    assert "1234567890123" not in str(e.value) and "not shown" in str(e.value)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "MY_KEY_2", "_PRIVATE", "azure_api_key", "GEMINI_API_KEY_PROD_20240101"])
def test_variable_names_are_accepted(name):
    assert parse_config({"oracle": {"model": "openai/gpt-4o-mini", "api_key_env": name}}).oracle.api_key_env == name


# ------------------------------------------------------------------ sizes and data splits


@pytest.mark.parametrize(
    "data, needle",
    [
        pytest.param({"explainer": {"samples": 10**9}}, "explainer.samples: must be at most 100000", id="samples"),
        pytest.param({"bench": {"samples": [100, 10**9]}}, "bench.samples.1: must be at most 100000", id="bench"),
        pytest.param({"dataset": {"max_words": 10**6}}, "dataset.max_words: must be at most 5000", id="max-words"),
        pytest.param({"screen": {"max_instances": 10**7}}, "screen.max_instances: must be at most 10000", id="screen"),
        pytest.param({"dataset": {"path": {"trian": "a.jsonl"}}}, "dataset.path: unknown split 'trian'", id="unknown-split"),
        pytest.param({"dataset": {"path": {"train": "a.jsonl"}}}, "dataset: split is 'test' but path has no 'test' file", id="no-test-file"),
        pytest.param({"dataset": {"path": {"test": "b.jsonl"}, "screen_split": "train"}},
                     "screen_split is 'train' but path has no 'train' file", id="no-screen-file"),
        pytest.param({"dataset": {"screen_split": "screen"}}, "screen_split 'screen' needs a screen file", id="screen-without-file"),
        pytest.param({"dataset": {"path": 5}}, "dataset.path: must be a file", id="path-type"),
    ],
)
def test_bounds_and_dataset_paths(data, needle):
    with pytest.raises(ConfigError) as e:
        parse_config({"oracle": "local/vader", **data})
    assert needle in str(e.value)


@pytest.mark.parametrize("data, needle", [
    pytest.param({"clean": {"remove": "all"}}, "clean.remove: must be 'negative' or a whole number, got 'all'",
                 id="literal-or-number"),
    pytest.param({"clean": {"remove": -1}}, "clean.remove: must be 'negative' or a whole number greater than 0, got -1",
                 id="literal-or-bounded-number"),
    pytest.param({"task": {"few_shot": ["x"]}}, "task.few_shot.0: must be a mapping (key: value), got 'x'",
                 id="model-type"),
    pytest.param({"gate": "maybe"}, "gate: must be true or false, got 'maybe'", id="bool"),
    pytest.param({"proxies": "local/vader"}, "proxies: must be a list", id="list"),
    pytest.param({"oracle": None}, "oracle: must be a model name (e.g. local/vader) or a mapping with 'model:'",
                 id="model-block"),
    pytest.param({"explainer": {"samples": 1.5}}, "explainer.samples: must be a whole number, got 1.5", id="fraction"),
    pytest.param({"explainer": {"hierarchy": {"levels": ["x"]}}},
                 "explainer.hierarchy.levels.0: must be 'document', 'sentence' or 'word', got 'x'", id="literal-in-list"),
    pytest.param({"oracle": {"model": ""}}, "oracle.model: must be non-empty", id="empty-string"),
    pytest.param({"task": {"type": "generate", "max_tokens": "x"}}, "task.max_tokens: must be a whole number",
                 id="tagged-union"),
])
def test_validation_messages_say_what_is_allowed_in_plain_words(data, needle):
    with pytest.raises(ConfigError) as e:
        parse_config({"oracle": "local/vader", **data})
    msg = str(e.value)
    assert needle in msg, msg
    for internal in ("Input should", "literal[", "instance of", "constrained-", "function-", "valid dictionary"):
        assert internal not in msg


@pytest.mark.parametrize("text", [pytest.param("", id="empty"), pytest.param("   \n", id="whitespace"),
                                  pytest.param("\u200b\u200c\u2060", id="zero-width")])
def test_a_demonstration_that_shows_nothing_is_refused(text):
    with pytest.raises(ConfigError, match=r"task.few_shot.1.text: empty demonstration"):
        parse_config({"oracle": "local/vader", "task": {"few_shot": [{"text": "Great.", "label": "great"},
                                                                     {"text": text, "label": "other"}]}})


def test_poison_count_and_indices_together_are_refused():
    with pytest.raises(ConfigError, match=r"clean.poison: give count \(2 drawn with seed\) or indices \(\[1\]\), not both"):
        parse_config({"oracle": "local/vader", "clean": {"poison": {"count": 2, "indices": [1]}}})
    alone = parse_config({"oracle": "local/vader", "clean": {"poison": {"indices": [1]}}})
    assert apply_overrides(alone, **{"dataset.limit": 3}).clean.poison.indices == [1]  # survives a re-parse
    assert parse_config({"oracle": "local/vader"}).clean.poison.drawn == 2


def test_dataset_path_forms():
    one = parse_config({"oracle": "local/vader", "dataset": {"path": "d.jsonl"}}).dataset
    assert one.path == "d.jsonl" and one.screen_split == "test"
    split = parse_config({"oracle": "local/vader", "dataset": {"path": {"train": "a", "test": "b", "screen": "c"}}}).dataset
    assert split.screen_split == "screen"
    assert apply_overrides(parse_config({"oracle": "local/vader", "dataset": {"path": {"train": "a", "test": "b"}}}),
                           **{"dataset.limit": 3}).dataset.path == {"train": "a", "test": "b"}

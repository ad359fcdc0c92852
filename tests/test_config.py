from pathlib import Path

import pytest

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
        pytest.param(GOOD.replace("samples: 50", "samples: -5"), "explainer.samples: Input should be greater than 0, got -5", 8, id="negative"),
        pytest.param(GOOD.replace("samples: 50", "samples: many"), "explainer.samples: Input should be a valid integer", 8, id="wrong-type"),
        pytest.param(GOOD.replace("method: kernel_shap", "method: anchors"), "explainer.method: Input should be 'lime' or 'kernel_shap'", 7, id="bad-method"),
        pytest.param(GOOD + "max_usd: 0\n", "max_usd: Input should be greater than 0", 9, id="budget"),
        pytest.param("proxies: []\n", "oracle: required key is missing", 1, id="missing-oracle"),
        pytest.param(GOOD + "oracel: x\n", "oracel: unknown key", 9, id="top-level-typo"),
        pytest.param(GOOD.replace("- model: local/vader", "- {model: local/vader, distill: 100}"),
                     "proxies.1: distill is for local/tfidf-lr only, not 'local/vader'", 5, id="distill-not-tfidf"),
        pytest.param(GOOD.replace("oracle: local/gemma-3-270m", "oracle: {model: local/tfidf-lr, distill: 5}"),
                     "oracle: distill is for proxies", 2, id="distill-oracle"),
        pytest.param(GOOD.replace("- local/tfidf-lr", "- {model: local/tfidf-lr, distill: 0}"),
                     "proxies.0.distill: Input should be greater than 0", 4, id="distill-zero"),
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

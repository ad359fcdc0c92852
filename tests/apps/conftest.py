"""Small app configs on the real fine_foods data, with the in-context proxy as a fast deterministic oracle."""

from __future__ import annotations

import copy

import pytest
import yaml

from proxyx.config import load_config

BASE = {
    "seed": 0,
    "oracle": "local/incontext-tfidf",
    "proxies": [{"model": "local/incontext-tfidf", "alias": "incontext-b8", }],
    "dataset": {"name": "fine_foods", "split": "test", "max_words": 40, "seed": 0},
    "demonstrations": {"count": 6, "max_words": 30},
    "explainer": {"method": "kernel_shap", "samples": 64},
    "compress": {"validation": 4, "test": 30, "methods": ["random", "proxy", "oracle"], "random_seeds": 3},
    "clean": {"validation": 4, "test": 30, "random_seeds": 3, "seeds": 2},  # poison: 2 drawn (the default)
}


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.fixture
def app_yaml(tmp_path):
    """``app_yaml(**overrides)``: the path of a YAML config with a fresh cache and output under tmp_path."""

    def make(**over):
        data = merge(BASE, {"cache_dir": str(tmp_path / "cache"), "output": str(tmp_path / "out.json"), **over})
        path = tmp_path / "app.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return make


@pytest.fixture
def app_config(app_yaml):
    """``app_config(**overrides)``: the same config, loaded."""
    return lambda **over: load_config(app_yaml(**over))

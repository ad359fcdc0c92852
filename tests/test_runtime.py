"""One runtime for every command: the cache is checked before anything is paid, the ledger holds ``max_usd``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from proxyx.cli import app
from proxyx.config import parse_config
from proxyx.errors import CacheError
from proxyx.runtime import open_runtime

PROMPT_APP = {"oracle": "local/incontext-tfidf", "proxies": [{"model": "local/incontext-tfidf", "alias": "twin"}],
              "dataset": {"name": "fine_foods", "split": "test", "max_words": 40},
              "demonstrations": {"count": 4, "max_words": 30}, "explainer": {"method": "kernel_shap", "samples": 16},
              "compress": {"validation": 2, "test": 4, "methods": ["random", "oracle"]}, "clean": {"validation": 2, "test": 4, "seeds": 1}}
GENERATE = {"oracle": "local/gemma-3-270m", "dataset": {"name": "debian_faq", "limit": 1, "documents": 2},
            "task": {"type": "generate", "template": "Context:\n{context}\n\nQuestion: {question}\nAnswer:"},
            "explainer": {"method": "kernel_shap", "value": "answer_logprob", "samples": 16}}
COMMANDS = [
    pytest.param("compress", PROMPT_APP, [], id="compress"),
    pytest.param("clean", PROMPT_APP, [], id="clean"),
    pytest.param("rerank", {"oracle": "local/gemma-3-270m", "rerank": {"k": 2, "questions": 1, "top": [1]}}, [], id="rerank"),
    pytest.param("influence", {"oracle": "local/gemma-3-270m", "dataset": {"name": "fine_foods"}}, ["--text", "Good"],
                 id="influence"),
    pytest.param("explain", GENERATE, [], id="explain-generate"),
    pytest.param("screen", {**GENERATE, "proxies": ["local/answer-overlap"]}, [], id="screen-generate"),
]


def corrupt_cache(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir(parents=True)
    path = tmp_path / "cache" / "calls.sqlite"
    path.write_bytes(os.urandom(4096))
    return path


@pytest.mark.parametrize("command, config, extra", COMMANDS)
def test_every_command_checks_the_cache_before_anything_is_paid(tmp_path, command, config, extra):
    """A corrupt cache is one line and exit 2, before any model is loaded or asked (none of these loads Gemma)."""
    sqlite = corrupt_cache(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**config, "seed": 0, "cache_dir": str(tmp_path / "cache"),
                                    "output": str(tmp_path / "out.json")}), encoding="utf-8")
    result = CliRunner().invoke(app, [command, str(path), "-q", "-o", str(tmp_path / "o"), *extra])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "is corrupt" in lines[0] and f"mv {sqlite}" in lines[0]
    assert not (tmp_path / "o").exists()


def test_open_runtime_opens_the_cache_now_and_caps_the_ledger(tmp_path):
    rt = open_runtime(parse_config({"oracle": "local/vader", "cache_dir": str(tmp_path / "cache"), "max_usd": 0.5}))
    assert (tmp_path / "cache" / "calls.sqlite").exists() and rt.ledger.max_usd == 0.5
    rt.close()
    corrupt_cache(tmp_path / "other")
    with pytest.raises(CacheError, match="is corrupt"):
        open_runtime(parse_config({"oracle": "local/vader", "cache_dir": str(tmp_path / "other" / "cache")}))

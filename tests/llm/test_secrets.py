"""The API key never leaves through exceptions, logs or answers, not even when a provider echoes it."""

from __future__ import annotations

import json
import logging
import traceback

import pytest
from llm_support import FAKE_KEY, KEY_ENV, POSITIVE

from proxyx.errors import CallFailed, ConfigError


@pytest.fixture
def all_logs(caplog):
    """Capture every logger at DEBUG, litellm's included."""
    import litellm

    names = ["LiteLLM", "LiteLLM Router", "LiteLLM Proxy"]
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.propagate = True
    caplog.set_level(logging.DEBUG)
    litellm.set_verbose = False
    yield caplog
    for lg, (level, propagate) in zip(loggers, saved):
        lg.setLevel(level)
        lg.propagate = propagate


def _everything(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


def test_key_reaches_the_provider_but_not_the_answers(relay, make_model, fake_key, all_logs, capsys):
    r = relay()
    (answer,) = make_model(r.url + "/v1").predict([POSITIVE])
    assert r.log[0].authorization == f"Bearer {FAKE_KEY}"  # the key is used...
    assert FAKE_KEY not in answer.to_json()  # ...and kept nowhere else
    assert FAKE_KEY not in all_logs.text
    out, err = capsys.readouterr()
    assert FAKE_KEY not in out + err


@pytest.mark.parametrize("schedule, retries", [
    pytest.param(["401"], 2, id="401-echoing-the-key"),
    pytest.param(["500", "429:0", "503"], 2, id="retried-errors-echoing-the-key"),
])
def test_key_is_scrubbed_from_failures(relay, make_model, fake_key, all_logs, capsys, schedule, retries):
    r = relay(schedule)
    with pytest.raises(CallFailed) as info:
        make_model(r.url + "/v1", max_retries=retries).predict([POSITIVE])
    assert FAKE_KEY in r.log[0].authorization
    assert FAKE_KEY not in _everything(info.value)
    assert "[redacted]" in str(info.value)  # the provider's message is kept, without the key
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert FAKE_KEY not in all_logs.text
    out, err = capsys.readouterr()
    assert FAKE_KEY not in out + err


def test_missing_variable_names_it_without_a_value(make_model, monkeypatch):
    model = make_model("http://127.0.0.1:9/v1")
    monkeypatch.setenv(KEY_ENV, "")
    with pytest.raises(ConfigError) as info:
        model.predict([POSITIVE])
    assert KEY_ENV in str(info.value) and "\n" not in str(info.value)


def test_no_key_at_all_is_not_retried(relay, make_model):
    """The openai client refuses to send without a key: say which setting fixes it, do not retry."""
    r = relay()
    model = make_model(r.url + "/v1", "chat", api_key_env=None, max_retries=3)
    with pytest.raises(CallFailed, match="after 1 attempt; set api_key_env"):
        model.predict([POSITIVE])
    assert r.log == []


@pytest.mark.parametrize("text, shown", [
    pytest.param("http://alice:s3cret@host:8000/v1", "http://[redacted]@host:8000/v1", id="user-and-password"),
    pytest.param("could not connect to https://tok3n@api.example.com: refused",
                 "could not connect to https://[redacted]@api.example.com: refused", id="token-in-a-message"),
    pytest.param("'http://a:b@h/v1' and http://c:d@h2", "'http://[redacted]@h/v1' and http://[redacted]@h2", id="two"),
    pytest.param("http://host/v1?x=a@b", "http://host/v1?x=a@b", id="at-sign-in-the-path-is-not-userinfo"),
])
def test_url_credentials_are_redacted(text, shown):
    from proxyx.errors import redact
    from proxyx.models.llm import scrub

    assert redact(text) == shown and scrub(text) == shown


def test_a_config_keeps_url_credentials_for_the_calls_but_never_writes_them():
    from proxyx.config import apply_overrides, parse_config

    base = "http://alice:s3cret@127.0.0.1:9/v1"
    cfg = parse_config({"oracle": {"model": "openai/gpt-4o-mini", "api_base": base},
                        "proxies": [{"model": "hosted_vllm/m", "deployments": [{"api_base": base}]}]})
    assert apply_overrides(cfg, **{"dataset.limit": 2}).oracle.api_base == base  # calls still go there
    dumped = json.dumps(cfg.model_dump(mode="json"))
    assert "s3cret" not in dumped and "alice" not in dumped and dumped.count("http://[redacted]@127.0.0.1:9/v1") == 2

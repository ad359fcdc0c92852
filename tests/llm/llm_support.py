"""Constants and helpers shared by the litellm model tests (imported as ``llm_support``)."""

from __future__ import annotations

#: flags of the test server (see ``llama_server``)
N_CTX = 2048
N_THREADS = 2


def server_flags(n_threads: int = N_THREADS) -> list[str]:
    return ["--n_ctx", str(N_CTX), "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
            "--logits_all", "True", "--chat_format", "gemma"]


SERVER_FLAGS = server_flags()
#: the key tests put in api_key_env: recognisable, so a leak is easy to find
FAKE_KEY = "sk-proxyx-FAKE-9f3c2a7d1e5b4680"
KEY_ENV = "PROXYX_TEST_LLM_KEY"

# --------------------------------------------------------------------------- models under test

#: routes under test: style -> litellm model string (the server serves any name)
ROUTES = {"completion": "text-completion-openai/gemma-3-270m", "chat": "openai/gemma-3-270m"}
POSITIVE = "Tasty snack, would buy again."
NEGATIVE = "Stale and bland, a waste of money."


def task():
    from proxyx.config import FewShot, TaskConfig

    return TaskConfig(few_shot=[FewShot(text="Awful, it tasted like cardboard.", label="other"),
                                FewShot(text="Delicious, I love it!", label="great")])


def model_config(api_base: str, style: str = "completion", **options):
    from proxyx.config import ModelConfig, Price

    settings = dict(model=ROUTES[style], style=style, api_base=api_base, api_key_env=KEY_ENV, concurrency=1,
                    timeout_s=20.0, max_retries=3, top_logprobs=20,
                    price=Price(input_per_mtok=1.0, output_per_mtok=2.0))
    settings.update(options)
    return ModelConfig(**settings)

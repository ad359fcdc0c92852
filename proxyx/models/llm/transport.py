"""Getting one request to the provider: litellm directly, or litellm's Router over several deployments.

Every call runs on one private event loop on a daemon thread, shared by all
litellm models of the process (so litellm's per-loop client cache stays valid
between batches). API keys are read from the variables named by
``api_key_env`` when a batch starts, never stored in the config.

With ``deployments``, a ``litellm.Router`` holds one deployment per endpoint
under one model group and spreads the calls (``simple-shuffle``); a call that
fails on one deployment is re-sent by the Router to another one
(``enable_weighted_failover``), and a deployment that keeps failing is cooled
down for a while. proxyx's own retries (``retry.py``) come on top, once the
Router gives up. Cache and ledger never see which deployment answered.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported: no network at import

import asyncio
import threading

from ...config import ModelConfig
from ...errors import ConfigError

#: seconds a deployment that failed is left out of the Router's choice
COOLDOWN_S = 5.0


def litellm_module():
    """litellm, imported on first use and set up for offline, quiet, testable use."""
    try:
        import litellm
    except ImportError:  # pragma: no cover - litellm is a core dependency
        raise ConfigError("litellm models need litellm: pip install 'litellm>=1.60'") from None
    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on stdout
    litellm.disable_hf_tokenizer_download = True  # token_counter must not reach the Hugging Face hub
    litellm.disable_aiohttp_transport = True  # httpx: no "Unclosed connector" noise from per-call clients
    return litellm


class LoopThread:
    """One private event loop on a daemon thread, shared by every litellm model of the process."""

    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, coro):
        """Run ``coro`` on the loop and wait for it; Ctrl-C (or any error here) cancels it."""
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                cls._thread = threading.Thread(target=cls._loop.run_forever, name="proxyx-litellm", daemon=True)
                cls._thread.start()
        if threading.current_thread() is cls._thread:
            coro.close()
            raise RuntimeError("LiteLLMModel.predict was called from its own on_answer callback")
        future = asyncio.run_coroutine_threadsafe(coro, cls._loop)
        try:
            return future.result()
        except BaseException:  # KeyboardInterrupt included: stop the batch's calls too
            future.cancel()
            raise


def _key(name: str | None, model: str) -> str | None:
    if name is None:
        return None  # litellm then uses the provider's usual variable (OPENAI_API_KEY, ...)
    key = os.environ.get(name)
    if not key:
        raise ConfigError(f"model {model!r}: environment variable {name} (api_key_env) is not set; "
                          f"export {name}=<your key> or change api_key_env")
    return key


class Transport:
    """Sends one request of a model: ``await send(prompt, max_tokens=, top_logprobs=)`` (a classifier's
    label call), or ``await request(chat, **params)`` with the caller's own parameters (generation)."""

    def __init__(self, config: ModelConfig):
        self.config = config
        self._keys: tuple[str | None, ...] = ()
        self._router = None
        self._router_keys: tuple[str | None, ...] | None = None

    @property
    def endpoints(self) -> list[str]:
        """The api_bases calls may go to (for messages)."""
        return [d.api_base for d in self.config.deployments] if self.config.deployments else [self.config.api_base]

    def open(self) -> list[str]:
        """Read the keys (ConfigError when a variable is unset); returns them, to be scrubbed from messages."""
        c = self.config
        if c.deployments:
            self._keys = tuple(_key(d.api_key_env or c.api_key_env, c.name) for d in c.deployments)
        else:
            self._keys = (_key(c.api_key_env, c.name),)
        return [k for k in self._keys if k]

    def _common(self, max_tokens: int) -> dict:
        return dict(max_tokens=max_tokens, temperature=0, timeout=self.config.timeout_s,
                    drop_params=True)  # a provider without logprobs answers in words: flagged "verbalized"

    async def send(self, prompt: str | list[dict], *, max_tokens: int, top_logprobs: int):
        """One request; the provider's response, or its exception as litellm raises it."""
        chat = isinstance(prompt, list)
        route = dict(messages=prompt, logprobs=True, top_logprobs=top_logprobs) if chat else \
            dict(prompt=prompt, logprobs=top_logprobs)
        return await self.request(chat, **route, **self._common(max_tokens))

    async def request(self, chat: bool, **params):
        """One ``acompletion`` (``chat``) or ``atext_completion`` with the caller's ``params`` (messages or
        prompt, max_tokens, ...): through the Router over the deployments, else to ``api_base`` with the key.

        The response, or its exception as litellm raises it; which deployment answered is not returned."""
        if self.config.deployments:
            router = self._get_router()
            fn = router.acompletion if chat else router.atext_completion
            return await fn(model=self.config.model, **params)
        litellm = litellm_module()
        fn = litellm.acompletion if chat else litellm.atext_completion
        return await fn(model=self.config.model, api_base=self.config.api_base, api_key=self._keys[0],
                        num_retries=0, max_retries=0,  # proxyx retries, so that it can be tested and logged
                        **params)

    def _get_router(self):
        if self._router is None or self._router_keys != self._keys:
            litellm = litellm_module()
            c = self.config
            deployments = [{"model_name": c.model,
                            "litellm_params": {"model": d.model or c.model, "api_base": d.api_base, "api_key": key,
                                               "timeout": c.timeout_s, "max_retries": 0}}
                           for d, key in zip(c.deployments, self._keys)]
            self._router = litellm.Router(model_list=deployments, routing_strategy="simple-shuffle",
                                          num_retries=0, enable_weighted_failover=True,
                                          max_fallbacks=len(deployments), allowed_fails=0, cooldown_time=COOLDOWN_S)
            self._router_keys = self._keys
        return self._router

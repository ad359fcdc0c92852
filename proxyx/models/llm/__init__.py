"""Any litellm model: label probabilities from next-token log-probabilities, and generated text.

As a classifier, one call per text, ``max_tokens=1``, ``temperature=0``:

* style ``completion``: ``atext_completion(prompt=render(...), logprobs=k)``;
* style ``chat``: ``acompletion(messages=render(...), logprobs=True, top_logprobs=k)``.

Built for a generation task (``GenTask``):

* ``decode``: ``atext_completion`` (style ``completion``) or ``acompletion``
  with the prompt as one user turn (style ``chat``), ``temperature=0``,
  ``max_tokens`` and ``stop`` from the task. Unlike the embedded model, whose
  first answer token is never a stop token, an endpoint whose greedy first
  token holds a stop string returns an empty answer.
* ``score`` (``answer_logprob`` and the greedy check of decoded-output reuse):
  only on completion endpoints that echo the prompt's log-probabilities
  (``echo=True, logprobs=1``: llama.cpp's server, vLLM, OpenAI's legacy
  ``davinci-002``/``babbage-002``), the prompt + answer sent with
  ``max_tokens=1`` (``parse.echo_scores``). Chat models cannot score
  (``can_score`` False): the report says so and ``answer_match`` then decodes
  every mask. The cache key names the model block, never the deployment that
  answered: any deployment's answer serves every later run.

Three parts, one job each: ``parse`` (a response -> probabilities and usage,
see its doc for the scoring), ``retry`` (which failures are tried again and how
long to wait, on tenacity) with ``failures`` (what a failure is and what to tell
the user), and ``transport`` (litellm, or litellm's Router over
``deployments``, on a private event-loop thread).

**Calls.** Concurrency is one asyncio code path with a semaphore of
``config.concurrency`` (all deployments together); ``on_answer`` is called on
the loop's thread, one answer at a time, as each call completes. After the last
attempt a text gets no answer; once every other call of the batch has finished
and been handed to ``on_answer``, ``CallFailed`` names the model, the reason
(HTTP status, timeout, refused connection, ...), the number of attempts and a
hint, and carries ``status`` and ``attempts``. The API key is read from the
variable named by ``api_key_env`` at call time and scrubbed from every message.

**Cost.** Tokens come from the response's usage; dollars from ``config.price``
when set, else from litellm's price map; a model the map does not know costs
$0 (logged once).
"""

from __future__ import annotations

import logging
import math
import os
import random

from ...config import GenTask, ModelConfig, Price, TaskConfig
from ...errors import ModelError, UnknownModel
from ...prompt import render
from ..base import Answer, Model, OnAnswer
from ..generated import Decoded, OnResult, Scored
from .failures import Failure, retry_after_s, scrub
from .parse import FLAG_OUTSIDE, FLAG_UNPARSED, FLAG_VERBALIZED, Malformed, NoEcho, decoded_text, echo_scores, \
    first_token_top_logprobs, get, label_probs, parse_response, verbalized_probs
from .retry import ProviderFault, backoff_s, guarded, run_batch
from .transport import LoopThread, Transport, litellm_module

log = logging.getLogger(__name__)


def check_name(config: ModelConfig) -> None:
    """``UnknownModel`` unless litellm knows a provider for the model (and for each deployment's model)."""
    from .. import known_names

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:  # pragma: no cover - litellm is a core dependency
        raise UnknownModel(f"model {config.model!r} needs litellm: pip install litellm") from None
    litellm.suppress_debug_info = True  # it prints a provider list on stdout otherwise
    models = [d.model or config.model for d in config.deployments or []] or [config.model]
    bases = [d.api_base for d in config.deployments or []] or [config.api_base]
    for model, base in zip(models, bases):
        try:
            litellm.get_llm_provider(model, api_base=base)
        except Exception:
            raise UnknownModel(
                f"unknown model {model!r}: not one of {known_names()}, and litellm knows no provider for it; "
                "use 'provider/model', e.g. openai/gpt-4o-mini or hosted_vllm/NAME with api_base"
            ) from None


class LiteLLMModel(Model):
    """Any litellm model string (``openai/gpt-4o-mini``, ``text-completion-openai/...``, ``hosted_vllm/...``)."""

    #: generated tokens per call: the first token is the label word
    max_tokens = 1
    completion_tokens = 1
    #: retry backoff: first wait in [base/2, base], doubling up to ``backoff_max_s``
    backoff_base_s = 0.5
    backoff_max_s = 30.0
    #: worst-case reservation: prompt tokens * margin + extra (chat templates add tokens)
    token_margin = 1.25
    token_extra = 16

    answers_prompts = generates = True

    @classmethod
    def build(cls, config: ModelConfig, task: TaskConfig | GenTask, **_) -> Model:
        """A litellm model, once litellm knows a provider for its name (``UnknownModel`` otherwise); ``_``: the
        options of an in-process model (``n_ctx``, ``n_threads``, ``block``) do not apply."""
        check_name(config)
        return cls(config=config, task=task)

    def __init__(self, *, config: ModelConfig, task: TaskConfig | GenTask):
        super().__init__(config=config, task=task)
        self._map_price: Price | None = None
        self._rng = random.Random()  # jitter must differ between processes: not seeded
        self.transport = Transport(config)

    def scoring_params(self) -> dict:
        return {"max_tokens": self.max_tokens, "temperature": 0, "scoring": "first-token-top-logprobs/1"}

    def prompt(self, text: str) -> str | list[dict]:
        """What is sent for ``text``: the completion prompt or the chat messages."""
        return render(self.task, text, style=self.config.style, system_prompt=self.config.system_prompt)

    # ----------------------------------------------------------- prices and tokens

    @property
    def price(self) -> Price:
        """``config.price``, else litellm's price map, else $0 (logged once)."""
        if self.config.price is not None:
            return self.config.price
        if self._map_price is None:
            try:
                info = litellm_module().get_model_info(self.config.model)
                price = Price(input_per_mtok=(info.get("input_cost_per_token") or 0.0) * 1e6,
                              output_per_mtok=(info.get("output_cost_per_token") or 0.0) * 1e6)
            except Exception:
                price = Price()
            if price == Price():  # unknown, or known at $0 (a Router adds its deployments' models at $0)
                log.warning("%s: litellm's price map does not know this model; its calls count $0 "
                            "(set 'price:' in the model's config to count dollars)", self.name)
            self._map_price = price
        return self._map_price

    def _usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self.config.price is None and self.price != Price():
            try:
                cost_in, cost_out = litellm_module().cost_per_token(
                    model=self.config.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
                return float(cost_in + cost_out)
            except Exception:
                pass
        return self.cost(prompt_tokens, completion_tokens)

    def count_prompt_tokens(self, text: str) -> int:
        """Tokens of the full prompt by litellm's tokenizer for the model (fallback: words * 1.3)."""
        prompt = self.prompt(text)
        chat = isinstance(prompt, list)
        try:
            litellm = litellm_module()
            if chat:
                return int(litellm.token_counter(model=self.config.model, messages=prompt))
            return int(litellm.token_counter(model=self.config.model, text=prompt))
        except Exception:
            words = sum(len(m["content"].split()) for m in prompt) if chat else len(prompt.split())
            return max(1, math.ceil(words * 1.3))

    def worst_case_usd(self, text: str) -> float:
        pt = math.ceil(self.count_prompt_tokens(text) * self.token_margin) + self.token_extra
        return self.cost(pt, self.max_tokens)

    # ----------------------------------------------------------- calls

    def _run(self, n: int, attempt, on_result) -> None:
        """``attempt(i, secrets)`` for i < n, concurrently with retries; ``on_result(i, result)`` as each succeeds.
        The keys are read now (``ConfigError`` when a variable is unset)."""
        secrets = self.transport.open()
        LoopThread.run(run_batch(n, lambda i: attempt(i, secrets), on_result, config=self.config,
                                 base_s=self.backoff_base_s, max_s=self.backoff_max_s, rng=self._rng, log=log,
                                 name=self.name))

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> None:
        self._run(len(texts), lambda i, secrets: self._attempt(texts[i], secrets), on_answer)

    async def _attempt(self, text: str, secrets: list[str]) -> Answer:
        """One call: a provider failure becomes a ``ProviderFault``; anything else (a bug) is raised as it is."""
        response = await guarded(self.transport.send(self.prompt(text), max_tokens=self.max_tokens,
                                                     top_logprobs=self.config.top_logprobs),
                                 secrets=secrets, timeout_s=self.config.timeout_s, endpoints=self.transport.endpoints)
        try:
            parsed = parse_response(response, self.task, self.config.style)
        except Malformed as exc:
            raise ProviderFault(Failure(f"malformed response ({exc})", None, True, kind="malformed")) from None
        pt = parsed.prompt_tokens if parsed.prompt_tokens is not None else self.count_prompt_tokens(text)
        ct = parsed.completion_tokens if parsed.completion_tokens is not None else self.max_tokens
        return Answer(probs=parsed.probs, prompt_tokens=pt, completion_tokens=ct, usd=self._usd(pt, ct),
                      flag=parsed.flag)

    # ----------------------------------------------------------- generated text (task: GenTask)

    @property
    def can_score(self) -> bool:
        return self.config.style == "completion"

    def text_params(self) -> dict:
        return {"temperature": 0, "style": self.config.style, "score": "echo+logprobs=1"}

    def count_tokens(self, prompt: str) -> int:
        try:
            return int(litellm_module().token_counter(model=self.config.model, text=prompt))
        except Exception:
            return max(1, math.ceil(len(prompt.split()) * 1.3))

    def _guarded(self, call, secrets: list[str]):
        return guarded(call, secrets=secrets, timeout_s=self.config.timeout_s, endpoints=self.transport.endpoints)

    def decode_many(self, prompts: list[str], on_result: OnResult) -> None:
        chat, kw = self.config.style == "chat", dict(max_tokens=self.task.max_tokens, stop=self.task.stop,
                                                     temperature=0, timeout=self.config.timeout_s)

        async def one(i: int, secrets: list[str]) -> Decoded:
            prompt = prompts[i]
            route = dict(messages=[{"role": "user", "content": prompt}]) if chat else dict(prompt=prompt)
            r = await self._guarded(self.transport.request(chat, **route, **kw), secrets)
            usage = get(r, "usage")
            pt = get(usage, "prompt_tokens") or self.count_tokens(prompt)
            ct = get(usage, "completion_tokens") or 0
            return Decoded(text=decoded_text(r, self.config.style), logprobs=(), prompt_tokens=int(pt),
                           completion_tokens=int(ct))

        self._run(len(prompts), one, on_result)

    def score_many(self, pairs: list[tuple[str, str]], on_result: OnResult) -> None:
        if not self.can_score:
            raise ModelError(f"{self.name}: chat models return no prompt log-probabilities; use style: completion "
                             "on an endpoint with echo (llama.cpp server, vLLM)")

        async def one(i: int, secrets: list[str]) -> Scored:
            prompt, answer = pairs[i]
            r = await self._guarded(self.transport.request(False, prompt=prompt + answer, max_tokens=1, echo=True,
                                                           logprobs=1, temperature=0, timeout=self.config.timeout_s),
                                    secrets)
            try:
                return echo_scores(r, prompt, self.task.stop)
            except NoEcho as exc:
                raise ProviderFault(Failure(str(exc), None, False, kind="malformed")) from None

        self._run(len(pairs), one, on_result)


__all__ = ["FLAG_OUTSIDE", "FLAG_UNPARSED", "FLAG_VERBALIZED", "LiteLLMModel", "backoff_s",
           "first_token_top_logprobs", "label_probs", "retry_after_s", "scrub", "verbalized_probs"]

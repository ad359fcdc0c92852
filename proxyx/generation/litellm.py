"""Any litellm model as a generation backend.

* ``decode``: ``atext_completion`` (style ``completion``) or ``acompletion``
  with the prompt as one user turn (style ``chat``), ``temperature=0``,
  ``max_tokens`` and ``stop`` from the task. Unlike the embedded model, whose
  first answer token is never a stop token, an endpoint whose greedy first
  token holds a stop string returns an empty answer.
* ``score`` (``answer_logprob`` and the greedy check of decoded-output reuse):
  only on completion endpoints that echo the prompt's log-probabilities
  (``echo=True, logprobs=1``: llama.cpp's server, vLLM, OpenAI's legacy
  ``davinci-002``/``babbage-002``); the prompt + answer is sent with
  ``max_tokens=1``, the answer's tokens are found by their character offsets,
  and the one generated token's top log-probabilities tell whether greedy
  decoding would stop there. Chat models cannot score (``can_score`` False):
  the report says so and ``answer_match`` then decodes every mask.

Calls run concurrently (``concurrency``, all deployments together) on the
shared litellm event loop, with proxyx's retries and failure messages
(``proxyx.models.llm``), through the classifiers' ``Transport``: to
``api_base``, or with ``deployments`` spread over them by litellm's Router
(failover included). The cache key names the model block, never the
deployment that answered: any deployment's answer serves every later run.
"""

from __future__ import annotations

import logging
import math
import random

from ..config import ModelConfig, Price
from ..errors import ModelError
from ..genconfig import GenTask
from ..models.llm.failures import Failure
from ..models.llm.retry import ProviderFault, guarded, run_batch
from ..models.llm.transport import LoopThread, Transport, litellm_module
from .backend import Decoded, GenBackend, OnResult, Scored, TokenScores

log = logging.getLogger(__name__)


def _get(obj, name, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


class LiteLLMGen(GenBackend):
    """Greedy answers from any litellm model; teacher-forced scores where the endpoint echoes log-probabilities."""

    backoff_base_s = 0.5
    backoff_max_s = 30.0

    def __init__(self, *, config: ModelConfig, task: GenTask, **_):
        """``_``: the options of an in-process backend (``n_ctx``, ``n_threads``, ``block``) do not apply."""
        super().__init__(config=config, task=task)
        self.transport = Transport(config)
        self._rng = random.Random()  # retry jitter must differ between processes: not seeded

    @property
    def can_score(self) -> bool:
        return self.config.style == "completion"

    def params(self) -> dict:
        return {"temperature": 0, "style": self.config.style, "score": "echo+logprobs=1"}

    @property
    def price(self) -> Price:
        if self.config.price is not None:
            return self.config.price
        try:
            info = litellm_module().get_model_info(self.config.model)
            return Price(input_per_mtok=(info.get("input_cost_per_token") or 0.0) * 1e6,
                         output_per_mtok=(info.get("output_cost_per_token") or 0.0) * 1e6)
        except Exception:
            return Price()

    def count_tokens(self, prompt: str) -> int:
        try:
            return int(litellm_module().token_counter(model=self.config.model, text=prompt))
        except Exception:
            return max(1, math.ceil(len(prompt.split()) * 1.3))

    # ------------------------------------------------------------ calls

    def _run(self, items: list, one, on_result: OnResult) -> None:
        secrets = self.transport.open()  # reads api_key_env (of every deployment) now: ConfigError when unset
        LoopThread.run(run_batch(len(items), lambda i: guarded(one(items[i]), secrets=secrets,
                                                              timeout_s=self.config.timeout_s,
                                                              endpoints=self.transport.endpoints),
                                 on_result, config=self.config, base_s=self.backoff_base_s, max_s=self.backoff_max_s,
                                 rng=self._rng, log=log, name=self.name))

    def _common(self) -> dict:
        return dict(temperature=0, timeout=self.config.timeout_s)

    def decode_many(self, prompts: list[str], on_result: OnResult) -> None:
        async def one(prompt: str) -> Decoded:
            kw = dict(max_tokens=self.task.max_tokens, stop=self.task.stop, **self._common())
            if self.config.style == "chat":
                r = await self.transport.request(True, messages=[{"role": "user", "content": prompt}], **kw)
                text = r.choices[0].message.content or ""
            else:
                r = await self.transport.request(False, prompt=prompt, **kw)
                text = _get(r.choices[0], "text") or ""
            usage = _get(r, "usage")
            pt = _get(usage, "prompt_tokens") or self.count_tokens(prompt)
            ct = _get(usage, "completion_tokens") or 0
            return Decoded(text=text, logprobs=(), prompt_tokens=int(pt), completion_tokens=int(ct))

        self._run(prompts, one, on_result)

    def score_many(self, pairs: list[tuple[str, str]], on_result: OnResult) -> None:
        if not self.can_score:
            raise ModelError(f"{self.name}: chat models return no prompt log-probabilities; use style: completion "
                             "on an endpoint with echo (llama.cpp server, vLLM)")

        async def one(pair: tuple[str, str]) -> Scored:
            prompt, answer = pair
            r = await self.transport.request(False, prompt=prompt + answer, max_tokens=1, echo=True, logprobs=1,
                                             **self._common())
            return self._parse_echo(r, prompt, answer)

        self._run(pairs, one, on_result)

    def _parse_echo(self, r, prompt: str, answer: str) -> Scored:
        choice = r.choices[0]
        lp = _get(choice, "logprobs")
        tokens, token_lps = _get(lp, "tokens"), _get(lp, "token_logprobs")
        tops, offsets = _get(lp, "top_logprobs"), _get(lp, "text_offset")
        if not tokens or token_lps is None or offsets is None:
            raise ProviderFault(Failure("the endpoint returned no echoed prompt log-probabilities (echo=True, "
                                        "logprobs=1); use llama.cpp's server or vLLM, or explainer.value: answer_match",
                                        None, False, kind="malformed"))
        usage = _get(r, "usage")
        n_gen = int(_get(usage, "completion_tokens") or 0)
        end = len(tokens) - n_gen
        first = next((i for i in range(end) if offsets[i] >= len(prompt)), end)
        lps = tuple(float(x) for x in token_lps[first:end])
        top = tuple(float(max(tops[i].values())) if tops and tops[i] else None for i in range(first, end))
        if n_gen and tops and tops[-1]:
            dist = tops[-1]
            stops = [v for k, v in dist.items() if any(s in k for s in self.task.stop)]
            stop_top = float(max(dist.values()))
            stop = float(max(stops)) if stops else -math.inf
        else:  # the endpoint stopped at once (end of sequence): greedy decoding stops here
            stop = stop_top = 0.0
        pt = int(_get(usage, "prompt_tokens") or len(tokens))
        return Scored(TokenScores(lps, top, stop, stop_top), prompt_tokens=pt, completion_tokens=n_gen)

"""Any litellm model as a classifier: label probabilities from next-token log-probabilities.

One call per text, ``max_tokens=1``, ``temperature=0``:

* style ``completion``: ``litellm.atext_completion(prompt=completion_prompt(...), logprobs=k)``;
* style ``chat``: ``litellm.acompletion(messages=chat_messages(...), logprobs=True, top_logprobs=k)``.

**Scoring.** From the first generated token's top-``k`` list, a token counts for
a label when ``token.strip().lower() == verbalizer.lower()``; the probabilities
of all tokens of a label are summed, then renormalised over the labels.

* A label with no token in the list gets ``min(smallest listed probability,
  probability mass outside the list)``: a cap on what it can have (each unlisted
  token is at most as likely as the least likely listed one, and all unlisted
  tokens together hold the rest of the mass). The answer is flagged
  ``label_outside_top_logprobs``.
* A provider that returns no log-probabilities at all gives a *verbalized*
  answer: one-hot on the label whose word the answer text starts with (or, as
  ``max_tokens=1`` may cut a word, the only word that starts with the text),
  flagged ``verbalized``; no match gives uniform probabilities, flagged
  ``unparsed``. proxyx never switches to another model on its own.

**Calls.** Concurrency is one asyncio code path with a semaphore of
``config.concurrency``, run on a private event-loop thread shared by all
litellm models (so litellm's per-loop client cache stays valid between
batches); ``on_answer`` is called on that thread, one answer at a time, as
each call completes. Transient failures (HTTP 408/429/500/502/503/504,
timeouts, dropped connections, malformed responses) are retried with
exponential backoff and jitter, waiting at least ``Retry-After`` when a 429 or
503 carries one; other failures (400, 401, 404, ...) are not retried. After
the last attempt a text gets no answer; once every other call of the batch has
finished and been handed to ``on_answer``, ``CallFailed`` names the model, the
HTTP status and the number of attempts. The API key is read from the variable
named by ``api_key_env`` at call time and scrubbed from every message.

**Cost.** Tokens come from the response's usage; dollars from ``config.price``
when set, else from litellm's price map; a model the map does not know costs
$0 (logged once).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported: no network at import

import asyncio
import email.utils
import logging
import math
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from ..config import ModelConfig, Price, TaskConfig
from ..errors import CallFailed, ConfigError
from ..prompt import chat_messages, completion_prompt
from .base import Answer, Model, OnAnswer, normalise

log = logging.getLogger(__name__)

#: HTTP statuses worth another attempt
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: longest Retry-After honoured; a longer one is cut to this
MAX_RETRY_AFTER_S = 120.0

FLAG_OUTSIDE = "label_outside_top_logprobs"
FLAG_VERBALIZED = "verbalized"
FLAG_UNPARSED = "unparsed"


def _litellm():
    """litellm, imported on first use and set up for offline, quiet, testable use."""
    try:
        import litellm
    except ImportError:  # pragma: no cover - litellm is a core dependency
        raise ConfigError("litellm models need litellm: pip install 'litellm>=1.60'") from None
    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on stdout
    litellm.disable_hf_tokenizer_download = True  # token_counter must not reach the Hugging Face hub
    litellm.disable_aiohttp_transport = True  # httpx: no "Unclosed connector" noise from per-call clients
    return litellm


# --------------------------------------------------------------------------- scoring


def label_probs(top: Sequence[tuple[str, float]], task: TaskConfig) -> tuple[tuple[float, ...], str | None]:
    """Probabilities over ``task.labels`` from one token's top log-probabilities (see module doc)."""
    probs = [(tok, math.exp(lp)) for tok, lp in top if lp is not None and math.isfinite(lp)]
    scores: dict[str, float] = {}
    for tok, p in probs:
        key = tok.strip().lower()
        for lab in task.labels:
            if key == task.word(lab).lower():
                scores[lab] = scores.get(lab, 0.0) + p
    missing = [lab for lab in task.labels if lab not in scores]
    if not missing:
        return normalise(scores, task.labels), None
    outside = max(0.0, 1.0 - sum(p for _, p in probs))
    cap = min(min((p for _, p in probs), default=0.0), outside)
    for lab in missing:
        scores[lab] = cap
    return normalise(scores, task.labels), FLAG_OUTSIDE


def verbalized_probs(text: str | None, task: TaskConfig) -> tuple[tuple[float, ...], str]:
    """One-hot on the label the answer text names (see module doc); uniform when it names none."""
    said = (text or "").strip().strip("\"'`*.,:;!").lower()
    words = {lab: task.word(lab).lower() for lab in task.labels}
    hits = [lab for lab, w in words.items() if said.startswith(w)]
    if not hits and said:
        hits = [lab for lab, w in words.items() if w.startswith(said)]
        hits = hits if len(hits) == 1 else []
    if not hits:
        return tuple(1.0 / len(task.labels) for _ in task.labels), FLAG_UNPARSED
    best = max(hits, key=lambda lab: len(words[lab]))
    return tuple(1.0 if lab == best else 0.0 for lab in task.labels), FLAG_VERBALIZED


def _get(obj, name: str):
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def first_token_top_logprobs(choice) -> list[tuple[str, float]] | None:
    """The first generated token's ``[(token, logprob), ...]`` from either route, or None."""
    lp = _get(choice, "logprobs")  # litellm's chat Choices has no such attribute when the provider sent none
    if not lp:
        return None
    content = _get(lp, "content")
    if content:  # chat: logprobs.content[0].top_logprobs = [{token, logprob}, ...]
        first = content[0]
        top = [(_get(t, "token"), _get(t, "logprob")) for t in (_get(first, "top_logprobs") or [])]
        if not top and _get(first, "token") is not None:
            top = [(_get(first, "token"), _get(first, "logprob"))]
    else:  # completion: logprobs.top_logprobs = [{token: logprob, ...}, ...]
        tops = _get(lp, "top_logprobs") or []
        top = list(tops[0].items()) if tops and tops[0] else []
        if not top and _get(lp, "tokens"):
            top = [(_get(lp, "tokens")[0], (_get(lp, "token_logprobs") or [None])[0])]
    top = [(str(t), float(p)) for t, p in top if t is not None and p is not None]
    return top or None


# --------------------------------------------------------------------------- failures


@dataclass(frozen=True)
class _Failure:
    """One failed attempt, described without the key."""

    reason: str
    status: int | None
    transient: bool
    retry_after: float | None = None


class _Malformed(Exception):
    """A response that parsed but holds no usable answer."""


def scrub(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without the given secrets, bearer tokens or ``sk-...`` keys."""
    for s in secrets:
        if s:
            text = text.replace(s, "[redacted]")
    text = re.sub(r"(?i)(bearer\s+)[^\s'\"]+", r"\1[redacted]", text)
    return re.sub(r"\bsk-[A-Za-z0-9_\-]{6,}", "[redacted]", text)


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds from a ``Retry-After`` (or ``retry-after-ms``) header of a failed call, if any."""
    headers = getattr(exc, "litellm_response_headers", None)  # litellm keeps the provider's headers here
    if not headers:
        try:
            headers = exc.response.headers  # type: ignore[attr-defined]
        except Exception:
            return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return min(MAX_RETRY_AFTER_S, max(0.0, float(ms) / 1000))
        value = headers.get("retry-after")
    except Exception:
        return None
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()  # an HTTP date
        except (TypeError, ValueError):
            return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def _classify(exc: BaseException, secrets: Sequence[str], timeout_s: float) -> _Failure:
    """What went wrong in one attempt, and whether another attempt may help."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return _Failure(f"no answer within timeout_s={timeout_s:g}s", 408, True)
    if isinstance(exc, (_Malformed, ValueError)):  # JSONDecodeError is a ValueError
        return _Failure(f"malformed response ({scrub(str(exc), secrets)[:160]})", None, True)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    detail = scrub(str(exc), secrets)
    detail = detail.split(" - ", 1)[-1].strip()[:200]  # drop litellm's "litellm.XError: XError: OpenAIException - "
    name = type(exc).__name__
    if "Missing credentials" in detail or "api_key client option must be set" in detail:
        # the openai SDK refuses to send without a key; litellm reports it as a 500
        return _Failure(f"no API key was sent ({detail})", 401, False)
    if "Timeout" in name:
        return _Failure(f"no answer within timeout_s={timeout_s:g}s", 408, True)
    if status is None:
        # no HTTP status: connection trouble is transient, anything else a bug or a refusal we cannot fix by waiting
        transient = "Connection" in name or isinstance(exc, (httpx.TransportError, ConnectionError))
        return _Failure(f"{name}: {detail}", None, transient)
    phrase = httpx.codes.get_reason_phrase(status) or "error"
    retry_after = retry_after_s(exc) if status in (429, 503) else None
    return _Failure(f"HTTP {status} {phrase} ({detail})", status, status in TRANSIENT_STATUS, retry_after)


def backoff_s(attempt: int, *, base_s: float, max_s: float, rng: random.Random) -> float:
    """Wait before retry ``attempt`` (0, 1, ...): uniform in [d/2, d], d = min(max_s, base_s * 2**attempt).

    The ranges of successive attempts do not overlap (until ``max_s``), so the
    wait always grows, and the jitter spreads clients that failed together.
    """
    d = min(max_s, base_s * 2**attempt)
    return d / 2 + rng.uniform(0, d / 2)


def _hint(failure: _Failure, config: ModelConfig) -> str:
    s = failure.status
    if s in (401, 403):
        if config.api_key_env is None:
            return ("set api_key_env to the NAME of a variable that holds the key "
                    "(any value will do for a local server that checks none)")
        return f"check the key in ${config.api_key_env} (api_key_env)"
    if s == 404:
        return "check the model name and api_base"
    if s == 400:
        return f"the provider refused the request; check that it supports style '{config.style}' and log-probabilities"
    if s == 429:
        return "lower concurrency or raise max_retries"
    if s == 408:
        return "raise timeout_s or lower concurrency"
    return "the provider is failing; try again later or raise max_retries"


# --------------------------------------------------------------------------- the event loop


class _LoopThread:
    """One private event loop on a daemon thread, shared by every litellm model of the process."""

    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, coro):
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


# --------------------------------------------------------------------------- the model


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

    def __init__(self, *, config: ModelConfig, task: TaskConfig):
        super().__init__(config=config, task=task)
        self._map_price: Price | None = None
        self._rng = random.Random()  # jitter must differ between processes: not seeded

    def scoring_params(self) -> dict:
        return {"max_tokens": self.max_tokens, "temperature": 0, "scoring": "first-token-top-logprobs/1"}

    # ----------------------------------------------------------- prices and tokens

    @property
    def price(self) -> Price:
        """``config.price``, else litellm's price map, else $0 (logged once)."""
        if self.config.price is not None:
            return self.config.price
        if self._map_price is None:
            try:
                info = _litellm().get_model_info(self.config.model)
                self._map_price = Price(input_per_mtok=(info.get("input_cost_per_token") or 0.0) * 1e6,
                                        output_per_mtok=(info.get("output_cost_per_token") or 0.0) * 1e6)
            except Exception:
                log.warning("%s: litellm's price map does not know this model; its calls count $0 "
                            "(set 'price:' in the model's config to count dollars)", self.name)
                self._map_price = Price()
        return self._map_price

    def _usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        if self.config.price is None and self.price != Price():
            try:
                cost_in, cost_out = _litellm().cost_per_token(model=self.config.model, prompt_tokens=prompt_tokens,
                                                              completion_tokens=completion_tokens)
                return float(cost_in + cost_out)
            except Exception:
                pass
        return self.cost(prompt_tokens, completion_tokens)

    def count_prompt_tokens(self, text: str) -> int:
        """Tokens of the full prompt by litellm's tokenizer for the model (fallback: words * 1.3)."""
        chat = self.config.style == "chat"
        prompt = chat_messages(self.task, text) if chat else completion_prompt(self.task, text)
        try:
            litellm = _litellm()
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

    def _api_key(self) -> str | None:
        env = self.config.api_key_env
        if env is None:
            return None  # litellm then uses the provider's usual variable (OPENAI_API_KEY, ...)
        key = os.environ.get(env)
        if not key:
            raise ConfigError(f"model {self.name!r}: environment variable {env} (api_key_env) is not set; "
                              f"export {env}=<your key> or change api_key_env")
        return key

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> list[Answer]:
        key = self._api_key()
        return _LoopThread.run(self._batch(texts, on_answer, key))

    async def _batch(self, texts: list[str], on_answer: OnAnswer, key: str | None) -> list[Answer]:
        slots = asyncio.Semaphore(self.config.concurrency)
        answers: list[Answer | None] = [None] * len(texts)
        failures: dict[int, tuple[_Failure, int]] = {}

        async def one(i: int) -> None:
            async with slots:  # held through the retries: a rate-limited call slows the batch down
                outcome = await self._call_with_retries(texts[i], key)
            if isinstance(outcome, Answer):
                answers[i] = outcome
                on_answer(i, outcome)
            else:
                failures[i] = outcome

        tasks = [asyncio.ensure_future(one(i)) for i in range(len(texts))]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        if failures:
            i = min(failures)
            failure, attempts = failures[i]
            raise CallFailed(
                f"{self.config.model}: {len(failures)} of {len(texts)} calls failed; first: {failure.reason} "
                f"after {attempts} attempt{'s' * (attempts != 1)}; {_hint(failure, self.config)}"
            )
        return answers  # type: ignore[return-value]

    async def _call_with_retries(self, text: str, key: str | None) -> Answer | tuple[_Failure, int]:
        secrets = [key] if key else []
        attempts = 1 + self.config.max_retries
        for attempt in range(attempts):
            try:
                response = await asyncio.wait_for(self._send(text, key), timeout=self.config.timeout_s)
                return self._answer(response, text)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # classified below: transient ones are retried, others end this text
                failure = _classify(exc, secrets, self.config.timeout_s)
            if not failure.transient or attempt == attempts - 1:
                return failure, attempt + 1
            wait = backoff_s(attempt, base_s=self.backoff_base_s, max_s=self.backoff_max_s, rng=self._rng)
            if failure.retry_after is not None:
                wait = max(wait, failure.retry_after)
            log.info("%s: %s; retry %d of %d in %.2fs", self.name, failure.reason, attempt + 1,
                     attempts - 1, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, text: str, key: str | None):
        litellm = _litellm()
        common = dict(model=self.config.model, max_tokens=self.max_tokens, temperature=0,
                      api_base=self.config.api_base, api_key=key, timeout=self.config.timeout_s,
                      num_retries=0, max_retries=0,  # proxyx retries, so that it can be tested and logged
                      drop_params=True)  # a provider without logprobs answers in words: flagged "verbalized"
        if self.config.style == "chat":
            return await litellm.acompletion(messages=chat_messages(self.task, text), logprobs=True,
                                             top_logprobs=self.config.top_logprobs, **common)
        return await litellm.atext_completion(prompt=completion_prompt(self.task, text),
                                              logprobs=self.config.top_logprobs, **common)

    def _answer(self, response, text: str) -> Answer:
        choices = _get(response, "choices")
        if not choices:
            raise _Malformed("the response has no choices")
        choice = choices[0]
        top = first_token_top_logprobs(choice)
        if top:
            probs, flag = label_probs(top, self.task)
        else:
            said = _get(_get(choice, "message"), "content") if self.config.style == "chat" else _get(choice, "text")
            probs, flag = verbalized_probs(said, self.task)
        usage = _get(response, "usage")
        pt = _get(usage, "prompt_tokens") if usage else None
        ct = _get(usage, "completion_tokens") if usage else None
        pt = int(pt) if pt is not None else self.count_prompt_tokens(text)
        ct = int(ct) if ct is not None else self.max_tokens
        return Answer(probs=probs, prompt_tokens=pt, completion_tokens=ct, usd=self._usd(pt, ct), flag=flag)


__all__ = ["LiteLLMModel", "backoff_s", "first_token_top_logprobs", "label_probs", "retry_after_s", "scrub",
           "verbalized_probs"]

"""A provider's response -> label probabilities and usage. Pure functions, no I/O.

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

**Generated text.** ``decoded_text`` reads a greedy answer; ``echo_scores``
reads the teacher-forced scores of an answer from a completion endpoint that
echoes the prompt's log-probabilities (``echo=True, logprobs=1``): the
answer's tokens are found by their character offsets, and the one generated
token's top log-probabilities tell whether greedy decoding would stop there.

``Malformed`` is the one exception raised on purpose: the provider answered
without any choice (``NoEcho``: without echoed log-probabilities). Any other
exception from here is a bug and is not retried.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...config import TaskConfig
from ..base import normalise
from ..generated import Scored, TokenScores

FLAG_OUTSIDE = "label_outside_top_logprobs"
FLAG_VERBALIZED = "verbalized"
FLAG_UNPARSED = "unparsed"


class Malformed(Exception):
    """A response that arrived but holds no usable answer (a provider fault: retried)."""


class NoEcho(Malformed):
    """A completion response without the prompt's log-probabilities: the endpoint cannot score (not retried)."""


@dataclass(frozen=True)
class Parsed:
    """What one response says: probabilities over the labels, a flag, and the usage it reports (None: absent)."""

    probs: tuple[float, ...]
    flag: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


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


def get(obj, name: str):
    """``obj[name]`` or ``obj.name``, None when absent (litellm objects and plain dicts alike)."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def first_token_top_logprobs(choice) -> list[tuple[str, float]] | None:
    """The first generated token's ``[(token, logprob), ...]`` from either route, or None."""
    lp = get(choice, "logprobs")  # litellm's chat Choices has no such attribute when the provider sent none
    if not lp:
        return None
    content = get(lp, "content")
    if content:  # chat: logprobs.content[0].top_logprobs = [{token, logprob}, ...]
        first = content[0]
        top = [(get(t, "token"), get(t, "logprob")) for t in (get(first, "top_logprobs") or [])]
        if not top and get(first, "token") is not None:
            top = [(get(first, "token"), get(first, "logprob"))]
    else:  # completion: logprobs.top_logprobs = [{token: logprob, ...}, ...]
        tops = get(lp, "top_logprobs") or []
        top = list(tops[0].items()) if tops and tops[0] else []
        if not top and get(lp, "tokens"):
            top = [(get(lp, "tokens")[0], (get(lp, "token_logprobs") or [None])[0])]
    top = [(str(t), float(p)) for t, p in top if t is not None and p is not None]
    return top or None


def parse_response(response, task: TaskConfig, style: str) -> Parsed:
    """Label probabilities and reported usage of one response of route ``style`` (``completion`` | ``chat``)."""
    choices = get(response, "choices")
    if not choices:
        raise Malformed("the response has no choices")
    choice = choices[0]
    top = first_token_top_logprobs(choice)
    if top:
        probs, flag = label_probs(top, task)
    else:
        said = get(get(choice, "message"), "content") if style == "chat" else get(choice, "text")
        probs, flag = verbalized_probs(said, task)
    usage = get(response, "usage")
    pt = get(usage, "prompt_tokens") if usage else None
    ct = get(usage, "completion_tokens") if usage else None
    return Parsed(probs, flag, None if pt is None else int(pt), None if ct is None else int(ct))


def decoded_text(response, style: str) -> str:
    """The answer text of a decode of route ``style``."""
    choice = get(response, "choices")[0]
    return (get(get(choice, "message"), "content") if style == "chat" else get(choice, "text")) or ""


def echo_scores(response, prompt: str, stop: Sequence[str]) -> Scored:
    """The teacher-forced scores of the answer from an echoed completion of ``prompt + answer`` (``max_tokens=1``);
    ``stop``: the task's stop strings (a generated token holding one stops decoding)."""
    choice = get(response, "choices")[0]
    lp = get(choice, "logprobs")
    tokens, token_lps = get(lp, "tokens"), get(lp, "token_logprobs")
    tops, offsets = get(lp, "top_logprobs"), get(lp, "text_offset")
    if not tokens or token_lps is None or offsets is None:
        raise NoEcho("the endpoint returned no echoed prompt log-probabilities (echo=True, logprobs=1); use "
                     "llama.cpp's server or vLLM, or explainer.value: answer_match")
    usage = get(response, "usage")
    n_gen = int(get(usage, "completion_tokens") or 0)
    end = len(tokens) - n_gen
    first = next((i for i in range(end) if offsets[i] >= len(prompt)), end)
    lps = tuple(float(x) for x in token_lps[first:end])
    top = tuple(float(max(tops[i].values())) if tops and tops[i] else None for i in range(first, end))
    if n_gen and tops and tops[-1]:
        dist = tops[-1]
        stops = [v for k, v in dist.items() if any(s in k for s in stop)]
        stop_top = float(max(dist.values()))
        stop_lp = float(max(stops)) if stops else -math.inf
    else:  # the endpoint stopped at once (end of sequence): greedy decoding stops here
        stop_lp = stop_top = 0.0
    pt = int(get(usage, "prompt_tokens") or len(tokens))
    return Scored(TokenScores(lps, top, stop_lp, stop_top), prompt_tokens=pt, completion_tokens=n_gen)

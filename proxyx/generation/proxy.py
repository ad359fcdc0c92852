"""A proxy for a generation oracle, and the instance-level gate.

Two kinds of proxy, both valuing the *oracle's* answer under a perturbed
context (so an explanation never depends on which model made it):

* a generation model: any litellm model, or the embedded Gemma when a
  hosted model is the oracle; it values the oracle's answer with the
  config's value function (``explainer.value``);
* ``local/answer-overlap`` (``AnswerOverlap``): the share of the oracle's
  answer's words that the kept context contains; no model, no call.

Gate: before a proxy explains a question in the oracle's place, it answers
the full input greedily; it may explain when its answer agrees with the
oracle's, ``explainer.match`` (exact, or token F1) at least
``GATE_AGREEMENT``. A proxy that does not reach the oracle's answer would
explain why the context supports an answer it does not give. The lexical
proxy answers nothing (it reads the oracle's answer), so it always passes;
whether it may substitute at all is the task-level screen's question.
"""

from __future__ import annotations

import hashlib

from ..config import Config
from ..errors import ConfigError
from ..results.generate import GenGateCheck
from ..runtime import Runtime
from .scorer import Generator
from .value import MATCHES, AnswerOverlap, Render, make_value

#: the lexical generation proxy (``AnswerOverlap``): no model, no cost
LEXICAL = "local/answer-overlap"
#: a proxy explains a question only when its own answer matches the oracle's at least this well
GATE_AGREEMENT = 0.5


def gate_rule(match: str) -> str:
    """The gate, in words, for the report."""
    what = "equals the oracle's (SQuAD-normalised)" if match == "exact" else f"has token F1 >= {GATE_AGREEMENT:g} with the oracle's"
    return (f"the proxy explains a question when its own greedy answer on the full input {what}, else the oracle "
            f"explains it; {LEXICAL} answers nothing and always passes")


def check_scoring(gen: Generator, value: str) -> None:
    """``ConfigError`` when ``value`` needs prompt log-probabilities that ``gen`` does not return."""
    if not gen.can_score and value != "answer_match":
        raise ConfigError(f"explainer.value: {value} needs prompt log-probabilities, which {gen.name} does not return "
                          "(a chat model); use value: answer_match, or style: completion on an endpoint with echo "
                          "and logprobs (llama.cpp server, vLLM)")


class GenProxy:
    """A generation model or the lexical proxy, valuing the oracle's answer (``value``) and gated (``gate``)."""

    def __init__(self, name: str, generator: Generator | None = None):
        self.name, self.generator = name, generator
        self.fingerprint = generator.fingerprint if generator else hashlib.sha256(name.encode()).hexdigest()

    def value(self, explainer, render: Render, context: Render, answer: str, purpose: str = "explain"):
        """The proxy's value function of ``answer``: ``render(mask)`` is the prompt, ``context(mask)`` the kept context."""
        if self.generator is None:
            return AnswerOverlap(context, answer)
        return make_value(explainer.value, self.generator, render, answer, match=explainer.match,
                          reuse=explainer.reuse, purpose=purpose)

    def gate(self, prompt: str, answer: str, match: str, purpose: str = "gate") -> GenGateCheck:
        """Does this proxy reach the oracle's ``answer`` on the full ``prompt``?"""
        if self.generator is None:
            return GenGateCheck(proxy=self.name, answer=None, agreement=1.0, agrees=True)
        own = self.generator.answer([prompt], purpose)[0].text
        agreement = MATCHES[match](own, answer)
        return GenGateCheck(proxy=self.name, answer=own, agreement=agreement, agrees=agreement >= GATE_AGREEMENT)

    def close(self) -> None:
        if self.generator is not None:
            self.generator.close()


def build_proxy(config: Config, runtime: Runtime, **backend) -> GenProxy | None:
    """The config's one proxy (``proxies``) in ``runtime``, or None; a model that cannot value the answer is refused."""
    if not config.proxies:
        return None
    pc = config.proxies[0]
    if pc.model == LEXICAL:
        return GenProxy(pc.name)
    gen = runtime.generator(pc, config.task, role="proxy", **backend)
    try:
        check_scoring(gen, config.explainer.value)
    except ConfigError:
        gen.close()
        raise
    return GenProxy(pc.name, gen)

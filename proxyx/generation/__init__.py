"""Explain generated text: greedy answers, teacher-forced scores, value functions (issue 11).

Public API (stable names; see each module):

    build_generator(model: ModelConfig, task: GenTask, *, cache: CallCache, ledger: Ledger,
                    role="oracle", order=True, **options) -> Generator
        Generator.answer(prompts: Sequence[str], purpose="explain") -> list[Decoded]    # greedy decode
        Generator.score(pairs: Sequence[tuple[str, str]], purpose="explain") -> list[TokenScores]
                                                     # (prompt, answer) teacher-forced; .total, .mean, .is_greedy(k)
        Generator.check(pairs, purpose="explain") -> list[TokenScores]
                                                     # the same, computed exactly as greedy decoding would (reuse)
        Generator.check_fits(prompt) -> int          # DataError (exit 2) when prompt + max_tokens > context window
        Generator.can_score, .max_tokens, .name, .fingerprint
      Any model whose class declares ``generates`` (``proxyx.models``): the embedded Gemma
      (``models.EMBEDDED_LLM``, options n_ctx=8192, n_threads=2, block=64) or any litellm model
      (score needs a completion endpoint with echo + logprobs: llama.cpp server, vLLM /v1/completions).
      Every call goes through the on-disk cache and the ledger: a rerun pays $0.

    GenTask(template="...{context}...{question}...", instruction="", max_tokens=32, stop=["\\n"],
            separator="\\n\\n")  (proxyx.config.tasks; .prompt(context, question) -> str)

    value functions (proxyx.generation.value): masks (m, d) bool -> np.ndarray (m,)
        make_value(name, gen, render, answer, *, match="f1", reuse=True, purpose="explain")
            name: "answer_logprob" | "answer_logprob_mean" | "answer_match";
            render(mask: np.ndarray) -> prompt str; answer: the oracle's greedy answer on the full input
        AnswerLogprob(gen, render, answer, *, normalise=False)
        AnswerMatch(gen, render, answer, *, match="exact"|"f1", reuse=True, max_candidates=4)
            .stats: ReuseStats(masks, decodes, checks, saved)
        exact_match(pred, gold), token_f1(pred, gold)
        AnswerOverlap(context, answer): lexical proxy, share of the answer's words in context(mask); no model call

    proxies, the gate and the screen (proxyx.generation.proxy, .screen):
        build_proxy(config, runtime) -> GenProxy | None    # .value(...), .gate(prompt, answer, match)
        screen_generate(config, on_step=None) -> ScreenResult      # ``proxyx screen`` on a generate config
    run_generate(config, *, screen=None, on_instance=...) -> ExplainReport  (proxyx.generation.pipeline)
"""

from ..models import Decoded, Scored, TokenScores
from .scorer import Generator, build_generator
from .value import AnswerLogprob, AnswerMatch, AnswerOverlap, ReuseStats, exact_match, make_value, token_f1

__all__ = [
    "AnswerLogprob", "AnswerMatch", "AnswerOverlap", "Decoded", "Generator", "ReuseStats", "Scored", "TokenScores",
    "build_generator", "exact_match", "make_value", "token_f1",
]

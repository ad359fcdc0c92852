"""Self-information of prompt units under the oracle's own token log-probabilities.

The ranking behind Selective Context and LLMLingua: what the model already
predicts well (low surprisal) carries little information and goes first.
The surprisal of token t_i is -log p(t_i | t_<i) under the embedded Gemma
oracle, from one forward pass over the prompt without an input text, with
the logits of every position (decoded in chunks, so memory stays at
``CHUNK`` x vocabulary floats). A word's or sentence's value is the sum of
its tokens' surprisals (Selective Context); a whole demonstration's is the
mean per token (LLMLingua's demonstration-level perplexity, which does not
favour removing short demonstrations). A token belongs to the unit that
holds its last character.

The pass is one call of the oracle, billed like one (every prompt token at
the oracle's input price), cached under its own fingerprint and counted in
the ledger (purpose ``self_information``). Only a llama.cpp oracle (the
embedded Gemma or a ``model_path`` GGUF) can provide it.
"""

from __future__ import annotations

import hashlib
import json
import threading

import numpy as np

from ..cache import CallCache
from ..config import ModelConfig
from ..errors import ConfigError, ModelError
from ..ledger import Ledger
from ..models import model_class, names_with
from ..models.base import Answer
from ..perturb import PromptSegments

#: positions decoded per batch (each keeps a row of vocabulary logits)
CHUNK = 64
PURPOSE = "self_information"
_LOCK = threading.Lock()


def _model_path(config: ModelConfig) -> str:
    from ..models.llamacpp import ensure_gguf

    return str(config.model_path or ensure_gguf())


def fingerprint(config: ModelConfig) -> str:
    ident = {"what": "token-surprisal/1", "model": config.model, "model_path": config.model_path}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def _surprisals(llm, tokens: list[int]) -> np.ndarray:
    """-log p(token i | tokens before it) for i = 1..n-1, from one pass with logits at every position."""
    import llama_cpp

    n_vocab = llm.n_vocab()
    out = np.zeros(len(tokens) - 1)
    batch = llama_cpp.llama_batch_init(CHUNK, 0, 1)
    try:
        for start in range(0, len(tokens) - 1, CHUNK):
            part = tokens[start: min(len(tokens) - 1, start + CHUNK)]
            batch.n_tokens = len(part)
            for j, tok in enumerate(part):
                batch.token[j], batch.pos[j], batch.n_seq_id[j] = tok, start + j, 1
                batch.seq_id[j][0], batch.logits[j] = 0, 1
            if llama_cpp.llama_decode(llm.ctx, batch) != 0:
                raise ModelError(f"llama.cpp could not evaluate a {len(tokens)}-token prompt for self-information")
            for j in range(len(part)):
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, j), shape=(n_vocab,))
                logits = logits.astype(np.float64)
                out[start + j] = np.logaddexp.reduce(logits) - logits[tokens[start + j + 1]]
    finally:
        llama_cpp.llama_batch_free(batch)
    return out


def check_token_logprobs(config: ModelConfig) -> None:
    """``ConfigError`` unless the model of ``config`` gives token log-probabilities here (``Model.token_logprobs``)."""
    if not model_class(config.model).token_logprobs:
        raise ConfigError(f"compress.methods: self_information needs the oracle's token log-probabilities, which "
                          f"only {', '.join(names_with('token_logprobs'))} gives here, not {config.model!r}; "
                          "remove it from compress.methods")


def token_surprisal(prompt: str, *, config: ModelConfig, cache: CallCache, ledger: Ledger, role: str = "oracle"
                    ) -> tuple[list[tuple[int, int]], np.ndarray]:
    """(character span of each token after the first, its surprisal in nats) of ``prompt``; cached, counted."""
    check_token_logprobs(config)
    from llama_cpp import Llama

    from ..models.llamacpp import LlamaCppModel

    with _LOCK:
        vocab = Llama(model_path=_model_path(config), vocab_only=True, verbose=False)
        tokens = vocab.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        spans, raw = [], prompt.encode("utf-8")
        for i in range(1, len(tokens)):
            end = len(vocab.detokenize(tokens[1: i + 1]))
            start = len(vocab.detokenize(tokens[1:i]))
            spans.append((len(raw[:start].decode("utf-8", "ignore")), len(raw[:end].decode("utf-8", "ignore"))))
        vocab.close()
        price = config.price or LlamaCppModel.default_price
        key, fp = (config.name, role, PURPOSE), fingerprint(config)
        found = cache.get_many(fp, [prompt]).get(prompt)
        if found is not None:
            ledger.record_hit(key, found)
            return spans, np.array(found.probs)
        usd = len(tokens) * price.input_per_mtok / 1e6
        ledger.reserve(usd)
        try:
            llm = Llama(model_path=_model_path(config), n_ctx=len(tokens) + CHUNK, n_batch=CHUNK, n_ubatch=CHUNK,
                        n_threads=2, n_threads_batch=2, swa_full=True, verbose=False)
            try:
                values = _surprisals(llm, tokens)
            finally:
                llm.close()
        finally:
            ledger.release(usd)
        answer = Answer(probs=tuple(float(v) for v in values), prompt_tokens=len(tokens), usd=usd)
        cache.put(fp, config.name, prompt, answer)
        ledger.record_call(key, answer)
        return spans, values


def unit_values(segments: PromptSegments, spans: list[tuple[int, int]], surprisal: np.ndarray) -> np.ndarray:
    """Self-information of each unit of ``segments`` (its prompt must be the one the tokens came from)."""
    return span_values(segments.spans(), spans, surprisal, per_token=segments.unit == "demonstration")


def span_values(units: list[tuple[int, int]], spans: list[tuple[int, int]], surprisal: np.ndarray, *,
                per_token: bool = False) -> np.ndarray:
    """Self-information of each character range in ``units``: the sum of its tokens' surprisals (``per_token``:
    the mean); a token belongs to the range that holds its last character."""
    total, count = np.zeros(len(units)), np.zeros(len(units))
    for (start, end), s in zip(spans, surprisal):
        if end <= start:
            continue
        last = end - 1
        for u, (a, b) in enumerate(units):
            if a <= last < b:
                total[u] += s
                count[u] += 1
                break
    if per_token:
        return np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return total

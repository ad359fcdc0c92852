"""Generated text from a GGUF model in process: greedy answers and teacher-forced scores (``LlamaCppModel``).

Deterministic KV reuse. llama.cpp's numbers for a token depend slightly on how
the prompt was cut into batches, so every prompt is always cut the same way:
aligned blocks of ``block`` tokens from position 0, then the rest of the
prompt in one batch, then one batch per answer token (as decoding feeds them).
A call reuses the KV cache for the leading batches it shares with the previous
call, so its numbers are exactly those of a fresh evaluation; masks sorted by
prompt text share long prefixes (everything before the first dropped unit).
``score`` feeds a whole answer in one batch (fast: ``answer_logprob``);
``check`` feeds it one token at a time, the way greedy decoding does, so the
greedy check of a candidate answer (``TokenScores.is_greedy``) agrees exactly
with what decoding would produce (decoded-output reuse).
"""

from __future__ import annotations

import numpy as np

from ...errors import DataError, ModelError
from ..generated import Decoded, OnResult, Scored, TokenScores


def _lse(row: np.ndarray) -> float:
    """log-sum-exp of a row of logits (the log-softmax denominator)."""
    m = row.max()
    return float(m + np.log(np.exp(row - m).sum()))


def layout(n_prompt: int, n_answer: int, block: int) -> list[int]:
    """Batch ends: aligned blocks below ``n_prompt``, the prompt's end, then one per answer token."""
    return [*range(block, n_prompt, block), n_prompt, *range(n_prompt + 1, n_prompt + n_answer + 1)]


class TextKV:
    """The generation half of ``LlamaCppModel`` (a mixin): decoding and teacher-forced scoring on ``llm_``.

    The host class loads ``llm_`` (with ``n_batch=block``) and calls ``_start_text`` once loaded; it holds
    ``task`` (a ``GenTask``), ``n_ctx``, ``block``, ``name`` and ``_lock``.
    """

    def _start_text(self, llm) -> None:
        """Forget what the KV cache holds; find the stop tokens of the task."""
        self.stop_ids_ = self._stop_ids(llm)
        self._stops = frozenset(self.stop_ids_.tolist())
        self._seq: list[int] = []  # tokens in the KV cache
        self._ends: list[tuple[int, bool]] = []  # their batches: (end, every position's logits kept)
        self._rows: dict[int, np.ndarray] = {}  # logits after the batch ending there (prompt end and answer)

    def _stop_ids(self, llm) -> np.ndarray:
        """End-of-sequence tokens and every token whose text holds a stop string."""
        ids = {llm.token_eos()}
        for tok in range(llm.n_vocab()):
            piece = llm.detokenize([tok], special=True).decode("utf-8", "ignore")
            if piece in ("<end_of_turn>", "<eos>") or any(s in piece for s in self.task.stop):
                ids.add(tok)
        return np.array(sorted(ids))

    def _prompt_tokens(self, prompt: str) -> list[int]:
        return self._load().tokenize(prompt.encode("utf-8"), add_bos=True, special=False)

    def count_tokens(self, prompt: str) -> int:
        with self._lock:
            return len(self._prompt_tokens(prompt))

    def context_limit(self) -> int:
        return self.n_ctx

    def answer_tokens(self, answer: str) -> list[int]:
        """The tokens an answer is scored as (its own tokenization, no BOS)."""
        return self._load().tokenize(answer.encode("utf-8"), add_bos=False, special=False) if answer else []

    def _feed(self, seq: list[int], ends: list[int], keep_from: int, dense_from: int | None = None) -> None:
        """Bring the KV cache to ``seq`` cut at ``ends``, reusing the leading batches it already holds.

        Logits after every batch ending at or after ``keep_from`` are kept in
        ``_rows``; a batch starting at ``dense_from`` keeps the logits of every
        position (one pass for a whole answer).
        """
        import llama_cpp

        batches = [(e, dense_from is not None and e > dense_from and b == dense_from)
                   for b, e in zip([0, *ends[:-1]], ends)]
        llm, same, start = self.llm_, 0, 0
        for a, b in zip(self._ends, batches):
            if a != b or self._seq[start:b[0]] != seq[start:b[0]]:
                break
            same, start = same + 1, b[0]
        self._rows = {e: r for e, r in self._rows.items() if e <= start}
        self._seq, self._ends = self._seq[:start], self._ends[:same]
        llm.n_tokens = start  # evaluation drops the KV cache from here on
        n_vocab = llm.n_vocab()
        try:
            for end, dense in batches[same:]:
                if dense:
                    self._eval_dense(seq[start:end])
                    for i in range(end - start):
                        row = llama_cpp.llama_get_logits_ith(llm.ctx, i)
                        self._rows[start + i + 1] = np.ctypeslib.as_array(row, shape=(n_vocab,)).astype(np.float64)
                else:
                    llm.eval(seq[start:end])
                    if end >= keep_from:
                        row = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
                        self._rows[end] = np.ctypeslib.as_array(row, shape=(n_vocab,)).astype(np.float64)
                self.evaluated_ += end - start
                self._seq += seq[start:end]
                self._ends.append((end, dense))
                start = end
        except RuntimeError as e:
            self._seq, self._ends, self._rows, llm.n_tokens = [], [], {}, 0
            raise ModelError(f"llama.cpp failed to evaluate a {len(seq)}-token input ({e})") from e

    def _eval_dense(self, tokens: list[int]) -> None:
        """``Llama.eval`` of one batch with the logits of every position (no ``logits_all`` buffer needed)."""
        llm = self.llm_
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        llm._batch.set_batch(batch=tokens, n_past=llm.n_tokens, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[llm.n_tokens : llm.n_tokens + len(tokens)] = tokens
        llm.n_tokens += len(tokens)

    def _fits(self, n: int) -> None:
        if n > self.n_ctx:
            raise DataError(f"an input of {n} tokens (prompt + answer) does not fit {self.name}'s context window of "
                            f"{self.n_ctx} tokens; shorten the context or lower task.max_tokens")

    def _best(self, row: np.ndarray, first: bool) -> int:
        """The greedy token; the first answer token is never a stop token (an answer has at least one token)."""
        tok = int(np.argmax(row))
        if first and tok in self._stops:
            masked = row.copy()
            masked[self.stop_ids_] = -np.inf
            tok = int(np.argmax(masked))
        return tok

    def decode_many(self, prompts: list[str], on_result: OnResult) -> None:
        with self._lock:
            self._load()
            for i, prompt in enumerate(prompts):
                on_result(i, self._decode(self._prompt_tokens(prompt)))

    def _decode(self, ptoks: list[int]) -> Decoded:
        n, k = len(ptoks), self.task.max_tokens
        self._fits(n + k)
        gen: list[int] = []
        lps: list[float] = []
        self._feed(ptoks, layout(n, 0, self.block), keep_from=n)
        while True:
            row = self._rows[n + len(gen)]
            tok = self._best(row, first=not gen)
            if tok in self._stops:
                break
            gen.append(tok)
            lps.append(float(row[tok] - _lse(row)))
            if len(gen) >= k:
                break
            self._feed(ptoks + gen, layout(n, len(gen), self.block), keep_from=n)
        text = self.llm_.detokenize(gen).decode("utf-8", "replace")
        return Decoded(text=text, logprobs=tuple(lps), prompt_tokens=n, completion_tokens=len(gen))

    def score_many(self, pairs: list[tuple[str, str]], on_result: OnResult) -> None:
        """Teacher-forced scores with the whole answer in one batch (fast; tiny float differences from decoding)."""
        self._score_all(pairs, on_result, dense=True)

    def check_many(self, pairs: list[tuple[str, str]], on_result: OnResult) -> None:
        """Teacher-forced scores fed one answer token at a time, exactly as greedy decoding computes them."""
        self._score_all(pairs, on_result, dense=False)

    def _score_all(self, pairs, on_result: OnResult, *, dense: bool) -> None:
        with self._lock:
            self._load()
            for i, (prompt, answer) in enumerate(pairs):
                on_result(i, self._score(self._prompt_tokens(prompt), self.answer_tokens(answer), dense))

    def _score(self, ptoks: list[int], atoks: list[int], dense: bool) -> Scored:
        n, m = len(ptoks), len(atoks)
        self._fits(n + m)
        if dense and m > 1 and m <= self.block:
            self._feed(ptoks + atoks, [*layout(n, 0, self.block), n + m], keep_from=n, dense_from=n)
        else:
            self._feed(ptoks + atoks, layout(n, m, self.block), keep_from=n)
        lps, tops = [], []
        for j in range(m + 1):
            row = self._rows[n + j]
            lse = _lse(row)
            if j < m:
                lps.append(float(row[atoks[j]] - lse))
                tops.append(float(row[self._best(row, first=j == 0)] - lse))
            else:
                stop, stop_top = float(row[self.stop_ids_].max() - lse), float(row.max() - lse)
        return Scored(TokenScores(tuple(lps), tuple(tops), stop, stop_top), prompt_tokens=n + m, completion_tokens=0)

"""The embedded LLM: a GGUF model in process via llama-cpp-python, as a classifier and as a text generator.

Built for a generation task (``GenTask``) it decodes and scores answers
(``proxyx.models.llamacpp.text``). Built for a classifier task, the
probability of a label is the next-token probability mass of every
vocabulary token that reads as the label's verbalizer word (``" positive"``,
``"positive"``, ``"Positive"``, ...), renormalised over the labels.

KV cache reuse, kept deterministic: llama.cpp's CPU kernels give slightly
different numbers for a token depending on how the prompt was cut into
batches (up to 0.04 in label probability for this model), so keeping "the
longest common prefix of the previous prompt" would make an answer depend on
which prompt came before it. Instead every prompt is cut into blocks at
places that depend only on the prompt, each block is evaluated as one batch,
and the KV cache keeps the longest run of leading blocks the prompt shares
with the previous one. An answer is then exactly what a fresh evaluation
gives. The cuts:

* a task prompt (the usual case): the task prefix (instruction, few-shot
  examples, template head), which stays in the KV cache, then the rest.
  Masked variants of one text rarely share more than a few tokens beyond the
  task prefix, so little reuse is lost.
* a whole rendered prompt answered verbatim (``raw_task``: the apps mask
  demonstrations, so the prompt has no fixed prefix): one block per
  paragraph (instruction, each demonstration, the query). Prompts are
  evaluated in sorted block order, so neighbours share their leading
  demonstrations (``scripts/bench_demo_kv.py`` measures the speed-up).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from ...config import GenTask, ModelConfig, Price, TaskConfig
from ...errors import ConfigError, DataError, ModelError
from ...prompt import completion_prompt, prompt_prefix
from ..base import Answer, Model, OnAnswer
from .text import TextKV
from .weights import gguf_file, load_llama

_PARAGRAPH = re.compile(r"(?<=\n\n)")  # cut after each blank line, keeping it
_LABEL_IDS: dict[tuple, dict[str, np.ndarray]] = {}  # (GGUF file, its mtime, verbalizers) -> label token ids


class LlamaCppModel(TextKV, Model):
    """A GGUF model run by llama-cpp-python in this process (default: Gemma 3 270M).

    It stands in for an expensive API oracle, so its default price is GPT-4o's
    list price ($2.50 per million input tokens, $10 per million output tokens):
    each call bills the full prompt's tokens (instruction, few-shot examples
    and text, as an API would) plus one completion token.

    The model is loaded on the first call, not in ``__init__``.
    """

    default_price = Price(input_per_mtok=2.5, output_per_mtok=10.0)
    completion_tokens = 1
    answers_prompts = generates = token_logprobs = gradients = cpu_threads = True

    def __init__(self, *, config: ModelConfig, task: TaskConfig | GenTask, n_ctx: int = 8192,
                 n_threads: int | None = None, block: int = 64):
        """``block``: the generation layout's batch size (``proxyx.models.llamacpp.text``)."""
        super().__init__(config=config, task=task)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or config.threads or 2
        self.block = block
        self.evaluated_ = 0  # generation: tokens evaluated (not reused), for speed measurements
        self.llm_ = None
        self.label_ids_: dict[str, np.ndarray] | None = None
        self.prefix_: list[int] = []  # tokens of the task prefix, the first block of every prompt
        self.held_: list[list[int]] = []  # the blocks in the KV cache, in order
        self._lock = threading.Lock()

    def scoring_params(self) -> dict:
        return {"scoring": "label-token-mass", "blocks": "paragraphs" if self._raw else "task-prefix+rest"}

    @property
    def _raw(self) -> bool:
        """Whether prompts come whole (no task prefix): they are cut into paragraphs."""
        return prompt_prefix(self.task) == ""

    # ------------------------------------------------------------ loading

    def model_file(self) -> Path:
        """The GGUF file: ``model_path``, or the packaged Gemma 3 270M (assembled on first use)."""
        return gguf_file(self.config.model_path)

    @property
    def _generating(self) -> bool:
        return isinstance(self.task, GenTask)

    def _load(self):
        if self.llm_ is not None:
            return self.llm_
        path = self.model_file()
        # a classifier's blocks go in batches of llama.cpp's default 512 tokens; generation's of ``block``
        llm = load_llama(path, self.name, n_ctx=self.n_ctx, n_batch=self.block if self._generating else 512,
                         n_threads=self.n_threads, n_threads_batch=self.n_threads)
        if self._generating:
            self._start_text(llm)
        else:
            self.label_ids_ = self._label_token_ids(llm, path)
            # its last token may merge with the text's first one ("Review: " + "Great" -> "▁Great"): leave it out
            self.prefix_ = llm.tokenize(prompt_prefix(self.task).encode("utf-8"), add_bos=True, special=False)[:-1]
            self.held_ = []
        self.llm_ = llm
        return llm

    def text_params(self) -> dict:
        return {"layout": f"blocks-{self.block}+rest; score: answer in one batch; decode and check: 1 per token"}

    def _label_token_ids(self, llm, path: Path) -> dict[str, np.ndarray]:
        """For each label, every token whose text (stripped, lower-cased) is its verbalizer word.

        Scanning the vocabulary takes about a second, so it is done once per model file and verbalizers.
        """
        want = {self.task.word(lab).strip().lower(): lab for lab in self.labels}
        key = (str(path), path.stat().st_mtime_ns, tuple(sorted(want.items())))
        if key not in _LABEL_IDS:
            found: dict[str, list[int]] = {lab: [] for lab in self.labels}
            for tok in range(llm.n_vocab()):
                lab = want.get(llm.detokenize([tok]).decode("utf-8", "ignore").strip().lower())
                if lab is not None:
                    found[lab].append(tok)
            for lab, ids in found.items():
                if not ids:
                    raise ConfigError(f"task.verbalizers.{lab}: {self.task.word(lab)!r} is not a single token of "
                                      f"{self.name}; choose a one-token word such as 'positive' or 'negative'")
            _LABEL_IDS[key] = {lab: np.array(ids) for lab, ids in found.items()}
        return _LABEL_IDS[key]

    def _tokens(self, text: str) -> list[int]:
        return self._load().tokenize(completion_prompt(self.task, text).encode("utf-8"), add_bos=True,
                                     special=False)

    def count_prompt_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._tokens(text))

    # ------------------------------------------------------------ scoring

    def _blocks(self, text: str) -> list[list[int]]:
        """The prompt's tokens, cut where the module docstring says: the same cuts for the same text."""
        if self._raw:
            pieces = [p for p in _PARAGRAPH.split(completion_prompt(self.task, text)) if p]
            return [self.llm_.tokenize(p.encode("utf-8"), add_bos=i == 0, special=False) for i, p in enumerate(pieces)]
        tokens, cut = self._tokens(text), len(self.prefix_)
        if 0 < cut < len(tokens) and tokens[:cut] == self.prefix_:
            return [tokens[:cut], tokens[cut:]]
        return [tokens]  # a prompt that does not start with the task prefix: one block

    def _eval(self, blocks: list[list[int]]) -> np.ndarray:
        """Last-position logits of the prompt: its leading blocks from the KV cache where they are held, then
        each remaining block as one batch (the last one always: its logits are the answer)."""
        import llama_cpp

        llm, held = self.llm_, self.held_
        common = 0
        while common < min(len(held), len(blocks) - 1) and held[common] == blocks[common]:
            common += 1
        try:
            llm.n_tokens = sum(len(b) for b in held[:common])  # llm.eval drops the KV cache from here on
            del held[common:]
            for block in blocks[common:]:
                llm.eval(block)
                held.append(block)
        except RuntimeError as e:
            llm.n_tokens, self.held_ = 0, []
            raise ModelError(f"llama.cpp failed to evaluate a {sum(map(len, blocks))}-token prompt ({e})") from e
        logits = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).astype(np.float64)

    def _probs(self, logits: np.ndarray) -> tuple[float, ...]:
        # log of each label's softmax mass; the softmax denominator cancels when renormalising
        mass = np.array([np.logaddexp.reduce(logits[self.label_ids_[lab]]) for lab in self.labels])
        p = np.exp(mass - mass.max())
        return tuple(float(x) for x in p / p.sum())

    def _predict(self, texts: list[str], on_answer: OnAnswer) -> list[Answer]:
        with self._lock:
            llm = self._load()
            blocks = [self._blocks(t) for t in texts]
            limit = llm.n_ctx()
            for i, b in enumerate(blocks):
                if sum(map(len, b)) > limit:
                    raise DataError(f"text {i} makes a {sum(map(len, b))}-token prompt but {self.name} holds "
                                    f"{limit} tokens; shorten the text or the few-shot examples")
            answers: list[Answer | None] = [None] * len(texts)
            last, probs = None, None
            for i in sorted(range(len(texts)), key=blocks.__getitem__):  # neighbours share leading blocks
                if blocks[i] != last:  # duplicates (common among masks) are answered once
                    probs, last = self._probs(self._eval(blocks[i])), blocks[i]
                pt = sum(map(len, blocks[i]))
                answers[i] = Answer(probs=probs, prompt_tokens=pt, completion_tokens=1, usd=self.cost(pt, 1))
                on_answer(i, answers[i])
            return answers

    def close(self) -> None:
        with self._lock:
            if self.llm_ is not None:
                self.llm_.close()
            self.llm_, self.held_ = None, []
            self._seq, self._ends, self._rows = [], [], {}

"""Per-example loss gradients of a torch model, restricted to named components.

A *component* is a named parameter tensor (``model.layers.3.mlp.down_proj.weight``).
``example_gradient`` differentiates one example's loss with respect to the
chosen components only, so autograd skips the weight gradients of the others.

``GemmaGradients`` runs the embedded Gemma 3 270M in torch from a float32
checkpoint made once from the same GGUF llama.cpp runs (``proxyx.influence.weights``).
The loss of an example is the cross-entropy of its label word's tokens after
the task's completion prompt (``proxyx.prompt.completion_prompt``).

Memory. Gemma's input and output embeddings are one 262144 x 640 matrix E
(63% of the model). Its gradient is the output side, A^T B (A: the P x V
gradient of the P label-token logits, B: their P x 640 hidden states), plus
the input side, a few rows (one per prompt token). ``EmbeddingGrad`` keeps
those factors (a few MB) instead of the dense 670 MB matrix, and computes
inner products and sketch blocks from them exactly; the dense matrix is never
built, so one gradient costs the 100M-parameter body in memory, and held
gradients are kept in bfloat16 (``ExampleGradient.compact``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..config import TaskConfig
from ..errors import ConfigError, ModelError
from ..models import EMBEDDED_LLM
from ..prompt import completion_prompt
from .weights import INSTALL_HINT, gguf_fingerprint, torch_checkpoint

#: elements per block when a gradient is streamed (sketches, inner products)
CHUNK = 1 << 22


def check_components(names: Sequence[str], valid: Sequence[str], *, where: str = "influence.components") -> list[str]:
    """``names`` as given, or ``ConfigError`` naming the first unknown one and listing the valid ones on one line."""
    known = set(valid)
    for name in names:
        if name not in known:
            raise ConfigError(f"{where}: unknown component {name!r}; valid components: {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a component is listed twice in {list(names)}; list each once")
    return list(names)


def example_gradient(model, loss_fn: Callable[[], object], names: Sequence[str]) -> dict[str, object]:
    """The gradient of one example's loss with respect to the named parameters.

    ``loss_fn()`` returns the scalar loss, or ``(loss, {key: tensor})`` to also
    get the gradient with respect to intermediate tensors (under ``key``).
    Only the named parameters require a gradient while the loss is built, so
    the backward pass stops at the earliest of them.
    """
    import torch

    params = dict(model.named_parameters())
    chosen = [params[n] for n in names]
    before = {n: p.requires_grad for n, p in params.items()}
    try:
        for p in params.values():
            p.requires_grad_(False)
        for p in chosen:
            p.requires_grad_(True)
        with torch.enable_grad():
            out = loss_fn()
            loss, extra = out if isinstance(out, tuple) else (out, {})
            grads = torch.autograd.grad(loss, chosen + list(extra.values()))
    finally:
        for n, p in params.items():
            p.requires_grad_(before[n])
    return {n: g.detach() for n, g in zip([*names, *extra], grads)}


def _dot(a, b) -> float:
    """Inner product of two tensors of one shape: float32 within a block, float64 across blocks (no full-size copy)."""
    a, b = a.reshape(-1), b.reshape(-1)
    return sum(float(a[i : i + CHUNK].float() @ b[i : i + CHUNK].float()) for i in range(0, a.numel(), CHUNK))


@dataclass
class EmbeddingGrad:
    """The gradient of a tied embedding E (V x H), exactly, without forming it: ``a.T @ b`` plus ``rows`` at ``ids``."""

    a: object  # P x V: gradient of the loss with respect to the logits E h_p
    b: object  # P x H: the hidden states h_p
    ids: object  # distinct rows of E the prompt looked up
    rows: object  # len(ids) x H: their gradient through the lookup

    @property
    def shape(self) -> tuple[int, int]:
        return self.a.shape[1], self.b.shape[1]

    def dot(self, other: "EmbeddingGrad") -> float:
        """<self, other>: (A1 A2^T).(B1 B2^T) + head x lookup cross terms + shared lookup rows."""
        import torch

        a1, b1, a2, b2 = self.a.double(), self.b.double(), other.a.double(), other.b.double()
        r1, r2 = self.rows.double(), other.rows.double()
        total = ((a1 @ a2.T) * (b1 @ b2.T)).sum()
        total += (a1[:, other.ids] * (b1 @ r2.T)).sum() + (a2[:, self.ids] * (b2 @ r1.T)).sum()
        shared = (self.ids[:, None] == other.ids[None, :]).nonzero()
        if len(shared):
            total += (r1[shared[:, 0]] * r2[shared[:, 1]]).sum()
        return float(total.item() if isinstance(total, torch.Tensor) else total)

    def blocks(self) -> Iterator[object]:
        """The dense gradient, flattened, in consecutive blocks of whole rows (at most ``CHUNK`` elements)."""
        v, h = self.shape
        step = max(CHUNK // h, 1)
        for start in range(0, v, step):
            block = self.a[:, start : start + step].T @ self.b
            inside = (self.ids >= start) & (self.ids < start + step)
            if inside.any():
                block.index_add_(0, self.ids[inside] - start, self.rows[inside])
            yield block.reshape(-1)


@dataclass
class ExampleGradient:
    """One example's gradient: dense tensors by component, the tied embedding as ``EmbeddingGrad``."""

    dense: dict[str, object]
    embedding: dict[str, EmbeddingGrad] = field(default_factory=dict)
    loss: float = 0.0
    tokens: int = 0
    seconds: float = 0.0

    @property
    def names(self) -> list[str]:
        return [*self.dense, *self.embedding]

    def dots(self, other: "ExampleGradient", names: Sequence[str]) -> list[float]:
        """Per-component inner products with ``other``."""
        return [self.embedding[n].dot(other.embedding[n]) if n in self.embedding else _dot(self.dense[n], other.dense[n])
                for n in names]

    def blocks(self, names: Sequence[str]) -> Iterator[tuple[str, int, object]]:
        """(component, block index, flat float32 block) for every component in ``names``."""
        for n in names:
            if n in self.embedding:
                parts = self.embedding[n].blocks()
            else:
                flat = self.dense[n].reshape(-1)
                parts = (flat[i : i + CHUNK].float() for i in range(0, flat.numel(), CHUNK))
            for i, part in enumerate(parts):
                yield n, i, part

    def compact(self) -> "ExampleGradient":
        """The same gradient with dense tensors in bfloat16 (half the memory; inner products stay float64)."""
        import torch

        return ExampleGradient({n: g.to(torch.bfloat16) for n, g in self.dense.items()}, self.embedding,
                               self.loss, self.tokens, self.seconds)


@dataclass(frozen=True)
class Example:
    """One training example or query: a text and the label whose word is the loss target."""

    text: str
    label: str


class GemmaGradients:
    """Gemma 3 270M (the embedded oracle's GGUF) in torch, for per-example label-loss gradients.

    Loaded on first use, not in ``__init__``. ``n_threads`` caps torch's CPU threads.
    """

    name = f"{EMBEDDED_LLM}:grad"  # its calls in the ledger

    def __init__(self, *, task: TaskConfig, model_path=None, n_threads: int = 2):
        self.task = task
        self.model_path = model_path
        self.n_threads = n_threads
        self.model_ = None
        self.tokenizer_ = None
        self._skeleton_ = None

    def _path(self):
        from pathlib import Path

        from ..models.llamacpp import ensure_gguf

        return Path(self.model_path) if self.model_path else ensure_gguf()

    def fingerprint(self) -> str:
        """Weights file, loss definition and task prompt: what a cached gradient depends on."""
        spec = f"{gguf_fingerprint(self._path())}\x00transformers-f32\x00label-token-ce\x00{self.task.model_dump_json()}"
        return hashlib.sha256(spec.encode()).hexdigest()[:24]

    def _imports(self) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gguf  # noqa: F401  (transformers reads GGUF files with it)
            import torch
            import transformers
        except ImportError as e:
            raise ModelError(f"gradients need torch, transformers and gguf; run: {INSTALL_HINT}") from e
        torch.set_num_threads(self.n_threads)
        transformers.logging.set_verbosity_error()

    def load(self):
        if self.model_ is not None:
            return self.model_
        self._imports()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = torch_checkpoint(self._path())
        self.tokenizer_ = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
        model.eval()
        self.model_ = model
        return model

    def _skeleton(self):
        """The model without weights (torch's meta device): names and shapes in seconds, before loading."""
        if self.model_ is not None:
            return self.model_
        if self._skeleton_ is None:
            self._imports()
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM

            path = torch_checkpoint(self._path())
            with torch.device("meta"):
                self._skeleton_ = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(path)))
        return self._skeleton_

    def components(self) -> list[str]:
        """Every component's name, in the model's order."""
        return [n for n, _ in self._skeleton().named_parameters()]

    def sizes(self) -> dict[str, int]:
        return {n: p.numel() for n, p in self._skeleton().named_parameters()}

    def _ids(self, ex: Example) -> tuple[list[int], list[int]]:
        prompt = self.tokenizer_(completion_prompt(self.task, ex.text), add_special_tokens=True)["input_ids"]
        target = self.tokenizer_(" " + self.task.word(ex.label), add_special_tokens=False)["input_ids"]
        return prompt, target

    def gradient(self, ex: Example, names: Sequence[str] | None = None) -> ExampleGradient:
        """The label-loss gradient of ``ex`` for the named components (None: all of them)."""
        model = self.load()
        prompt, target = self._ids(ex)
        start = time.perf_counter()
        g = causal_lm_gradient(model, prompt, target, list(names) if names is not None else self.components())
        g.tokens, g.seconds = len(prompt) + len(target), time.perf_counter() - start
        return g


def causal_lm_gradient(model, prompt: Sequence[int], target: Sequence[int], names: Sequence[str]) -> ExampleGradient:
    """Gradient of the cross-entropy of ``target`` after ``prompt`` for a causal LM with tied embeddings.

    The model's own forward pass (transformers' ``...ForCausalLM``: body, then
    ``lm_head``, then logit soft-capping when configured), rebuilt so that the
    tied embedding's gradient comes out as factors (``EmbeddingGrad``).
    """
    import torch

    emb = model.get_input_embeddings()
    head = model.get_output_embeddings()
    tied = head is not None and head.weight is emb.weight
    emb_name = next(n for n, p in model.named_parameters() if p is emb.weight)
    factored = tied and emb_name in names
    dense = [n for n in names if not (factored and n == emb_name)]
    ids = torch.tensor([list(prompt) + list(target)])
    cap = getattr(model.config, "final_logit_softcapping", None)
    saved: dict[str, object] = {}

    def loss_fn():
        x = emb(ids)
        if factored:
            x = x.detach().requires_grad_(True)
        h = model.model(inputs_embeds=x, use_cache=False).last_hidden_state[0, len(prompt) - 1 : -1]
        z = head(h)
        logits = torch.tanh(z / cap) * cap if cap else z
        loss = torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):])
        saved["loss"], saved["h"] = float(loss.detach()), h.detach()
        return (loss, {"\x00z": z, "\x00x": x}) if factored else loss

    grads = example_gradient(model, loss_fn, dense)
    out = ExampleGradient({n: grads[n] for n in dense}, loss=saved["loss"])
    if factored:
        scale = getattr(emb, "embed_scale", 1.0)
        rows, tok = grads["\x00x"][0] * torch.as_tensor(scale, dtype=torch.float32), ids[0]
        if emb.padding_idx is not None:  # nn.Embedding gives the padding row no gradient
            rows, tok = rows[tok != emb.padding_idx], tok[tok != emb.padding_idx]
        uniq, inverse = torch.unique(tok, return_inverse=True)
        summed = torch.zeros(len(uniq), rows.shape[1]).index_add_(0, inverse, rows)
        out.embedding[emb_name] = EmbeddingGrad(a=grads["\x00z"], b=saved["h"], ids=uniq, rows=summed)
    return out

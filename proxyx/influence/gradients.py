"""Per-example loss gradients of a torch model, restricted to named components.

A *component* is a named parameter tensor (``model.layers.3.mlp.down_proj.weight``).
``example_gradient`` differentiates one example's loss with respect to the
chosen components only, so autograd skips the weight gradients of the others.

``GemmaGradients`` loads the embedded Gemma 3 270M for autograd from the same
GGUF file llama.cpp runs (transformers dequantises it to float32; the
tokenizer comes from the GGUF too; nothing is read from a model hub). The
loss of an example is the cross-entropy of its label word's tokens after the
task's completion prompt (``proxyx.prompt.completion_prompt``).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import TaskConfig
from ..errors import ConfigError, ModelError
from ..prompt import completion_prompt

_INSTALL_HINT = "pip install torch==2.13.0 transformers gguf==0.19.0 accelerate==1.15.0"


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
    """The gradient of one example's loss (``loss_fn()``, a scalar tensor) with respect to the named parameters.

    Only the named parameters require a gradient while the loss is built, so
    the backward pass stops at the earliest of them.
    """
    import torch

    params = dict(model.named_parameters())
    chosen = [params[n] for n in names]
    before = {n: p.requires_grad for n, p in params.items()}
    try:
        for n, p in params.items():
            p.requires_grad_(False)
        for p in chosen:
            p.requires_grad_(True)
        with torch.enable_grad():
            loss = loss_fn()
            grads = torch.autograd.grad(loss, chosen)
    finally:
        for n, p in params.items():
            p.requires_grad_(before[n])
    return {n: g.detach() for n, g in zip(names, grads)}


@dataclass(frozen=True)
class Example:
    """One training example or query: a text and the label whose word is the loss target."""

    text: str
    label: str


@dataclass
class GradientResult:
    grads: dict[str, object]  # component name -> gradient tensor
    loss: float
    tokens: int
    seconds: float


def gguf_fingerprint(path) -> str:
    """Name, size and mtime of the weights file: cheap, and changes whenever the file does."""
    st = os.stat(path)
    return hashlib.sha256(f"{os.path.basename(path)}\x00{st.st_size}\x00{int(st.st_mtime)}".encode()).hexdigest()[:16]


class GemmaGradients:
    """Gemma 3 270M (the embedded oracle's GGUF) in torch, for per-example label-loss gradients.

    Loaded on first use, not in ``__init__``. ``n_threads`` caps torch's CPU threads.
    """

    name = "local/gemma-3-270m:grad"

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
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gguf  # noqa: F401  (transformers reads GGUF files with it)
            import torch
            import transformers
        except ImportError as e:
            raise ModelError(f"gradients need torch, transformers and gguf; run: {_INSTALL_HINT}") from e
        torch.set_num_threads(self.n_threads)
        transformers.logging.set_verbosity_error()

    def load(self):
        if self.model_ is not None:
            return self.model_
        self._imports()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = self._path()
        try:
            self.tokenizer_ = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
        except (ImportError, ValueError) as e:
            raise ModelError(f"transformers could not load {path} for gradients ({e}); run: {_INSTALL_HINT}") from e
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

            path = self._path()
            with torch.device("meta"):
                config = AutoConfig.from_pretrained(str(path.parent), gguf_file=path.name)
                self._skeleton_ = AutoModelForCausalLM.from_config(config)
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

    def gradient(self, ex: Example, names: Sequence[str] | None = None) -> GradientResult:
        """The label-loss gradient of ``ex`` for the named components (None: all of them)."""
        import torch

        model = self.load()
        names = list(names) if names is not None else self.components()
        prompt, target = self._ids(ex)
        ids = torch.tensor([prompt + target])
        out: dict[str, float] = {}

        def loss_fn():
            # the logits that predict the target tokens
            logits = model(input_ids=ids, logits_to_keep=len(target) + 1, use_cache=False).logits[0, :-1]
            loss = torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):])
            out["loss"] = float(loss.detach())
            return loss

        start = time.perf_counter()
        grads = example_gradient(model, loss_fn, names)
        return GradientResult(grads=grads, loss=out["loss"], tokens=len(prompt) + len(target),
                              seconds=time.perf_counter() - start)

"""The embedded Gemma's weights for torch, dequantised from its GGUF once and kept on disk.

transformers reads a GGUF by dequantising every tensor to float32 (about 40 s
and several GB of transient memory for Gemma 3 270M). ``torch_checkpoint``
does that once per GGUF file and saves the result, model and tokenizer, as a
safetensors checkpoint beside the GGUF (``data_dir()/models/<name>-torch-<fingerprint>``);
later runs load it in seconds. The directory is written under a temporary
name and renamed, so a killed run or two runs at once never leave half a checkpoint.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ..data import data_dir
from ..errors import ModelError

INSTALL_HINT = "pip install torch==2.13.0 transformers gguf==0.19.0 accelerate==1.15.0"


def gguf_fingerprint(path: Path) -> str:
    """Name, size and mtime of the weights file: cheap, and changes whenever the file does."""
    st = os.stat(path)
    return hashlib.sha256(f"{os.path.basename(path)}\x00{st.st_size}\x00{int(st.st_mtime)}".encode()).hexdigest()[:16]


def checkpoint_dir(gguf: Path) -> Path:
    return data_dir() / "models" / f"{gguf.stem}-torch-{gguf_fingerprint(gguf)}"


def torch_checkpoint(gguf: Path) -> Path:
    """The float32 safetensors checkpoint of ``gguf`` (model and tokenizer), made on first use."""
    out = checkpoint_dir(gguf)
    if (out / "model.safetensors").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except (ImportError, ValueError) as e:
        raise ModelError(f"transformers could not load {gguf} for gradients ({e}); run: {INSTALL_HINT}") from e
    try:
        from safetensors.torch import save_model

        part.mkdir(parents=True, exist_ok=True)
        # save_pretrained refuses a model read from a GGUF; its float32 weights and config are plain
        save_model(model, str(part / "model.safetensors"), metadata={"format": "pt"})  # tied weights stored once
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.save_pretrained(part)
        tokenizer.save_pretrained(part)
        del model
        try:
            os.replace(part, out)
        except OSError:  # another process finished first: keep its checkpoint
            if not (out / "model.safetensors").is_file():
                raise
    except OSError as e:
        raise ModelError(f"cannot write the torch checkpoint {out} ({e.strerror or e}); make {out.parent} "
                         "writable or set PROXYX_DATA_DIR") from e
    finally:
        shutil.rmtree(part, ignore_errors=True)
    return out

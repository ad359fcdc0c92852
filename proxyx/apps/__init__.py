"""Explanations that act: prompt compression (``run_compress``) and poisoned-demonstration removal (``run_clean``).

An app only consumes explanations: it builds a few-shot prompt, asks the
oracle and the proxies about prompts with units masked (through the cache
and the ledger), and acts on the attributions.
"""

from .clean import run_clean
from .compress import run_compress
from .render import print_clean, print_compress
from .results import CleanReport, CompressReport

__all__ = ["CleanReport", "CompressReport", "print_clean", "print_compress", "run_clean", "run_compress"]

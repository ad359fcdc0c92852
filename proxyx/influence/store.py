"""On-disk store of gradient statistics: never compute a gradient twice.

A sibling of the call cache (``proxyx.cache``): one ``.npz`` file per record
under ``cache_dir/influence/<fingerprint>/``, named by the SHA-256 of what it
depends on (the gradient model's fingerprint, the prompt text, the label,
the components, the sketch). Full gradients are far too big to keep (1 GB
each for Gemma 3 270M), so a record holds what the benchmark and lookups
need: per-component squared norms and the sketch of one example, and
per-component inner products of a (query, candidate) pair. Files are written
under a temporary name and renamed, so a killed run leaves whole records only.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..errors import CacheError


def record_key(*parts: object) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode("utf-8")).hexdigest()


class GradStore:
    """``get(key)`` / ``put(key, **arrays)`` under ``directory/influence/<fingerprint>``."""

    def __init__(self, directory: str | Path, fingerprint: str):
        self.dir = Path(directory) / "influence" / fingerprint

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError, EOFError) as e:
            raise CacheError(f"gradient record {path} is unreadable ({e}); delete it (it is recomputed) "
                             "or set cache_dir to another directory") from e

    def first_use(self, key: str) -> bool:
        """Whether this run counts ``key``'s record as a hit yet: always here (each engine counts a record once);
        a cluster's store asks its owner, so that two workers reading one record count it once
        (``proxyx.influence.sharded``)."""
        return True

    def put(self, key: str, **arrays: np.ndarray) -> None:
        path = self._path(key)
        part = path.with_name(f".{path.stem}.{os.getpid()}.part.npz")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(part, **arrays)
            os.replace(part, path)
        except OSError as e:
            part.unlink(missing_ok=True)
            raise CacheError(f"cannot write gradient record {path} ({e.strerror or e}); make cache_dir writable "
                             "or set it to another directory") from e

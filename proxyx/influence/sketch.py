"""Random projection of gradients: a seeded CountSketch (the sparse Johnson–Lindenstrauss transform).

TRAK projects with a dense Gaussian or Rademacher matrix. For Gemma 3 270M
that is 268M x d entries: about 275 GFLOP per example at d = 1024, hours on
two CPU cores (``traker``'s CPU projector builds exactly that matrix; its
fast projector needs CUDA). CountSketch sends coordinate i to one bucket
h(i) in [0, d) with a random sign s(i): one pass over the gradient, and
E[<Sx, Sy>] = <x, y> with variance at most 2 |x|^2 |y|^2 / d, the bound a
dense Rademacher projection has (Charikar et al. 2002; Kane & Nelson 2014).

h and s are drawn per component from a generator seeded by (seed, name,
chunk), so a component projects the same whatever else is projected, and
nothing the size of the model is stored. A sketch to ``dim`` folds to any d
dividing it: bucket h(i) mod d, which is a CountSketch to d.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

CHUNK = 1 << 22


def _seed(seed: int, name: str, chunk: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\x00{name}\x00{chunk}".encode()).digest()[:8], "little") >> 1


class CountSketch:
    """``project(grads)``: the sum of the components' sketches, a float64 vector of ``dim``.

    One draw r(i) in [0, 2 dim) per coordinate gives both bucket r // 2 and
    sign (-1)^r; coordinates are added into 2 dim slots and the odd slots
    subtracted from the even ones. The draws of a component are made once and
    kept (4 bytes per coordinate: 1.1 GB for all of Gemma 3 270M), so each
    projection is one pass over the gradient.
    """

    def __init__(self, *, dim: int, seed: int = 0):
        self.dim = dim
        self.seed = seed
        self._codes: dict[tuple[str, int], object] = {}

    def _code(self, name: str, chunk: int, n: int):
        import torch

        key = (name, chunk)
        if key not in self._codes:
            gen = torch.Generator().manual_seed(_seed(self.seed, name, chunk))
            self._codes[key] = torch.randint(0, 2 * self.dim, (n,), generator=gen, dtype=torch.int32)
        return self._codes[key]

    def project(self, grads: Mapping[str, object]) -> np.ndarray:
        import torch

        out = torch.zeros(2 * self.dim, dtype=torch.float64)
        slots = torch.zeros(2 * self.dim, dtype=torch.float32)
        for name, grad in grads.items():
            flat = grad.reshape(-1).to(torch.float32)
            for c, start in enumerate(range(0, flat.numel(), CHUNK)):
                part = flat[start : start + CHUNK]
                slots.zero_()
                slots.index_add_(0, self._code(name, c, part.numel()), part)
                out += slots
        return (out[0::2] - out[1::2]).numpy()


def fold(sketch: np.ndarray, d: int) -> np.ndarray:
    """The CountSketch to ``d`` (a divisor of its length) of the same vector: buckets h mod d summed."""
    if len(sketch) % d:
        raise ValueError(f"{d} does not divide the sketch size {len(sketch)}")
    return sketch.reshape(-1, d).sum(axis=0)

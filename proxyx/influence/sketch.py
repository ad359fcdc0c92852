"""Random projection of gradients: a seeded CountSketch (the sparse Johnson–Lindenstrauss transform).

TRAK projects with a dense Gaussian or Rademacher matrix. For Gemma 3 270M
that is 268M x d entries: about 275 GFLOP per example at d = 1024, hours on
two CPU cores (``traker``'s CPU projector builds exactly that matrix; its
fast projector needs CUDA). CountSketch sends coordinate i to one of 2d
slots; slot s means bucket s // 2 with sign (-1)^s: one pass over the
gradient, and E[<Sx, Sy>] = <x, y> (Charikar et al. 2002; Kane & Nelson 2014).

Slots without storing one per coordinate (that took 1.1 GB for Gemma): a
gradient arrives in blocks of at most ``CHUNK`` elements
(``proxyx.influence.gradients``). Element j of block b of component c goes to
slot (u(j) + r(c, b)) mod 2d, with u one seeded table of ``CHUNK`` uniform
slots and r(c, b) a uniform shift drawn from (seed, c, b). Any two distinct
coordinates then land in a pair of slots that is uniform and independent
(within a block through u, across blocks through the independent shifts),
the pairwise independence CountSketch needs for an unbiased inner product
with variance at most 2 |x|^2 |y|^2 / d. A sketch to ``dim`` folds to any d
dividing it: bucket h mod d, which is a CountSketch to d.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np

from .gradients import CHUNK


def _seed(seed: int, *parts: object) -> int:
    text = "\x00".join(map(str, (seed, *parts)))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def dense_blocks(grads: Mapping[str, object]) -> Iterable[tuple[str, int, object]]:
    """(name, block index, flat block) of plain tensors, in the blocks ``ExampleGradient.blocks`` uses."""
    for name, grad in grads.items():
        flat = grad.reshape(-1)
        for i, start in enumerate(range(0, flat.numel(), CHUNK)):
            yield name, i, flat[start : start + CHUNK]


class CountSketch:
    """``project(blocks)``: the sum of the blocks' sketches, a float64 vector of ``dim``."""

    def __init__(self, *, dim: int, seed: int = 0):
        self.dim = dim
        self.seed = seed
        self._slots = None

    def _table(self, n: int):
        import torch

        if self._slots is None:
            gen = torch.Generator().manual_seed(_seed(self.seed, "slots"))
            self._slots = torch.randint(0, 2 * self.dim, (CHUNK,), generator=gen, dtype=torch.int64)
        return self._slots[:n]

    def project(self, blocks: Iterable[tuple[str, int, object]] | Mapping[str, object]) -> np.ndarray:
        """Sketch of a gradient given as blocks (``ExampleGradient.blocks``) or as a mapping of tensors."""
        import torch

        if isinstance(blocks, Mapping):
            blocks = dense_blocks(blocks)
        out = torch.zeros(2 * self.dim, dtype=torch.float64)
        slots = torch.zeros(2 * self.dim, dtype=torch.float32)
        for name, index, block in blocks:
            part = block.reshape(-1).to(torch.float32)
            slots.zero_()
            slots.index_add_(0, self._table(part.numel()), part)
            out += torch.roll(slots, _seed(self.seed, name, index) % (2 * self.dim)).double()
        return (out[0::2] - out[1::2]).numpy()


def fold(sketch: np.ndarray, d: int) -> np.ndarray:
    """The CountSketch to ``d`` (a divisor of its length) of the same vector: buckets h mod d summed."""
    if len(sketch) % d:
        raise ValueError(f"{d} does not divide the sketch size {len(sketch)}")
    return sketch.astype(np.float64).reshape(-1, d).sum(axis=0)

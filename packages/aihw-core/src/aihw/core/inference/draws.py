"""The standard normals of programming and drift, from the tile's Philox streams.

Stream 0 of the engine's counters (docs/architecture/engine-contract.md §9) leaves
operations ``c1 >= 5`` free; inference uses three of them. Element ``e`` (row-major over
the ``[out, in + bias]`` matrix) of conductance matrix ``k`` takes normal ``e % 4`` of
the block with counter ``(e / 4, purpose, index, k)``, keyed by the noise seed:

========================  =======  ==========================================
numbers                   purpose  index
========================  =======  ==========================================
programming noise         5        the tile's ``program_index``
drift exponents ``nu``    6        the tile's ``program_index``
read noise of a drift     7        the tile's ``drift_index``
========================  =======  ==========================================

These are drawn once per programming or drift call, so plain torch serves.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..reference.philox import key_from_seed, normals_from_words, philox4x32_10

__all__ = ["PROGRAMMING", "DRIFT_COEFFICIENTS", "READ_NOISE", "mix_seed", "normals"]

PROGRAMMING = 5
DRIFT_COEFFICIENTS = 6
READ_NOISE = 7
_MASK64 = 2**64 - 1


def mix_seed(tile_seed: int, seed: int) -> int:
    """A noise seed from a tile seed and a user's seed (splitmix64 of their combination),
    so the tiles of a model draw different numbers for the same user seed."""
    z = (tile_seed + 0x9E3779B97F4A7C15 * (seed + 1)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def normals(
    noise_seed: int, purpose: int, index: int, k: int, shape: tuple[int, ...], device: torch.device
) -> Tensor:
    """float32 standard normals of ``shape`` for conductance matrix ``k``."""
    n = 1
    for size in shape:
        n *= size
    blocks = (n + 3) // 4
    counter = torch.zeros(blocks, 4, dtype=torch.int64)
    counter[:, 0] = torch.arange(blocks, dtype=torch.int64)
    counter[:, 1] = purpose
    counter[:, 2] = index & 0xFFFFFFFF
    counter[:, 3] = k
    words = philox4x32_10(counter, key_from_seed(noise_seed))
    z = normals_from_words(words).reshape(-1)[:n]
    return z.to(dtype=torch.float32).reshape(shape).to(device)

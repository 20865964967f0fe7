"""The standard normals of programming and drift, from counter-based Philox streams.

They are the float32 normals of the engine's device operations
(docs/architecture/engine-contract.md §8 and §9): element ``e`` (row-major over the
``[out, in + bias]`` matrix) takes normal ``e % 4`` of the block with counter
``(e / 4, 1, index, 0)``, under a key made of the tile's noise seed, the purpose and the
conductance matrix ``k`` (:func:`stream_seed`), so that no two purposes, matrices or tiles
share numbers:

========================  =======  ==========================================
numbers                   purpose  index
========================  =======  ==========================================
programming noise         5        the tile's ``program_index``
drift exponents ``nu``    6        the tile's ``program_index``
read noise of a drift     7        the tile's ``drift_index``
weight modifier           8        the tile's ``modifier_index``
second normal of a read   9        the tile's ``drift_index`` (models with
                                   ``read_normals = 2``)
========================  =======  ==========================================

The weight modifier of hardware-aware training keys its streams with the tile seed (not
the noise seed, which programming may restart) and numbers them by ``k``
(``aihw.core.inference.modifiers``).

The compiled engine draws them (its diffusion kernel with rate 1 on zeros): the CPU engine
or the CUDA kernels; the plain-torch reference, bit for bit the same, elsewhere.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .. import dispatch
from ..device_ops import device_ops_kernels

__all__ = [
    "DRIFT_COEFFICIENTS",
    "MODIFIER",
    "PROGRAMMING",
    "READ_NOISE",
    "READ_NOISE_SECOND",
    "mix_seed",
    "normals",
    "stream_seed",
]

PROGRAMMING = 5
DRIFT_COEFFICIENTS = 6
READ_NOISE = 7
MODIFIER = 8
READ_NOISE_SECOND = 9
_MASK64 = 2**64 - 1


def mix_seed(seed: int, value: int) -> int:
    """A 64-bit seed from ``seed`` and ``value`` (splitmix64 of their combination)."""
    z = (seed + 0x9E3779B97F4A7C15 * (value + 1)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def stream_seed(noise_seed: int, purpose: int, k: int) -> int:
    """The Philox key seed of ``purpose`` and conductance matrix ``k``."""
    return mix_seed(noise_seed, (purpose << 8) | k)


def normals(
    noise_seed: int,
    purpose: int,
    index: int,
    k: int,
    shape: tuple[int, ...],
    device: torch.device,
    implementation: dispatch.EngineName | None = None,
) -> Tensor:
    """float32 standard normals of ``shape`` for conductance matrix ``k``, drawn by
    ``implementation`` (default: the compiled one where it can run; all give the same
    numbers)."""
    z = torch.zeros(shape, dtype=torch.float32, device=device)
    rate = torch.ones_like(z)
    seed = stream_seed(noise_seed, purpose, k)
    kernels = device_ops_kernels(implementation or dispatch.engine_for(device, "auto"))
    kernels.diffuse(z, rate, None, None, seed, index & 0xFFFFFFFF)
    return z

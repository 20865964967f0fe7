"""Plain-torch Philox4x32-10 and the normals drawn from its words (engine contract §1, §8).

The 32-bit words are held in int64 tensors (values in ``[0, 2**32)``). The compiled twins
are :func:`aihw.core.engine.philox4x32_10`, :func:`aihw.core.engine.normals_from_words`
and :func:`aihw.core.engine.periphery_normals_from_words`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "MASK32",
    "philox_words",
    "philox4x32_10",
    "key_from_seed",
    "uniform_from_words",
    "normals_from_words",
    "periphery_normals_from_words",
]

MASK32 = 0xFFFFFFFF
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_TWO_M32 = 2.0**-32


def _mulhilo(m: int, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 64-bit product ``m * c`` as (hi, lo) 32-bit words, without int64 overflow.

    ``m`` is split in 16-bit halves so every partial product stays below 2**49.
    """
    t_lo = c * (m & 0xFFFF)
    t_hi = c * (m >> 16)
    low = t_lo + ((t_hi & 0xFFFF) << 16)
    return (t_hi >> 16) + (low >> 32), low & MASK32


def _broadcast_shape(tensors: list[torch.Tensor]) -> torch.Size:
    """The shape the tensors broadcast to (``expand`` raises where they do not)."""
    ndim = max(t.dim() for t in tensors)
    dims = [1] * ndim
    for t in tensors:
        for i, n in enumerate(t.shape, start=ndim - t.dim()):
            if n != 1:
                dims[i] = n
    return torch.Size(dims)


def philox_words(
    c0: torch.Tensor | int,
    c1: torch.Tensor | int,
    c2: torch.Tensor | int,
    c3: torch.Tensor | int,
    k0: int,
    k1: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ten Philox rounds on broadcastable int64 counter words (at least one a tensor);
    returns the four output words."""
    tensors = [c for c in (c0, c1, c2, c3) if isinstance(c, torch.Tensor)]
    like = tensors[0]
    shape = _broadcast_shape(tensors)
    w0, w1, w2, w3 = (
        (
            c
            if isinstance(c, torch.Tensor)
            else torch.tensor(c, dtype=torch.int64, device=like.device)
        )
        .to(torch.int64)
        .expand(shape)
        for c in (c0, c1, c2, c3)
    )
    for rnd in range(10):
        if rnd:
            k0 = (k0 + _W0) & MASK32
            k1 = (k1 + _W1) & MASK32
        hi0, lo0 = _mulhilo(_M0, w0)
        hi1, lo1 = _mulhilo(_M1, w2)
        w0, w1, w2, w3 = hi1 ^ w1 ^ k0, lo1, hi0 ^ w3 ^ k1, lo0
    return w0, w1, w2, w3


def key_from_seed(seed: int) -> tuple[int, int]:
    """The Philox key of a tile seed: ``(seed & 0xFFFFFFFF, seed >> 32)``."""
    return seed & MASK32, (seed >> 32) & MASK32


def philox4x32_10(counter: torch.Tensor | Sequence[int], key: Sequence[int]) -> torch.Tensor:
    """Philox4x32-10 on a batch of counters.

    Args:
        counter: int64 tensor ``[..., 4]`` (or a sequence of 4 ints) of 32-bit words.
        key: the two 32-bit key words ``(k0, k1)``.

    Returns:
        int64 tensor ``[..., 4]``: the output words, each in ``[0, 2**32)``.
    """
    if not isinstance(counter, torch.Tensor):
        counter = torch.tensor(counter, dtype=torch.int64)
    counter = counter.to(torch.int64) & MASK32
    k0, k1 = (int(k) & MASK32 for k in key)
    c = counter.unbind(-1)
    return torch.stack(philox_words(c[0], c[1], c[2], c[3], k0, k1), dim=-1)


def uniform_from_words(words: torch.Tensor) -> torch.Tensor:
    """Uniforms on [0, 1) in float64: ``r * 2**-32`` for each word ``r``."""
    return words.to(torch.float64) * _TWO_M32


def normals_from_words(words: torch.Tensor) -> torch.Tensor:
    """Four standard normals per block ``[..., 4]`` by Box-Muller, in float64.

    ``(z0, z1)`` come from ``(r0, r1)`` and ``(z2, z3)`` from ``(r2, r3)``.
    """
    ra = words[..., 0::2].to(torch.float64)
    rb = words[..., 1::2].to(torch.float64)
    u1 = (ra + 1.0) * _TWO_M32  # in (0, 1]: the log is finite
    rho = torch.sqrt(-2.0 * torch.log(u1))
    theta = (2.0 * math.pi) * (rb * _TWO_M32)
    za, zb = rho * torch.cos(theta), rho * torch.sin(theta)
    return torch.stack((za, zb), dim=-1).flatten(-2)


_F32 = torch.float32
#: Constants of the periphery's normals, as float32 values of these doubles (contract §8).
_LN2 = 0.69314718055994530942
_HALF_PI = 1.5707963267948966192
_LOG_SERIES = (1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0)
_COS_SERIES = (-1.0 / 3628800.0, 1.0 / 40320.0, -1.0 / 720.0, 1.0 / 24.0, -1.0 / 2.0, 1.0)
_SIN_SERIES = (-1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0, 1.0)


def _horner(coefficients: tuple[float, ...], x2: torch.Tensor) -> torch.Tensor:
    """``((c0 x2 + c1) x2 + c2) ...`` in float32, one rounding per operation."""
    p = torch.full_like(x2, coefficients[0])
    for c in coefficients[1:]:
        p = p * x2 + torch.tensor(c, dtype=_F32, device=x2.device)
    return p


def _box_muller(ra: torch.Tensor, rb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two float32 normals per word pair, exactly as the engine's ``periphery_box_muller``."""
    dev = ra.device
    two_m24 = torch.tensor(2.0**-24, dtype=_F32, device=dev)
    u = ((ra >> 8) + 1).to(_F32) * two_m24
    bits = u.view(torch.int32).to(torch.int64)
    e = (((bits >> 23) & 0xFF) - 126).to(_F32)
    m = ((bits & 0x007FFFFF) | 0x3F000000).to(torch.int32).view(_F32)
    one = torch.tensor(1.0, dtype=_F32, device=dev)
    s = (m - one) / (m + one)
    p = _horner(_LOG_SERIES, s * s)
    ln_u = e * torch.tensor(_LN2, dtype=_F32, device=dev) + (s * p) * 2.0
    # torch's float32 sqrt is not always correctly rounded (1 ulp); the float64 square root
    # of a float32, rounded to float32, is: it equals the engine's correctly rounded sqrtf.
    rho = torch.sqrt(torch.clamp(ln_u * -2.0, min=0.0).to(torch.float64)).to(_F32)
    q = rb >> 30
    phi = (
        ((rb >> 6) & 0x00FFFFFF).to(_F32) * two_m24 * torch.tensor(_HALF_PI, dtype=_F32, device=dev)
    )
    x2 = phi * phi
    c = _horner(_COS_SERIES, x2)
    sn = _horner(_SIN_SERIES, x2) * phi
    cq = torch.where(q == 0, c, torch.where(q == 1, -sn, torch.where(q == 2, -c, sn)))
    sq = torch.where(q == 0, sn, torch.where(q == 1, c, torch.where(q == 2, -sn, -c)))
    return rho * cq, rho * sq


def periphery_normals_from_words(words: torch.Tensor) -> torch.Tensor:
    """The periphery's four float32 normals of each Philox block ``[..., 4]`` (int64 words).

    ``(z0, z1)`` from ``(r0, r1)``, ``(z2, z3)`` from ``(r2, r3)`` by the float32
    Box-Muller of contract §8. Returns ``[..., 4]``.
    """
    za, zb = _box_muller(words[..., 0::2], words[..., 1::2])
    return torch.stack((za, zb), dim=-1).flatten(-2)

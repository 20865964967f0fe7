"""Plain-torch twins of ``aihw/f32_math.hpp`` (engine contract §12): ``exp_f32``, ``tanh_f32``,
``log2_f32``, ``exp2_f32`` and ``pow_f32`` from float32 +, -, *, / and bit operations in
the compiled order, so that both give the same bits (on CPU and CUDA tensors)."""

from __future__ import annotations

import torch

__all__ = ["exp_f32", "tanh_f32", "log2_f32", "exp2_f32", "pow_f32"]

_F32, _I32 = torch.float32, torch.int32
_LN2_HI = 0.693145751953125
_LN2_LO = 1.4286068202862268e-6
_INV_LN2 = 1.4426950408889634074
_EXP = (1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 1.0 / 2.0, 1.0, 1.0)  # after 1/5040
_SQRT_HALF_BITS = 0x3F3504F3  # float sqrt(1/2)
# log2(1 + t) / t, highest order first (minimax, degree 8); 2^r from r^6 down (degree 6)
_LOG2 = (0.12328066676855087, -0.2060668021440506, 0.21577052772045135, -0.238970085978508,
         0.28792858123779297, -0.3607138693332672, 0.480910062789917, -0.7213469743728638,
         1.4426950216293335)  # fmt: skip
_EXP2 = (0.00015405584417749196, 0.001338515430688858, 0.009618166834115982,
         0.05550375208258629, 0.24022650718688965, 0.6931471824645996, 1.0)  # fmt: skip
_ROUND_MAGIC = 12582912.0  # 1.5 * 2^23


def _pow2(n: torch.Tensor) -> torch.Tensor:
    """2^n of integer-valued float32 ``n`` in [-126, 127], from the exponent bits."""
    return ((n.to(_I32) + 127) << 23).view(_F32)


def exp_f32(y: torch.Tensor) -> torch.Tensor:
    """exp of ``y`` clamped to [-87, 88]."""
    y = y.to(_F32).clamp(-87.0, 88.0)
    n = torch.round(y * _INV_LN2)
    r = (y - n * _LN2_HI) - n * _LN2_LO
    p = torch.full_like(r, 1.0 / 5040.0)
    for c in _EXP:
        p = p * r + c
    return p * _pow2(n)


def tanh_f32(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) (1 - e) / (1 + e)``, ``e = exp_f32(-2 |x|)``."""
    e = exp_f32(x.abs() * -2.0)
    t = (1.0 - e) / (1.0 + e)
    return torch.where(x < 0, -t, t)


def log2_f32(x: torch.Tensor) -> torch.Tensor:
    """log2 of positive normal floats without a division (0: -127; subnormals: about -127)."""
    bits = x.to(_F32).contiguous().view(_I32)
    e = (bits - _SQRT_HALF_BITS) >> 23  # arithmetic shift, as the engine's int32
    m = (bits - (e << 23)).view(_F32)
    t = m - 1.0
    p = torch.full_like(t, _LOG2[0])
    for c in _LOG2[1:]:
        p = p * t + c
    return e.to(_F32) + t * p


def exp2_f32(y: torch.Tensor) -> torch.Tensor:
    """2 to the power ``y`` in [-126, 127] (unchecked)."""
    y = y.to(_F32)
    n = (y + _ROUND_MAGIC) - _ROUND_MAGIC
    r = y - n
    p = torch.full_like(r, _EXP2[0])
    for c in _EXP2[1:]:
        p = p * r + c
    return p * _pow2(n)


def pow_f32(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``x`` to the power ``g`` for ``x >= 0``: ``2^(g log2 x)``, with C pow's exact cases
    (``x^0 = 1^g = 1``, ``0^g``, ``inf^g``), 0 below ``2^-126``, +inf from ``2^127``, NaN
    for ``x < 0`` or a NaN."""
    x, g = x.to(_F32), g.to(_F32)  # (they broadcast as in torch.pow)
    tiny = x < 2.0**-126
    lg = log2_f32(x * torch.where(tiny, 2.0**24, 1.0)) - torch.where(tiny, 24.0, 0.0)
    a = g * lg
    bounded = torch.where(a > -126.0, torch.where(a < 127.0, a, 127.0), -126.0)
    r = exp2_f32(bounded)
    inf, nan = float("inf"), float("nan")
    r = torch.where(a < -126.0, 0.0, r)
    r = torch.where(a > 127.0, inf, r)
    r = torch.where(x == 0.0, torch.where(g > 0.0, 0.0, inf), r)
    r = torch.where(x == inf, torch.where(g > 0.0, inf, 0.0), r)
    r = torch.where((x >= 0.0).logical_not() | g.isnan(), nan, r)
    return torch.where((g == 0.0) | (x == 1.0), 1.0, r)

"""Plain-torch twin of :func:`aihw.core.engine.modify_weights` (engine contract §12): the
weight modifier's pass in the same float32 operations, in the same order, with the same
random numbers (contract §9's block addressing), on CPU or CUDA tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..modifier_settings import ModifierKind, ModifierSettings, ModifierStream, PcmSettings
from .device_ops import OP_DIFFUSION_NORMAL, _normals, _pick, device_op_words
from .f32_math import exp2_f32, log2_f32, tanh_f32

__all__ = ["modify_weights", "modifier_uniforms"]

_F32 = torch.float32
_TWO_M24 = 2.0**-24
_Stream = ModifierStream
#: PCMNoise's programming-noise polynomial in g / G (microsiemens at a 25 uS maximum).
PCM_PROG_COEFFS = (0.26348, 1.9650, -1.1731)
# The drift exponent's spread -0.0125 ln(g / G) - 0.0059 with a log2 slope; the read noise's
# 0.0088 (g / G)^-0.65, at most 0.2, as a power of 2 (the engine's constants).
_NU_SLOPE = -0.0125 * math.log(2.0)
_LOG2_READ_SCALE = math.log2(0.0088)
_LOG2_READ_MAX = math.log2(0.2)


def modifier_uniforms(seed: int, call_index: int, elements: torch.Tensor) -> torch.Tensor:
    """float32 uniforms on ``[0, 1)``: the top 24 bits of each element's word, times 2^-24."""
    words = _pick(device_op_words(seed, OP_DIFFUSION_NORMAL, call_index, elements), elements)
    return (words >> 8).to(_F32) * _TWO_M24


def _discretize(v: torch.Tensor, s: ModifierSettings, u: torch.Tensor | None) -> torch.Tensor:
    if s.res <= 0:
        return v
    steps = v / s.res
    if u is not None:
        return torch.floor(steps + u) * s.res
    sign = (steps > 0).to(_F32) - (steps < 0).to(_F32)
    return sign * torch.floor(steps.abs() + 0.5) * s.res


def _poly(m: torch.Tensor, coeffs: Sequence[float]) -> torch.Tensor:
    p = torch.full_like(m, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        p = p * m + c
    return p


class _Streams:
    """The numbers of one pass, stream by stream."""

    def __init__(self, seeds: Sequence[int], call_index: int, w: torch.Tensor) -> None:
        self.seeds, self.index = seeds, call_index & 0xFFFFFFFF
        self.elements = torch.arange(w.numel(), device=w.device)

    def normals(self, k: ModifierStream) -> torch.Tensor:
        return _normals(self.seeds[k], OP_DIFFUSION_NORMAL, self.index, self.elements)

    def uniforms(self, k: ModifierStream) -> torch.Tensor:
        return modifier_uniforms(self.seeds[k], self.index, self.elements)


def _pcm(w: torch.Tensor, amax: float, p: PcmSettings, rng: _Streams) -> torch.Tensor:
    """PCMNoise: the conductance of ``|w|`` with programming noise, drift and read noise."""
    g = w.abs().clamp(max=amax) * p.to_conductance
    g = torch.where(g < p.zero_threshold, 0.0, g)
    if p.p_random_end > 0:
        u, value = rng.uniforms(_Stream.STUCK), rng.uniforms(_Stream.STUCK_VALUE)
        g = torch.where(u < p.p_reset, 0.0, g)
        g = torch.where((u >= p.p_reset) & (u < p.p_gmax_end), p.g_max, g)
        g = torch.where((u >= p.p_gmax_end) & (u < p.p_random_end), value * p.g_max, g)
    g_r = g * p.inv_g_max
    rate = _poly(g_r, PCM_PROG_COEFFS) * p.prog_factor
    g = (g + rate * rng.normals(_Stream.NOISE)).clamp(min=0.0)
    g_drift = g
    if p.drift:
        sigma_nu = (log2_f32(g_r) * _NU_SLOPE - 0.0059).clamp(0.008, 0.045)
        nu = (sigma_nu * rng.normals(_Stream.DRIFT)).abs()
        g_drift = exp2_f32((nu * p.neg_log2_t).clamp(min=-126.0)) * g
    log_q = (log2_f32(g * p.inv_g_max) * -0.65 + _LOG2_READ_SCALE).clamp(max=_LOG2_READ_MAX)
    read = (exp2_f32(log_q) * p.read_factor) * g_drift
    g = (g_drift + read * rng.normals(_Stream.READ)).clamp(min=0.0)
    return torch.copysign(g, w) * p.to_weight


def modify_weights(
    weights: torch.Tensor,
    out: torch.Tensor,
    settings: ModifierSettings,
    seeds: Sequence[int],
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``out <-`` the modified copy of ``weights`` (``out`` may be ``weights``);
    ``num_threads`` is accepted for the compiled twin's signature."""
    del num_threads
    s, kind = settings, settings.kind
    w = weights.reshape(-1).to(_F32)
    rng = _Streams(seeds, call_index, w)
    xi = rng.normals(_Stream.NOISE) if kind.draws_normals else None
    u = rng.uniforms(_Stream.ROUND) if s.rounds else None
    K = ModifierKind
    if kind is K.COPY:
        result = w.clone()
    elif kind in (K.DISCRETIZE, K.DISCRETIZE_ADD_NORMAL):
        result = _discretize(w / s.amax, s, u) * s.amax
        if kind is K.DISCRETIZE_ADD_NORMAL:
            assert xi is not None
            result = result + s.factor * xi
    elif kind is K.DISCRETIZE_SCALED:
        result = _discretize(tanh_f32(w) * s.scale, s, u)
    elif kind is K.MULT_NORMAL:
        assert xi is not None
        result = w + (w * s.factor) * xi
    elif kind is K.ADD_NORMAL:
        assert xi is not None
        result = w + s.factor * xi
    elif kind is K.PCM_NOISE:
        assert s.pcm is not None
        result = _pcm(w, s.amax, s.pcm, rng)
    else:  # POLY, PROG_NOISE
        assert xi is not None
        rate = _poly(w.abs() / s.amax, s.coeffs) * s.factor
        result = w + rate * xi
        if kind is K.PROG_NOISE:
            result = result.abs() * torch.where(w < 0, -1.0, 1.0)
    if s.pdrop > 0:
        dropped = rng.uniforms(_Stream.DROP) < s.pdrop
        result = result.masked_fill(dropped, 0.0)
    out.copy_(result.view(out.shape))

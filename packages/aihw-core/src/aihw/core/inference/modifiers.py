"""Weight modifiers of hardware-aware training: after every optimizer step a tile draws a
modified (noisy, discretised or dropped) copy of its weights that the training passes use
(docs/physics/inference.md#hardware-aware-training).

The random numbers are the float32 normals of the counter-based Philox streams
(:mod:`aihw.core.inference.draws`, purpose :data:`~aihw.core.inference.draws.MODIFIER`,
the tile's ``modifier_index`` as index), one stream ``k`` per use; a uniform number is
``Phi(z)`` of a normal ``z``. A seed therefore fixes every copy, and a checkpoint resumes
with the same ones.
"""

from __future__ import annotations

import dataclasses
import enum
import math

import torch
from torch import Tensor

from .. import dispatch
from ..device_ops import device_ops_kernels
from . import draws
from ._checks import check_real, check_reals, invalid
from ._enums import check_enum

__all__ = [
    "WeightModifierParameter",
    "WeightModifierType",
    "modifier_amax",
    "modify_weights",
]

#: Streams ``k`` of the modifier's draws.
_NOISE, _ROUND, _DROP, _STUCK, _STUCK_VALUE, _DRIFT, _READ = range(7)

#: Programming-noise polynomial of the PCM model in microsiemens at a 25 uS maximum, the
#: read time and the 1/f constant used by ``PCMNoise`` (docs/physics/inference.md).
_PCM_PROG_COEFF = (0.26348, 1.9650, -1.1731)
_PCM_G_REF = 25.0
_T_READ = 250e-9
_SQRT_HALF = math.sqrt(0.5)


class WeightModifierType(enum.Enum):
    """What the modifier does to the weights (the reference toolkit's names)."""

    NONE = "None"
    """Nothing (``pdrop`` still acts)."""
    COPY = "Copy"
    """Legacy: as ``DropConnect``."""
    DISCRETIZE = "Discretize"
    """``a * D(W / a)``: rounded to ``res`` steps of the range."""
    MULT_NORMAL = "MultNormal"
    """``W + W * std_dev * a * xi``."""
    ADD_NORMAL = "AddNormal"
    """``W + std_dev * a * xi``."""
    DISCRETIZE_ADD_NORMAL = "DiscretizeAddNormal"
    """``a * D(W / a) + std_dev * a * xi``."""
    DOREFA = "DoReFa"
    """``D(tanh(W) * |dorefa_clip / tanh(a)|)``."""
    POLY = "Poly"
    """``W + a * std_dev * (sum_k c_k (|W|/a)^k) * xi``."""
    PCM_NOISE = "PCMNoise"
    """Programming noise, drift variation and read noise of the PCM model."""
    PROG_NOISE = "ProgNoise"
    """``sign(W) * |W + a * sigma * xi|`` with ``sigma = std_dev / g_max * sum_k c_k
    (|W|/a)^k``."""
    DROP_CONNECT = "DropConnect"
    """No noise; only ``pdrop`` acts."""


@dataclasses.dataclass
class WeightModifierParameter:
    """The weight modifier of hardware-aware training (the reference toolkit's name and
    defaults).

    Args:
        type: a :class:`WeightModifierType` (or its value, e.g. ``"AddNormal"``).
        std_dev: the noise scale, ``>= 0``.
        res: the discretisation step of ``Discretize``, ``DiscretizeAddNormal`` and
            ``DoReFa``: a fraction of the range (``<= 1``, e.g. ``1/127``) or, like the
            periphery's resolutions, a number of steps (``> 1``, e.g. 127); 0: none.
        sto_round: round stochastically (unbiased) instead of to the nearest step.
        dorefa_clip: the output range of ``DoReFa``, ``> 0``.
        pdrop: after any type, the probability that a weight is set to 0, in ``[0, 1]``.
        enable_during_test: use the modified weights in eval mode too.
        rel_to_actual_wmax: ``a`` is the tile's ``max |W|`` (1 where that is 0); else
            ``assumed_wmax``.
        assumed_wmax: ``a`` when not ``rel_to_actual_wmax``, ``> 0``.
        copy_last_column: leave the last column (an analog bias) unmodified; ``max |W|``
            then ignores it.
        coeffs: the polynomial of ``Poly`` and ``ProgNoise``, lowest order first.
        g_max: the maximal conductance of ``ProgNoise`` and ``PCMNoise``, ``> 0``.
        pcm_zero_thres: ``PCMNoise``: conductances below ``pcm_zero_thres * std_dev *
            0.26348`` are set to 0, ``>= 0``.
        pcm_t_inference: ``PCMNoise``: the time since programming of the drift and read
            noise, in seconds, ``>= 0``.
        pcm_prob_at_reset, pcm_prob_at_gmax, pcm_prob_at_random: ``PCMNoise``: the
            probabilities that a device is stuck at 0, at ``g_max`` or at a uniform value,
            each in ``[0, 1]`` and their sum ``<= 1``.
        pcm_t0: ``PCMNoise``: the time of the first read after programming, ``> 0``.
    """

    type: WeightModifierType | str = WeightModifierType.NONE
    std_dev: float = 0.0
    res: float = 0.0
    sto_round: bool = False
    dorefa_clip: float = 0.6
    pdrop: float = 0.0
    enable_during_test: bool = False
    rel_to_actual_wmax: bool = True
    assumed_wmax: float = 1.0
    copy_last_column: bool = False
    coeffs: tuple[float, ...] | list[float] = (0.0105392, 0.0768, -0.046925)
    g_max: float = 25.0
    pcm_zero_thres: float = 0.0
    pcm_t_inference: float = 0.0
    pcm_prob_at_reset: float = 0.0
    pcm_prob_at_gmax: float = 0.0
    pcm_prob_at_random: float = 0.0
    pcm_t0: float = 20.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, its value and what is allowed; a valid
        ``type`` given as a string becomes the member."""
        kind = check_enum(self, "type", WeightModifierType)
        for name in ("std_dev", "res", "pcm_zero_thres", "pcm_t_inference"):
            check_real(self, name, 0.0)
        for name in ("dorefa_clip", "assumed_wmax", "g_max", "pcm_t0"):
            check_real(self, name, 0.0, strict=True)
        for name in ("pdrop", "pcm_prob_at_reset", "pcm_prob_at_gmax", "pcm_prob_at_random"):
            if check_real(self, name, 0.0) > 1.0:
                invalid(self, name, getattr(self, name), "a probability in [0, 1]")
        stuck = self.pcm_prob_at_reset + self.pcm_prob_at_gmax + self.pcm_prob_at_random
        if stuck > 1.0:
            invalid(self, "pcm_prob_at_random", self.pcm_prob_at_random,
                    "a value that keeps pcm_prob_at_reset + pcm_prob_at_gmax + "
                    "pcm_prob_at_random <= 1")  # fmt: skip
        for name in ("sto_round", "enable_during_test", "rel_to_actual_wmax", "copy_last_column"):
            if not isinstance(getattr(self, name), bool):
                invalid(self, name, getattr(self, name), "True or False")
        check_reals(self, "coeffs")
        self.type = kind

    @property
    def enabled(self) -> bool:
        """Whether the modifier changes anything (a type other than None, Copy and
        DropConnect, or ``pdrop > 0``)."""
        kind = check_enum(self, "type", WeightModifierType)
        plain = kind in (WeightModifierType.NONE, WeightModifierType.COPY,
                         WeightModifierType.DROP_CONNECT)  # fmt: skip
        return not plain or self.pdrop > 0


def modifier_amax(weights: Tensor, param: WeightModifierParameter) -> float:
    """The range ``a`` of the modifier: ``max |W|`` (without the last column if
    ``copy_last_column``; 1 where it is 0) if ``rel_to_actual_wmax``, else
    ``assumed_wmax``."""
    if not param.rel_to_actual_wmax:
        return float(param.assumed_wmax)
    part = weights[:, :-1] if param.copy_last_column and weights.shape[1] > 1 else weights
    if not part.numel():
        return 1.0
    low, high = torch.aminmax(part)  # one pass, no |W| temporary
    amax = max(-float(low), float(high))
    return amax if amax > 0 else 1.0


class _Draws:
    """The modifier's streams for one call: ``add_normal(base, rate, k)``, ``normal(k)``
    and ``uniform(k)``."""

    def __init__(self, seed: int, index: int, shape: tuple[int, ...], device: torch.device):
        self.seed, self.index, self.shape, self.device = seed, index, shape, device

    def add_normal(self, base: Tensor, rate: Tensor, k: int) -> Tensor:
        """``base + rate * xi`` in place on ``base`` (a contiguous float32 tensor of ours),
        by the engine's diffusion kernel (its plain-torch twin off the compiled CPU path):
        one pass, the same bits either way."""
        seed = draws.stream_seed(self.seed, draws.MODIFIER, k)
        index = self.index & 0xFFFFFFFF
        kernels = device_ops_kernels(dispatch.engine_for(base.device, "auto"))
        kernels.diffuse(base, rate, None, None, seed, index, torch.get_num_threads())
        return base

    def normal(self, k: int) -> Tensor:
        z = torch.zeros(self.shape, dtype=torch.float32, device=self.device)
        return self.add_normal(z, torch.ones_like(z), k)

    def uniform(self, k: int) -> Tensor:
        """``Phi(z)`` of the normals of stream ``k``: uniform in ``(0, 1)``."""
        z = self.normal(k)
        return z.mul_(_SQRT_HALF).erf_().add_(1.0).mul_(0.5)


def _discretize(v: Tensor, param: WeightModifierParameter, rng: _Draws) -> Tensor:
    """``v`` rounded to multiples of ``res`` (half away from zero, or stochastically)."""
    res = float(param.res)
    if res <= 0:
        return v
    if res > 1:  # a number of steps, as the periphery's resolutions
        res = 1.0 / res
    steps = v / res
    if param.sto_round:
        return torch.floor(steps + rng.uniform(_ROUND)) * res
    return torch.sign(steps) * torch.floor(steps.abs() + 0.5) * res


def _poly(magnitude: Tensor, coeffs: tuple[float, ...]) -> Tensor:
    """``sum_k coeffs[k] * magnitude**k`` (Horner)."""
    result = torch.full_like(magnitude, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        result = result * magnitude + c
    return result


def _pcm_noise(w: Tensor, amax: float, param: WeightModifierParameter, rng: _Draws) -> Tensor:
    """Programming noise, drift variation and read noise of the PCM model on ``|W|``
    mapped to conductances, the sign kept."""
    g_max, std = float(param.g_max), float(param.std_dev)
    sign = torch.where(w < 0, -1.0, 1.0)
    g = w.abs().clamp(max=amax) * (g_max / amax)
    threshold = float(param.pcm_zero_thres) * std * _PCM_PROG_COEFF[0]
    if threshold > 0:
        g = torch.where(g < threshold, 0.0, g)
    p_reset, p_gmax = float(param.pcm_prob_at_reset), float(param.pcm_prob_at_gmax)
    p_random = float(param.pcm_prob_at_random)
    if p_reset + p_gmax + p_random > 0:
        u = rng.uniform(_STUCK)
        g = torch.where(u < p_reset, 0.0, g)
        g = torch.where((u >= p_reset) & (u < p_reset + p_gmax), g_max, g)
        random = (u >= p_reset + p_gmax) & (u < p_reset + p_gmax + p_random)
        g = torch.where(random, rng.uniform(_STUCK_VALUE) * g_max, g)
    g_r = g / g_max
    sigma = _poly(g_r, _PCM_PROG_COEFF) * (g_max / _PCM_G_REF)
    g = (g + std * sigma * rng.normal(_NOISE)).clamp(min=0.0)
    t = float(param.pcm_t_inference) + float(param.pcm_t0)
    if t > param.pcm_t0:
        g_rr = g_r.abs().clamp(min=1e-7)
        sigma_nu = (-0.0125 * torch.log(g_rr) - 0.0059).clamp(0.008, 0.045)
        nu = (sigma_nu * rng.normal(_DRIFT)).abs()
        g_drift = g * torch.pow(t / float(param.pcm_t0), -nu)
    else:
        g_drift = g
    q_s = (0.0088 / (g / g_max).pow(0.65).clamp(min=1e-3)).clamp(max=0.2)
    sigma_r = q_s * math.sqrt(math.log((t + _T_READ) / (2 * _T_READ)))
    g = (g_drift + g_drift.abs() * std * sigma_r * rng.normal(_READ)).clamp(min=0.0)
    return sign * g * (amax / g_max)


def modify_weights(
    weights: Tensor,
    param: WeightModifierParameter,
    seed: int,
    index: int,
    out: Tensor | None = None,
) -> Tensor:
    """The modified copy of ``weights`` ``[out, x]`` (float32), drawn from stream index
    ``index`` under ``seed``; written into ``out`` when given.

    ``weights`` is not changed. See :class:`WeightModifierType` for what each type does.
    """
    kind = check_enum(param, "type", WeightModifierType)
    w = weights.detach().contiguous()
    rng = _Draws(seed, index, tuple(w.shape), w.device)
    amax = modifier_amax(w, param)
    std = float(param.std_dev)
    T = WeightModifierType
    if kind is T.DISCRETIZE:
        result = _discretize(w / amax, param, rng) * amax
    elif kind is T.MULT_NORMAL:
        result = rng.add_normal(
            w.clone(memory_format=torch.contiguous_format), w * (std * amax), _NOISE
        )
    elif kind is T.ADD_NORMAL:
        result = rng.add_normal(
            w.clone(memory_format=torch.contiguous_format), torch.full_like(w, std * amax), _NOISE
        )
    elif kind is T.DISCRETIZE_ADD_NORMAL:
        base = (_discretize(w / amax, param, rng) * amax).contiguous()
        result = rng.add_normal(base, torch.full_like(w, std * amax), _NOISE)
    elif kind is T.DOREFA:
        scale = abs(float(param.dorefa_clip) / math.tanh(amax))
        result = _discretize(torch.tanh(w) * scale, param, rng)
    elif kind is T.POLY:
        coeffs = tuple(float(c) for c in param.coeffs)
        rate = _poly(w.abs() / amax, coeffs).mul_(amax * std).contiguous()
        result = rng.add_normal(w.clone(memory_format=torch.contiguous_format), rate, _NOISE)
    elif kind is T.PROG_NOISE:
        coeffs = tuple(float(c) for c in param.coeffs)
        rate = _poly(w.abs() / amax, coeffs).mul_(amax * std / float(param.g_max)).contiguous()
        noisy = rng.add_normal(w.clone(memory_format=torch.contiguous_format), rate, _NOISE)
        result = noisy.abs_().mul_(torch.where(w < 0, -1.0, 1.0))
    elif kind is T.PCM_NOISE:
        result = _pcm_noise(w, amax, param, rng)
    else:  # None, Copy, DropConnect
        result = w.clone() if out is None else w
    if param.pdrop > 0:
        dropped = rng.uniform(_DROP) < float(param.pdrop)
        result = result.masked_fill(dropped, 0.0)
    if param.copy_last_column:
        if result is w:
            result = w.clone()
        result[:, -1] = w[:, -1]
    result = result.to(torch.float32)
    if out is None:
        return result
    out.copy_(result)
    return out

"""Weight modifiers of hardware-aware training: after every optimizer step a tile draws a
modified (noisy, discretised or dropped) copy of its weights that the training passes use
(docs/physics/inference.md#hardware-aware-training).

Every type is one pass of the engine (:func:`aihw.core.engine.modify_weights` on the CPU,
its plain-torch twin :func:`aihw.core.reference.modifiers.modify_weights` elsewhere; the
same bits, engine contract §12). The random numbers come from the counter-based Philox
streams (:mod:`aihw.core.inference.draws`, purpose :data:`~aihw.core.inference.draws.MODIFIER`,
the tile's ``modifier_index`` as index), one stream ``k`` per use: float32 normals, and
uniforms from the top 24 bits of the same words. A seed therefore fixes every copy, and a
checkpoint resumes with the same ones.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
from typing import Any

import torch
from torch import Tensor

from .. import dispatch, engine
from ..modifier_settings import (
    MAX_COEFFS,
    ModifierKind,
    ModifierSettings,
    ModifierStream,
    PcmSettings,
)
from ..reference import modifiers as reference_modifiers
from . import draws
from ._checks import check_real, check_reals, invalid
from ._enums import check_enum

__all__ = [
    "WeightModifierParameter",
    "WeightModifierType",
    "ModifierCache",
    "modifier_amax",
    "modify_weights",
]

#: The PCM model's reference maximum conductance (uS) of its programming-noise polynomial,
#: and its read time (docs/physics/inference.md).
_PCM_G_REF = 25.0
_T_READ = 250e-9


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
        coeffs: the polynomial of ``Poly`` and ``ProgNoise``, lowest order first (1 to 16 of them).
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
        if len(check_reals(self, "coeffs")) > MAX_COEFFS:
            invalid(self, "coeffs", self.coeffs, f"a list of 1 to {MAX_COEFFS} finite numbers")
        self.type = kind

    @property
    def enabled(self) -> bool:
        """Whether the modifier changes anything (a type other than None, Copy and
        DropConnect, or ``pdrop > 0``)."""
        kind = check_enum(self, "type", WeightModifierType)
        plain = kind in (WeightModifierType.NONE, WeightModifierType.COPY,
                         WeightModifierType.DROP_CONNECT)  # fmt: skip
        return not plain or self.pdrop > 0


def modifier_amax(
    weights: Tensor, param: WeightModifierParameter, implementation: str = "reference"
) -> float:
    """The range ``a`` of the modifier: ``max |W|`` (without the last column if
    ``copy_last_column``; 1 where it is 0) if ``rel_to_actual_wmax``, else
    ``assumed_wmax``. ``implementation="native"`` (contiguous float32 CPU ``weights``)
    reads it with the engine's vectorised ``max |x|`` (the same number, a third of
    ``aminmax``'s time)."""
    if not param.rel_to_actual_wmax:
        return float(param.assumed_wmax)
    last = param.copy_last_column and weights.shape[1] > 1
    part = weights[:, :-1] if last else weights
    if not part.numel():
        return 1.0
    if implementation == "native" and not last:
        amax = float(engine.row_abs_max(weights.view(1, -1), 1)[0])
    else:
        low, high = torch.aminmax(part)  # one pass, no |W| temporary
        amax = max(-float(low), float(high))
    return amax if amax > 0 else 1.0


@functools.lru_cache(maxsize=256)
def _stream_seeds(seed: int) -> tuple[int, ...]:
    """The modifier's Philox seeds of a tile seed, by stream (the same every step)."""
    return tuple(draws.stream_seed(seed, draws.MODIFIER, k) for k in ModifierStream)


def _pass_settings(
    kind: WeightModifierType, param: WeightModifierParameter, amax: float
) -> ModifierSettings:
    """The engine pass of ``kind``."""
    T, K = WeightModifierType, ModifierKind
    std = float(param.std_dev)
    res = float(param.res)
    if res > 1:  # a number of steps, as the periphery's resolutions
        res = 1.0 / res
    sto_round, pdrop = bool(param.sto_round), float(param.pdrop)

    def make(
        k: ModifierKind,
        factor: float = 0.0,
        scale: float = 1.0,
        coeffs: tuple[float, ...] = (),
        pcm: PcmSettings | None = None,
    ) -> ModifierSettings:
        return ModifierSettings(k, amax, factor, res, scale, sto_round, pdrop, coeffs, pcm)

    if kind is T.DISCRETIZE:
        return make(K.DISCRETIZE)
    if kind in _KINDS:
        return make(_KINDS[kind], factor=std * amax)
    if kind is T.DOREFA:
        return make(K.DISCRETIZE_SCALED, scale=abs(float(param.dorefa_clip) / math.tanh(amax)))
    coeffs = tuple(float(c) for c in param.coeffs)  # 1 to MAX_COEFFS (validate)
    if kind is T.POLY:
        return make(K.POLY, factor=amax * std, coeffs=coeffs)
    if kind is T.PROG_NOISE:
        return make(K.PROG_NOISE, factor=amax * std / float(param.g_max), coeffs=coeffs)
    if kind is T.PCM_NOISE:
        return make(K.PCM_NOISE, pcm=_pcm_settings(param, amax))
    return make(K.COPY)


_KINDS = {
    WeightModifierType.MULT_NORMAL: ModifierKind.MULT_NORMAL,
    WeightModifierType.ADD_NORMAL: ModifierKind.ADD_NORMAL,
    WeightModifierType.DISCRETIZE_ADD_NORMAL: ModifierKind.DISCRETIZE_ADD_NORMAL,
}


def _pcm_settings(param: WeightModifierParameter, amax: float) -> PcmSettings:
    g_max = float(param.g_max)
    fixed = _pcm_fixed(g_max, float(param.std_dev), float(param.pcm_zero_thres),
                       float(param.pcm_prob_at_reset), float(param.pcm_prob_at_gmax),
                       float(param.pcm_prob_at_random), float(param.pcm_t0),
                       float(param.pcm_t_inference))  # fmt: skip
    return PcmSettings(to_conductance=g_max / amax, to_weight=amax / g_max, **fixed)


@functools.lru_cache(maxsize=64)
def _pcm_fixed(
    g_max: float,
    std: float,
    zero_thres: float,
    p_reset: float,
    p_gmax: float,
    p_random: float,
    t0: float,
    t_inference: float,
) -> dict[str, Any]:
    """PCMNoise's numbers that do not depend on the range (the same every step)."""
    t = t_inference + t0
    return {
        "g_max": g_max,
        "inv_g_max": 1.0 / g_max,
        "prog_factor": g_max / _PCM_G_REF * std,
        "zero_threshold": zero_thres * std * reference_modifiers.PCM_PROG_COEFFS[0],
        "p_reset": p_reset,
        "p_gmax_end": p_reset + p_gmax,
        "p_random_end": p_reset + p_gmax + p_random,
        "drift": t > t0,
        "neg_log2_t": -math.log2(t / t0),
        "read_factor": std * math.sqrt(math.log((t + _T_READ) / (2 * _T_READ))),
    }


class ModifierCache:
    """A tile's last modifier settings, reused while the parameters and the range ``a``
    stay the same (the range of ``rel_to_actual_wmax`` moves with every update; the
    parameters are compared field by field, so a changed field is seen)."""

    __slots__ = ("_fields", "_amax", "_settings")

    def __init__(self) -> None:
        self._fields: dict[str, object] | None = None
        self._amax = math.nan
        self._settings: ModifierSettings | None = None

    def settings(
        self, kind: WeightModifierType, param: WeightModifierParameter, amax: float
    ) -> ModifierSettings:
        fields = {**vars(param), "coeffs": tuple(param.coeffs)}  # a copy: lists may change
        if self._settings is None or amax != self._amax or fields != self._fields:
            self._settings = _pass_settings(kind, param, amax)
            self._fields, self._amax = fields, amax
        return self._settings


def modify_weights(
    weights: Tensor,
    param: WeightModifierParameter,
    seed: int,
    index: int,
    out: Tensor | None = None,
    implementation: dispatch.EngineName | None = None,
    cache: ModifierCache | None = None,
) -> Tensor:
    """The modified copy of ``weights`` ``[out, x]`` (float32), drawn from stream index
    ``index`` under ``seed``; written into ``out`` when given.

    ``weights`` is not changed. See :class:`WeightModifierType` for what each type does.
    ``implementation``: ``"native"`` (the compiled pass, CPU tensors) or ``"reference"``
    (plain torch, any device); default: the compiled pass where it can run. ``cache``:
    the caller's ``ModifierCache`` (a tile's), so that unchanged settings are not
    rebuilt.
    """
    kind = check_enum(param, "type", WeightModifierType)
    w = weights.detach().to(torch.float32).contiguous()
    if implementation is None:
        implementation = dispatch.engine_for(w.device, "auto")
    amax = modifier_amax(w, param, implementation)
    settings = (cache or ModifierCache()).settings(kind, param, amax)
    seeds = _stream_seeds(seed)
    last = w[:, -1].clone() if param.copy_last_column else None
    usable = out is not None and out.dtype == torch.float32 and out.is_contiguous()
    result = out if usable and out is not None else torch.empty_like(w)
    passes = engine if implementation == "native" else reference_modifiers
    passes.modify_weights(w, result, settings, seeds, index, torch.get_num_threads())
    if last is not None:
        result[:, -1] = last
    if out is not None and result is not out:
        out.copy_(result)
        return out
    return result

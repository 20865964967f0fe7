"""Weight clipping during hardware-aware training: after every optimizer step the tile's
weights are clipped symmetrically to ``[-c, c]`` (docs/physics/inference.md)."""

from __future__ import annotations

import dataclasses
import enum
import math

import torch
from torch import Tensor

from ._checks import check_real
from ._enums import check_enum

__all__ = ["WeightClipParameter", "WeightClipType", "clip_bound", "clip_weights"]


class WeightClipType(enum.Enum):
    """How the clipping bound ``c`` is chosen."""

    NONE = "None"
    """No clipping."""
    FIXED_VALUE = "FixedValue"
    """``c = fixed_value``."""
    LAYER_GAUSSIAN = "LayerGaussian"
    """``c = sigma * std(W)`` (sample standard deviation, ``n - 1``)."""
    AVERAGE_CHANNEL_MAX = "AverageChannelMax"
    """``c`` = the mean over the outputs (rows) of each row's ``max |W|``."""


@dataclasses.dataclass
class WeightClipParameter:
    """Clipping of the weights after each optimizer step (the reference toolkit's name).

    Args:
        type: a :class:`WeightClipType` (or its value, e.g. ``"FixedValue"``).
        fixed_value: the bound of ``FixedValue``; for the other types, an upper limit of
            the bound when ``> 0``.
        sigma: the multiple of the standard deviation of ``LayerGaussian``.

    A bound ``c <= 0`` clips nothing.
    """

    type: WeightClipType | str = WeightClipType.NONE
    fixed_value: float = -1.0
    sigma: float = 2.5

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, its value and what is allowed."""
        kind = check_enum(self, "type", WeightClipType)
        check_real(self, "fixed_value")
        check_real(self, "sigma", 0.0)
        self.type = kind

    @property
    def enabled(self) -> bool:
        """Whether clipping does anything."""
        return check_enum(self, "type", WeightClipType) is not WeightClipType.NONE


def _std(weights: Tensor) -> float:
    """The sample standard deviation of all weights: from their sum and sum of squares
    (float32 BLAS, finished in double), which is several times faster than ``Tensor.std``;
    where the mean is large against the spread (cancellation), ``Tensor.std`` itself."""
    flat = weights.reshape(-1)
    n = flat.numel()
    mean = float(flat.sum()) / n
    square = float(torch.dot(flat, flat)) / n
    var = (square - mean * mean) * n / (n - 1)
    if mean * mean > 1e-3 * square or not var > 0:
        return float(weights.std())
    return math.sqrt(var)


def clip_bound(weights: Tensor, param: WeightClipParameter) -> float:
    """The bound ``c`` that ``param`` gives for ``weights`` (``<= 0``: no clipping)."""
    kind = check_enum(param, "type", WeightClipType)
    if kind is WeightClipType.NONE:
        return 0.0
    if kind is WeightClipType.FIXED_VALUE:
        return float(param.fixed_value)
    if kind is WeightClipType.LAYER_GAUSSIAN:
        if weights.numel() < 2:
            return 0.0
        bound = float(param.sigma) * _std(weights)
    else:
        bound = float(weights.abs().amax(dim=1).mean())
    if param.fixed_value > 0:
        bound = min(bound, float(param.fixed_value))
    return bound


def clip_weights(weights: Tensor, param: WeightClipParameter) -> bool:
    """Clip ``weights`` in place to ``[-c, c]``; returns whether a bound applied."""
    bound = clip_bound(weights, param)
    if bound <= 0:
        return False
    with torch.no_grad():
        weights.clamp_(-bound, bound)
    return True

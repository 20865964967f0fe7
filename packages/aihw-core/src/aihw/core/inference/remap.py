"""Weight remapping during hardware-aware training: the weights are rescaled so that
their largest magnitude (per tile, or per output row) is ``remapped_wmax``, and the factor
moves into the tile's digital output scales, so the layer computes the same function
(docs/physics/inference.md)."""

from __future__ import annotations

import dataclasses
import enum

import torch
from torch import Tensor

from ._checks import check_real, invalid
from ._enums import check_enum

__all__ = ["WeightRemapParameter", "WeightRemapType", "remap_weights"]


class WeightRemapType(enum.Enum):
    """Which maximum is brought to ``remapped_wmax``."""

    NONE = "None"
    """No remapping."""
    LAYERWISE_SYMMETRIC = "LayerwiseSymmetric"
    """One factor per tile: ``max |W|`` over the whole tile."""
    CHANNELWISE_SYMMETRIC = "ChannelwiseSymmetric"
    """One factor per output: each row's ``max |W|``."""


@dataclasses.dataclass
class WeightRemapParameter:
    """Remapping of the weights after each optimizer step (the reference toolkit's name).

    Args:
        type: a :class:`WeightRemapType` (or its value, e.g. ``"ChannelwiseSymmetric"``).
        remapped_wmax: the largest magnitude after remapping, ``> 0``.
        max_scale_range: ``> 0`` limits the output scales to ``[lo, lo * max_scale_range]``
            (``>= 1``), where ``lo`` is ``max_scale_ref`` if ``> 0``, else the smallest scale;
            0 (default): no limit. A limited scale leaves that row's maximum off
            ``remapped_wmax``.
        max_scale_ref: see ``max_scale_range``.
    """

    type: WeightRemapType | str = WeightRemapType.NONE
    remapped_wmax: float = 1.0
    max_scale_range: float = 0.0
    max_scale_ref: float = 0.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, its value and what is allowed."""
        kind = check_enum(self, "type", WeightRemapType)
        check_real(self, "remapped_wmax", 0.0, strict=True)
        scale_range = check_real(self, "max_scale_range", 0.0)
        if 0 < scale_range < 1:
            invalid(self, "max_scale_range", self.max_scale_range, "0 (no limit) or a number >= 1")
        check_real(self, "max_scale_ref", 0.0)
        self.type = kind

    @property
    def enabled(self) -> bool:
        """Whether remapping does anything."""
        return check_enum(self, "type", WeightRemapType) is not WeightRemapType.NONE


def remap_weights(
    weights: Tensor, scales: Tensor | None, param: WeightRemapParameter
) -> Tensor | None:
    """Remap ``weights`` ``[out, x]`` in place; return the new output scales ``[out]``.

    ``scales`` are the current output scales (``None``: all 1); the logical weights
    ``scales[:, None] * weights`` stay the same (to float32 rounding). Rows (or a tile)
    whose weights are all zero keep their scale. Returns ``scales`` unchanged for
    ``WeightRemapType.NONE``.
    """
    kind = check_enum(param, "type", WeightRemapType)
    if kind is WeightRemapType.NONE:
        return scales
    with torch.no_grad():
        old = None if scales is None else scales.to(device=weights.device, dtype=weights.dtype)
        # max |W_i. * s_i| = max |W_i.| * |s_i| exactly (rounding is monotone), by the rows'
        # extremes: no temporary of the matrix's size.
        peak = torch.maximum(weights.amax(dim=1), weights.amin(dim=1).neg_())
        if old is not None:
            peak.mul_(old.abs())
        if kind is WeightRemapType.LAYERWISE_SYMMETRIC:
            peak = peak.amax().expand(weights.shape[0])
        unit = torch.ones(weights.shape[0], dtype=weights.dtype, device=weights.device)
        new = torch.where(peak > 0, peak / float(param.remapped_wmax), unit if old is None else old)
        if param.max_scale_range > 0:
            low = float(param.max_scale_ref) if param.max_scale_ref > 0 else float(new.min())
            new = new.clamp(low, low * float(param.max_scale_range))
        if old is not None:
            weights.mul_(old.unsqueeze(1))  # the logical weights, in place
        weights.div_(new.unsqueeze(1))
    return new

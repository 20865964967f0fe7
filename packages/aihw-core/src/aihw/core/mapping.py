"""``MappingParameters``: how a layer's logical weight is laid out on a tile grid
(docs/physics/mapping.md)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["MappingParameter", "MappingParameters", "split_sizes"]


@dataclasses.dataclass
class MappingParameters:
    """How an analog layer maps its weight onto tiles (docs/physics/mapping.md, the reference
    defaults).

    Args:
        digital_bias: keep the bias digital (a ``Parameter`` added after the tiles). With
            ``False`` the bias is an extra analog column of the tiles of the last input
            split, and the input gets an appended 1.
        weight_scaling_omega: when ``> 0``, a tile stores ``W / s`` with
            ``s = max|W| / omega`` (per tile, or per output row with
            ``weight_scaling_columnwise``) so that the weights use the device's range; the
            output is multiplied by ``s`` and the update compensated so that the logical
            update is unchanged.
        weight_scaling_columnwise: one scale per output row instead of per tile.
        weight_scaling_lr_compensation: the tile learning rate is ``lr / mean(s)`` and the
            error is divided by ``s / mean(s)``; the update is the same as without it
            (folded away), and a pulsed layer without update management refuses it.
        learn_out_scaling: a trainable output scale (``out_scaling_alpha``), initialised
            to 1, multiplied after the mapping scales.
        out_scaling_columnwise: one learned scale per output instead of a scalar.
        max_input_size: the most inputs (columns) a tile takes; larger layers are split.
            ``0`` disables the limit.
        max_output_size: the most outputs (rows) a tile has; ``0`` disables the limit.
    """

    digital_bias: bool = True
    weight_scaling_omega: float = 0.0
    weight_scaling_columnwise: bool = False
    weight_scaling_lr_compensation: bool = False
    learn_out_scaling: bool = False
    out_scaling_columnwise: bool = False
    max_input_size: int = 512
    max_output_size: int = 512

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise naming the first invalid field."""
        for name in (
            "digital_bias",
            "weight_scaling_columnwise",
            "weight_scaling_lr_compensation",
            "learn_out_scaling",
            "out_scaling_columnwise",
        ):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(
                    f"MappingParameters.{name}={getattr(self, name)!r} must be True or False"
                )
        omega = self.weight_scaling_omega
        if isinstance(omega, bool) or not isinstance(omega, (int, float)):
            raise TypeError(f"MappingParameters.weight_scaling_omega={omega!r} must be a number")
        if not math.isfinite(omega) or omega < 0:
            raise ValueError(
                f"MappingParameters.weight_scaling_omega={omega!r} must be a finite number >= 0"
            )
        for name in ("max_input_size", "max_output_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"MappingParameters.{name}={value!r} must be an integer >= 0")
            if value < 0:
                raise ValueError(f"MappingParameters.{name}={value} must be >= 0 (0: no limit)")

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what checkpoints store)."""
        return dataclasses.asdict(self)


#: The reference toolkit's spelling (the same class).
MappingParameter = MappingParameters


def split_sizes(size: int, maximum: int) -> list[tuple[int, int]]:
    """``(start, length)`` chunks of ``size`` with at most ``maximum`` each
    (docs/physics/mapping.md#tile-splitting).

    ``n = ceil(size / maximum)`` chunks, as equal as possible: the first ``size mod n``
    get one more. ``maximum == 0`` gives one chunk.
    """
    if maximum <= 0 or size <= maximum:
        return [(0, size)]
    n = -(-size // maximum)
    base, extra = divmod(size, n)
    chunks = []
    start = 0
    for i in range(n):
        length = base + (1 if i < extra else 0)
        chunks.append((start, length))
        start += length
    return chunks

"""Tiles: the arrays that hold a layer's weights (``aihw.core.tiles``)."""

from __future__ import annotations

from .._checks import check_positive_int
from ..device_model import DeviceModel
from ..parameters import UpdateParameters
from .analog import AnalogTile
from .base import TileBase
from .floating_point import FloatingPointTile

__all__ = ["FloatingPointTile", "AnalogTile", "TileBase", "create_tile"]


def create_tile(
    resistive_device: DeviceModel | None,
    out_size: int,
    in_size: int,
    bias: bool = False,
    seed: int | None = None,
    update: UpdateParameters | None = None,
) -> FloatingPointTile | AnalogTile:
    """Build the tile a device needs.

    Args:
        resistive_device: ``None`` or a floating-point device gives a
            :class:`FloatingPointTile`; a pulsed device an :class:`AnalogTile`.
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        bias: add an analog bias column.
        seed: the tile seed, an int in ``[0, 2**64)``, or ``None``.
        update: update parameters of an :class:`AnalogTile` (ignored by exact tiles).
    """
    if resistive_device is not None and not isinstance(resistive_device, DeviceModel):
        raise TypeError(
            f"resistive_device must be None or a DeviceModel; got {type(resistive_device).__name__}"
        )
    check_positive_int("out_size", out_size)
    check_positive_int("in_size", in_size)
    if update is not None and not isinstance(update, UpdateParameters):
        raise TypeError(f"update must be UpdateParameters or None; got {type(update).__name__}")
    if resistive_device is None or resistive_device.is_floating_point:
        return FloatingPointTile(out_size, in_size, resistive_device, bias=bias, seed=seed)
    return AnalogTile(out_size, in_size, resistive_device, bias=bias, seed=seed, update=update)

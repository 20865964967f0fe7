"""Tiles: the arrays that hold a layer's weights (``aihw.core.tiles``)."""

from __future__ import annotations

from .._checks import check_positive_int
from ..compound import CompoundDevice
from ..config import TileConfig
from ..device_model import DeviceModel
from ..parameters import UpdateParameters
from .analog import AnalogTile
from .base import TileBase, check_config_alone
from .compound import CompoundTile, compound_tile_class
from .floating_point import FloatingPointTile
from .inference import InferenceTile

__all__ = [
    "FloatingPointTile",
    "AnalogTile",
    "CompoundTile",
    "InferenceTile",
    "TileBase",
    "create_tile",
]


def create_tile(
    resistive_device: DeviceModel | TileConfig | None,
    out_size: int,
    in_size: int,
    bias: bool = False,
    seed: int | None = None,
    update: UpdateParameters | None = None,
    *,
    rpu_config: TileConfig | None = None,
) -> FloatingPointTile | AnalogTile | InferenceTile | CompoundTile:
    """Build the tile a device (or a tile configuration) needs.

    Args:
        resistive_device: ``None`` or a floating-point device gives a
            :class:`FloatingPointTile`; a pulsed device an :class:`AnalogTile` (exact
            forward and backward). A :class:`~aihw.core.config.TileConfig` here is taken
            as ``rpu_config``.
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        bias: add an analog bias column.
        seed: the tile seed, an int in ``[0, 2**64)``, or ``None``.
        update: update parameters of an :class:`AnalogTile`; must be ``None`` for a
            floating-point device (its exact update has no parameters).
        rpu_config: a :class:`~aihw.core.config.TileConfig` (instead of
            ``resistive_device`` and ``update``): a pulsed device gives an
            :class:`AnalogTile`; a floating-point device (or ``None``) a
            :class:`FloatingPointTile` when both passes are exact and it has no active
            ``clip``, ``remap`` or ``modifier`` (hardware-aware training), else an
            :class:`InferenceTile`.

    A compound device (a unit cell or a transfer compound, either way) gives a
    :class:`~aihw.core.tiles.compound.CompoundTile`.
    """
    if isinstance(resistive_device, TileConfig):
        if rpu_config is not None:
            raise ValueError("give the tile configuration once: positionally or as rpu_config=")
        resistive_device, rpu_config = None, resistive_device
    if rpu_config is not None:
        check_config_alone(rpu_config, resistive_device, update)
    elif resistive_device is not None and not isinstance(resistive_device, DeviceModel):
        raise TypeError(
            f"resistive_device must be None or a DeviceModel; got {type(resistive_device).__name__}"
        )
    check_positive_int("out_size", out_size)
    check_positive_int("in_size", in_size)
    if update is not None and not isinstance(update, UpdateParameters):
        raise TypeError(f"update must be UpdateParameters or None; got {type(update).__name__}")
    if rpu_config is not None:
        if isinstance(rpu_config.device, CompoundDevice):
            cls = compound_tile_class(rpu_config.device)
            return cls(out_size, in_size, bias=bias, seed=seed, rpu_config=rpu_config)
        if not rpu_config.is_floating_point:
            return AnalogTile(out_size, in_size, bias=bias, seed=seed, rpu_config=rpu_config)
        exact = all(
            io.exact and io.out_scale == 1.0 for io in (rpu_config.forward, rpu_config.backward)
        )
        # Hardware-aware training (clip, remap, modifier) needs an inference tile even
        # with exact passes.
        hwa = any(
            getattr(getattr(rpu_config, name, None), "enabled", False)
            for name in ("clip", "remap", "modifier")
        )
        if exact and not hwa:
            tile = FloatingPointTile(out_size, in_size, rpu_config.device, bias=bias, seed=seed)
            tile._apply_runtime(rpu_config)
            return tile
        return InferenceTile(out_size, in_size, rpu_config, bias=bias, seed=seed)
    if isinstance(resistive_device, CompoundDevice):
        cls = compound_tile_class(resistive_device)
        return cls(out_size, in_size, resistive_device, bias=bias, seed=seed, update=update)
    if resistive_device is None or resistive_device.is_floating_point:
        if update is not None:
            raise ValueError(
                f"update={update!r} is not used by a floating-point tile (resistive_device="
                f"{resistive_device!r}); allowed: None, or a pulsed device"
            )
        return FloatingPointTile(out_size, in_size, resistive_device, bias=bias, seed=seed)
    return AnalogTile(out_size, in_size, resistive_device, bias=bias, seed=seed, update=update)

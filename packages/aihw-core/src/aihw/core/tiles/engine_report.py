"""Which implementation runs each part of a tile's work: ``tile.engines`` and ``tile.engine``.

A tile's work has up to three parts, and they may run in different implementations
(:mod:`aihw.core.dispatch`): the pulsed update (compiled only for laws the engine knows; a
step law written in Python runs in the reference), the periphery stages of forward and
backward, and the device operations (decay, diffusion, reset, write noise). The periphery
and the device operations follow the tile's device and ``backend`` alone.

The names are those of :data:`aihw.core.dispatch.EngineName`: ``"native"`` (the compiled CPU
engine), ``"cuda"`` (the CUDA kernels) and ``"reference"`` (plain torch).
"""

from __future__ import annotations

from typing import Any

from ..dispatch import EngineName, engine_for
from ..parameters import PulseType

__all__ = ["tile_engines", "tile_engine"]


def _update_engine(tile: Any) -> EngineName:
    """The implementation of a pulsed tile's next update: what the update itself picks
    (``AnalogTile.update_engine``), except that the exact-SGD pulse types are one torch
    ``addmm`` wherever the tile is."""
    if tile.update_parameters.pulse_type in (PulseType.NONE, PulseType.NONE_WITH_DEVICE):
        return "reference"
    name: EngineName = tile.update_engine
    return name


def tile_engines(tile: Any) -> dict[str, EngineName]:
    """What ``tile.engines`` returns: ``{"periphery": ..., "device_ops": ...,
    "update": ...}`` for the parts the tile has (a compound tile reports each device's
    update as ``"update[i]"`` when they differ, else one ``"update"``).

    Raises:
        RuntimeError: ``backend='native'`` and a part cannot run compiled (the message
            says why, as the call itself would).
    """
    out: dict[str, EngineName] = {"periphery": engine_for(tile.device, tile.backend)}
    if hasattr(tile, "device_ops"):
        out["device_ops"] = out["periphery"]
    units = getattr(tile, "units", None)
    if units is not None:
        per_unit = [_update_engine(unit) for unit in units]
        if len(set(per_unit)) == 1:
            out["update"] = per_unit[0]
        else:
            out.update({f"update[{i}]": name for i, name in enumerate(per_unit)})
    elif hasattr(tile, "law"):
        out["update"] = _update_engine(tile)
    return out


def tile_engine(tile: Any) -> EngineName:
    """What ``tile.engine`` returns: the one implementation when every part agrees, else
    ``"reference"`` (the parts can only differ by some running in the reference, since a
    tile's tensors are on one device)."""
    names = set(tile_engines(tile).values())
    return names.pop() if len(names) == 1 else "reference"

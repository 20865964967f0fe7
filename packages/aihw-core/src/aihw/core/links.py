"""Which tiles a tensor stands for: the contract between layers and optimizers.

A layer whose weight lives on analog tiles links each weight ``Parameter`` to the tiles it
shares storage with (:func:`link_parameter`); an optimizer asks :func:`tiles_of` for them
at each step and applies what their backward passes recorded
(:func:`apply_recorded_updates`) instead of a ``.grad``. The link is the parameter's
public ``analog_tiles`` list (and ``analog_tile``, its first tile), so a parameter that a
user tags by hand works too; a digital parameter has no tiles.

The digital parameters of such a layer (its bias, a learned output scale) are marked with
:func:`mark_step_consumes`: an optimizer step consumes their gradient as the tiles consume
their recorded updates (:func:`step_consumes`), so a loop without ``zero_grad()`` trains
the whole layer alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from .tiles.base import TileBase

__all__ = [
    "UPDATES_ANALOG_TILES",
    "apply_recorded_updates",
    "clear_recorded_updates",
    "is_same_view",
    "link_parameter",
    "mark_step_consumes",
    "shares_storage",
    "step_consumes",
    "tiles_of",
]

#: The class attribute (``True``) of an optimizer that applies the tiles' recorded
#: updates, such as :class:`aihw.optim.AnalogSGD`; aihw.nn warns when another optimizer
#: steps over analog weights.
UPDATES_ANALOG_TILES = "updates_analog_tiles"

#: The attribute that :func:`mark_step_consumes` sets on a parameter.
_CONSUMED = "analog_step_consumes_grad"


def link_parameter(
    param: torch.Tensor, tiles: Iterable[TileBase], owner: str | None = None
) -> None:
    """Mark ``param`` as the weight of ``tiles`` (at least one), replacing any earlier link.

    Sets ``param.analog_tiles`` (a list) and ``param.analog_tile`` (its first tile), and
    ``param.analog_owner`` (who holds it, for messages, e.g. ``"AnalogLinear"``) when
    ``owner`` is given.
    """
    tiles = list(tiles)
    if not tiles:
        raise ValueError(
            "link_parameter: tiles is empty; allowed: at least one tile (the tiles whose "
            "weights the parameter shares)"
        )
    param.analog_tiles = tiles  # type: ignore[attr-defined]
    param.analog_tile = tiles[0]  # type: ignore[attr-defined]
    if owner is not None:
        param.analog_owner = owner  # type: ignore[attr-defined]


def tiles_of(param: torch.Tensor) -> list[Any]:
    """The tiles linked to ``param`` (a new list); empty for a digital parameter.

    ``param.analog_tiles`` when set, else ``[param.analog_tile]`` when that is set.
    """
    tiles = getattr(param, "analog_tiles", None)
    if tiles is not None:
        return list(tiles)
    tile = getattr(param, "analog_tile", None)
    return [] if tile is None else [tile]


def mark_step_consumes(param: torch.Tensor) -> None:
    """Mark ``param`` (a digital parameter of an analog layer) as one whose gradient an
    optimizer step consumes, like the recorded updates of the layer's tiles."""
    setattr(param, _CONSUMED, True)


def step_consumes(param: torch.Tensor) -> bool:
    """Whether an optimizer step consumes ``param``'s gradient (:func:`mark_step_consumes`)."""
    return getattr(param, _CONSUMED, False) is True


def shares_storage(tensor: torch.Tensor, tile: Any) -> bool:
    """Whether ``tensor`` lives in the storage of ``tile``'s weights (same torch device)."""
    weights = getattr(tile, "weights", None)
    if not isinstance(weights, torch.Tensor) or tensor.device != weights.device:
        return False
    return bool(tensor.untyped_storage().data_ptr() == weights.untyped_storage().data_ptr())


def is_same_view(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` show the same elements: same first element in memory, dtype,
    device, shape and strides (a parameter still linked to its tiles' storage)."""
    return (
        a.data_ptr() == b.data_ptr()
        and a.dtype == b.dtype
        and a.device == b.device
        and a.shape == b.shape
        and a.stride() == b.stride()
    )


def apply_recorded_updates(tiles: Iterable[Any], lr: float) -> None:
    """Each tile applies one update with what it recorded since its last one
    (``tile.apply_recorded_update(lr)``; nothing for a tile that recorded nothing)."""
    for tile in tiles:
        tile.apply_recorded_update(lr)


def clear_recorded_updates(tiles: Iterable[Any]) -> None:
    """Each tile forgets what it recorded (``tile.clear_recorded()``)."""
    for tile in tiles:
        tile.clear_recorded()

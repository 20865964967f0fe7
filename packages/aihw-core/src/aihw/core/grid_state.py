"""A tile grid's complete state as plain data (a layer's checkpoint state), and loading it.

The state is ``{"format": "aihw.layer", "version": 1, "layout", "mapping", "tiles",
"scales"}``: the grid's layout, its mapping, every tile's :func:`~aihw.core.tiles.state.
tile_state` and the mapping scales. Loading checks all of it first
(:func:`check_grid_state`, which builds the new tiles), then puts the new tiles in place of
the grid's (:func:`load_grid_state`): the grid's weight storage stays the same tensors, so
parameters that share it stay valid; optimizers find the new tiles through
:func:`aihw.core.links.tiles_of` once the owner re-links its parameters.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor

from .grid import TileGrid
from .tiles.state import (
    MissingDeviceError,
    MissingNoiseModelError,
    TileStateError,
    tile_from_state,
    tile_state,
)

__all__ = [
    "LAYER_FORMAT",
    "LAYER_VERSION",
    "LayerStateError",
    "check_grid_state",
    "grid_layout",
    "grid_state",
    "load_grid_state",
]

LAYER_FORMAT = "aihw.layer"
LAYER_VERSION = 1
_KEYS = {"format", "version", "layout", "mapping", "tiles", "scales"}


class LayerStateError(TileStateError):
    """A layer's checkpoint state is malformed or does not fit the layer."""


def grid_layout(grid: TileGrid) -> dict[str, Any]:
    """The layout a state must match: weight shape, groups, splits and the analog bias."""
    return {
        "weight_shape": list(grid.weight_shape),
        "groups": grid.groups,
        "row_splits": [list(s) for s in grid.row_splits],
        "col_splits": [list(s) for s in grid.col_splits],
        "analog_bias": grid.analog_bias,
    }


def grid_state(grid: TileGrid) -> dict[str, Any]:
    """The tiles' complete state and the layout, as plain data (``weights_only`` safe);
    the tensors are copies."""
    return {
        "format": LAYER_FORMAT,
        "version": LAYER_VERSION,
        "layout": grid_layout(grid),
        "mapping": grid.mapping.as_dict(),
        "tiles": [_cloned(tile_state(tile)) for tile in grid.tiles],
        "scales": None if grid.scales is None else [s.clone() for s in grid.scales],
    }


def check_grid_state(grid: TileGrid, state: Any) -> list[Any]:
    """Validate a state from :func:`grid_state` against ``grid``; return the new tiles.

    Raises:
        LayerStateError: the state is malformed or does not fit (the message starts with
            the grid's ``name``).
        aihw.core.tiles.state.MissingDeviceError: a device is not installed.
        aihw.core.tiles.state.MissingNoiseModelError: a noise model is not installed.
    """
    name = grid.name
    if not isinstance(state, dict) or state.get("format") != LAYER_FORMAT:
        raise LayerStateError(f"{name}: the checkpoint's analog state is not an aihw layer state")
    if state.get("version") != LAYER_VERSION:
        raise LayerStateError(
            f"{name}: analog layer state version {state.get('version')!r} is not supported"
        )
    if set(state) != _KEYS:
        raise LayerStateError(
            f"{name}: analog layer state has keys {sorted(state)}; expected {sorted(_KEYS)}"
        )
    layout = grid_layout(grid)
    if state["layout"] != layout:
        raise LayerStateError(
            f"{name}: the checkpoint's tile layout {state['layout']} does not match this "
            f"layer's {layout} (different shape, groups, bias or max tile sizes)"
        )
    tiles = state["tiles"]
    if not isinstance(tiles, list) or len(tiles) != len(grid.tiles):
        raise LayerStateError(f"{name}: the checkpoint has the wrong number of tiles")
    new_tiles = []
    for index, (tile, tile_data) in enumerate(zip(grid.tiles, tiles, strict=True)):
        try:
            new = tile_from_state(tile_data)
        except (MissingDeviceError, MissingNoiseModelError) as error:
            error.args = (f"{name}, tile {index}: {error.args[0]}", *error.args[1:])
            raise
        except TileStateError as error:
            raise LayerStateError(f"{name}, tile {index}: {error}") from error
        if (new.out_size, new.in_size, new.bias) != (tile.out_size, tile.in_size, tile.bias):
            raise LayerStateError(f"{name}, tile {index}: the tile sizes do not match")
        new_tiles.append(new)
    scales = state["scales"]
    if (scales is None) != (grid.scales is None):
        raise LayerStateError(f"{name}: the checkpoint's weight scaling does not match")
    if scales is not None:
        if not isinstance(scales, list) or len(scales) != len(grid.tiles):
            raise LayerStateError(f"{name}: the checkpoint's weight scales are malformed")
        for tile, scale in zip(grid.tiles, scales, strict=True):
            if (
                not isinstance(scale, Tensor)
                or not scale.is_floating_point()
                or tuple(scale.shape) != (tile.out_size,)
                or not bool((scale > 0).all())
            ):
                raise LayerStateError(f"{name}: the checkpoint's weight scales are malformed")
    return new_tiles


def load_grid_state(grid: TileGrid, state: Any, new_tiles: list[Any] | None = None) -> None:
    """Put ``state`` into ``grid``: new tile objects (``new_tiles`` from
    :func:`check_grid_state` on this ``state``, or checked now), the weights copied into
    the grid's storage, and the scales. Nothing changes if the state is rejected."""
    if new_tiles is None:
        new_tiles = check_grid_state(grid, state)
    grid.replace_tiles(new_tiles)
    if state["scales"] is not None:
        grid.scales = [
            s.detach().to(grid.device, torch.float32, copy=True) for s in state["scales"]
        ]
    grid.relink()


def _cloned(state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot of a tile state: the tensors cloned, the plain data deep-copied."""
    tensors = ("weights", "device_arrays")
    out = copy.deepcopy({k: v for k, v in state.items() if k not in tensors})
    out["weights"] = state["weights"].detach().clone()
    out["device_arrays"] = {k: v.detach().clone() for k, v in state["device_arrays"].items()}
    return out

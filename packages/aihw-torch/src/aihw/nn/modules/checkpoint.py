"""An analog layer's checkpoint: its ``_extra_state`` and its part of ``load_state_dict``.

The extra state is the grid's (:func:`aihw.core.grid_state.grid_state`, format
``"aihw.layer"`` version 1): layout, mapping, every tile's complete state and the mapping
scales, as plain data. Loading checks every entry of the layer before anything changes;
the new tiles then take the place of the old ones in the grid and the weight parameters
are re-linked to them. A state dict without the extra state (e.g. from a ``torch.nn``
layer) programs the tiles from its weight, clipped by a pulsed device.

A checkpoint whose tiles hold another device (class) or tile class than the layer's is
refused unless loaded within :func:`adopt_checkpoint_devices`; then the layer adopts the checkpoint's device
and every view of it (``resistive_device``, ``rpu_config``, ``repr``, ``analog_summary``)
says so. The checkpoint's device parameters are always adopted into these views.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from aihw.core.grid_state import (
    LayerStateError,
    check_grid_state,
    grid_state,
    load_grid_state,
)

if TYPE_CHECKING:
    from .base import AnalogLayerBase

__all__ = [
    "LayerStateError",
    "adopt_checkpoint_devices",
    "check_layer_state",
    "check_same_device",
    "layer_state",
    "load_layer_entries",
    "loaded_weight",
    "set_layer_state",
]

#: ``layer.__dict__`` key of the tiles that ``load_layer_entries`` built from the state it
#: checked, for ``set_extra_state`` (called within the same load) to use.
_PENDING = "_pending_tiles"


#: Whether loads adopt the checkpoint's device (:func:`adopt_checkpoint_devices`).
_ADOPT: ContextVar[bool] = ContextVar("aihw_adopt_checkpoint_devices", default=False)


@contextlib.contextmanager
def adopt_checkpoint_devices() -> Iterator[None]:
    """Within this block, analog layers load checkpoints saved with another device.

    Outside it, ``load_state_dict`` refuses such a checkpoint, naming both devices. Inside,
    the layer takes the checkpoint's tiles and device, and ``layer.resistive_device``,
    ``layer.rpu_config``, ``repr(layer)`` and :func:`aihw.nn.analog_summary` say the new
    device. (``load_state_dict``'s ``strict`` does not reach the layers: torch checks the
    keys itself.)

    Examples::

        >>> with aihw.nn.adopt_checkpoint_devices():
        ...     model.load_state_dict(torch.load("constant_step.pt"))
    """
    token = _ADOPT.set(True)
    try:
        yield
    finally:
        _ADOPT.reset(token)


def layer_state(layer: AnalogLayerBase) -> dict[str, Any]:
    """The layer's extra state: its grid's state (tensors copied)."""
    return grid_state(layer.grid)


def check_layer_state(layer: AnalogLayerBase, state: Any) -> list[Any]:
    """Validate ``state`` against the layer; return the new tiles (see
    :func:`aihw.core.grid_state.check_grid_state`). Tiles of another device are refused
    (:func:`check_same_device`) outside :func:`adopt_checkpoint_devices`."""
    new_tiles = check_grid_state(layer.grid, state)
    if not _ADOPT.get():
        check_same_device(layer, new_tiles)
    return new_tiles


def set_layer_state(layer: AnalogLayerBase, state: Any) -> None:
    """Put ``state`` into the layer (new tiles, same weight storage) and re-link the weight
    parameters; nothing changes if it is rejected."""
    pending = layer.__dict__.pop(_PENDING, None)
    new_tiles = pending[1] if pending is not None and pending[0] is state else None
    load_grid_state(layer.grid, state, new_tiles)
    _adopt_device(layer)
    layer._link_weights()
    from ..inference import sync_test_mode

    sync_test_mode(layer)  # the new tiles apply compensation in eval mode only


def _device_label(tile: Any) -> str:
    """What a tile holds, for messages: ``SoftBoundsResistiveDevice (AnalogTile)``."""
    device = getattr(tile, "resistive_device", None)
    return f"{'no device' if device is None else type(device).__name__} ({type(tile).__name__})"


def check_same_device(layer: AnalogLayerBase, new_tiles: list[Any]) -> None:
    """Raise :class:`LayerStateError` naming both unless ``new_tiles`` (from a checkpoint)
    hold the same tile class and device class as the layer's tiles."""
    for index, (old, new) in enumerate(zip(layer.grid.tiles, new_tiles, strict=True)):
        old_device = getattr(old, "resistive_device", None)
        new_device = getattr(new, "resistive_device", None)
        if type(old) is not type(new) or type(old_device) is not type(new_device):
            where = layer.grid.name + ("" if len(new_tiles) == 1 else f", tile {index}")
            raise LayerStateError(
                f"{where}: the checkpoint was saved with {_device_label(new)} but this layer "
                f"has {_device_label(old)}; to adopt the checkpoint's device, load it "
                "within aihw.nn.adopt_checkpoint_devices(), or build the layer with that device"
            )


def _adopt_device(layer: AnalogLayerBase) -> None:
    """Make ``resistive_device`` and ``rpu_config`` say the device the tiles now hold."""
    device = getattr(layer.grid.tiles[0], "resistive_device", None)
    old = layer.resistive_device
    if type(device) is type(old) and device == old:
        return
    layer.resistive_device = device
    if layer.rpu_config is not None:
        layer.rpu_config = dataclasses.replace(layer.rpu_config, device=device)


def load_layer_entries(
    layer: AnalogLayerBase,
    load: Callable[..., None],
    state_dict: Any,
    prefix: str,
    local_metadata: Any,
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    """``Module._load_from_state_dict`` for an analog layer: ``load`` (the ``Module``
    implementation) after checking every entry of the layer."""
    name = layer.grid.name
    parameters: dict[str, Any] = layer._parameters
    extra_key = prefix + "_extra_state"
    extra = state_dict.get(extra_key)
    for key, param in list(parameters.items()):
        value = state_dict.get(prefix + key)
        if param is not None and value is not None:
            if not isinstance(value, Tensor):
                raise LayerStateError(f"{name}: {prefix + key} is not a tensor")
            if value.shape != param.shape:
                raise LayerStateError(
                    f"{name}: {prefix + key} has shape {tuple(value.shape)} in the "
                    f"checkpoint; this layer's is {tuple(param.shape)}"
                )
    if strict:
        known = {prefix + k for k in parameters}
        known |= {prefix + k for k in layer._buffers}
        known.add(extra_key)
        foreign = [k for k in state_dict if k.startswith(prefix) and k not in known]
        if foreign:
            raise LayerStateError(
                f"{name}: unexpected key(s) in the checkpoint: {', '.join(foreign)}"
            )
    if strict and extra is not None:
        absent = [
            prefix + key
            for key, param in parameters.items()
            if param is not None and prefix + key not in state_dict
        ]
        if absent:
            raise LayerStateError(f"{name}: the checkpoint lacks {', '.join(absent)}")
    if extra is not None:
        layer.__dict__[_PENDING] = (extra, check_layer_state(layer, extra))
    try:
        load(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
    finally:
        layer.__dict__.pop(_PENDING, None)
    if extra_key in missing_keys:
        # A state dict without the analog state (e.g. from a torch.nn layer): program
        # the tiles from the loaded weight, clipped by a pulsed device.
        missing_keys.remove(extra_key)
    if extra is None:
        weight, bias = loaded_weight(layer)
        clipped = layer._program(weight, bias)
        if clipped:
            total = weight.numel() + (0 if bias is None else bias.numel())
            device = type(layer.resistive_device).__name__
            warnings.warn(
                f"{name}: {clipped} of {total} weights of the loaded state dict lie outside "
                f"the bounds of {device} and were clipped to them (a state dict without the "
                "analog state, such as a torch.nn layer's, programs the tiles)",
                UserWarning,
                stacklevel=2,
            )
    layer._link_weights()


def loaded_weight(layer: AnalogLayerBase) -> tuple[Tensor, Tensor | None]:
    """The logical weight as the layer's parameters now hold it (after a plain state-dict
    load, which may have replaced them), and the analog bias."""
    grid = layer.grid
    params = layer._weight_params()
    if len(params) == 1:
        weight = params[0].detach().reshape(grid.out_size, -1)
    else:
        weight = torch.cat([p.detach() for p in params], dim=1)
    if grid.scales is not None:
        # The parameters hold the tiles' (scaled) values: undo the scales.
        weight = weight.clone()
        for index in range(len(grid.tiles)):
            start, length = grid.rows(index)
            c0, c_len = grid.col_splits[grid.position(index)[2]]
            weight[start : start + length, c0 : c0 + c_len] *= (
                grid.scales[index].to(weight.device).unsqueeze(1)
            )
    bias = None
    if grid.analog_bias:
        bias = grid.get_weights()[1]
    return weight.clone(), bias

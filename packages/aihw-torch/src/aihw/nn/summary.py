"""``analog_summary``: what a model's analog layers put on which tiles."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module

from .modules.base import AnalogLayerBase

__all__ = ["AnalogSummary", "LayerSummary", "TileSummary", "analog_summary"]


@dataclasses.dataclass(frozen=True)
class TileSummary:
    """One tile of a layer.

    Attributes:
        position: ``(group, row split, column split)`` in the layer's tile grid.
        shape: ``(out_size, in_size + bias)``, the cross-points used.
        tile_class: ``FloatingPointTile`` or ``AnalogTile``.
        utilization: the fraction of a ``max_output_size x max_input_size`` array used
            (1.0 when the mapping sets no limit).
    """

    position: tuple[int, int, int]
    shape: tuple[int, int]
    tile_class: str
    utilization: float


@dataclasses.dataclass(frozen=True)
class LayerSummary:
    """One analog layer: its name, class, weight shape, device and tiles."""

    name: str
    layer_class: str
    weight_shape: tuple[int, ...]
    device: str
    tile_grid: tuple[int, int, int]
    tiles: tuple[TileSummary, ...]
    #: The shapes of the layer's (first) input and output in the forward pass that
    #: ``analog_summary(model, input_size)`` ran; ``None`` without ``input_size``.
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class AnalogSummary:
    """The summary of a model; ``str()`` gives a table."""

    layers: tuple[LayerSummary, ...]

    @property
    def num_tiles(self) -> int:
        return sum(len(layer.tiles) for layer in self.layers)

    def __str__(self) -> str:
        lines = [
            f"{'layer':<24} {'class':<14} {'weight shape':<20} {'device':<14} "
            f"{'grid (g,r,c)':<13} tiles"
        ]
        for layer in self.layers:
            lines.append(
                f"{layer.name or '(root)':<24} {layer.layer_class:<14} "
                f"{str(layer.weight_shape):<20} {layer.device:<14} "
                f"{str(layer.tile_grid):<13} {len(layer.tiles)}"
            )
            if layer.input_shape is not None:
                lines.append(f"    input {layer.input_shape} -> output {layer.output_shape}")
            for tile in layer.tiles:
                lines.append(
                    f"    tile {str(tile.position):<12} {tile.shape[0]:>5} x {tile.shape[1]:<5} "
                    f"{tile.tile_class:<18} utilization {tile.utilization:7.2%}"
                )
        lines.append(f"{len(self.layers)} analog layer(s), {self.num_tiles} tile(s)")
        return "\n".join(lines)

    __repr__ = __str__


def analog_summary(model: Module, input_size: Any = None) -> AnalogSummary:
    """Per analog layer: the tiles, their shapes, the device and each tile's utilization.

    Args:
        model: any module (an analog layer itself included).
        input_size: as in the reference toolkit's ``analog_summary(model, input_size)``:
            the shape of an input batch (a sequence of ints, batch included), or an input
            tensor. A forward pass of a *copy* of the model (without gradients) then
            records each analog layer's input and output shapes; the model itself, its
            random streams included, is left as it was.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    shapes = {} if input_size is None else _traced_shapes(model, input_size)
    layers = []
    for name, module in model.named_modules():
        if not isinstance(module, AnalogLayerBase):
            continue
        mapping = module.mapping
        capacity = mapping.max_input_size * mapping.max_output_size
        device = module.resistive_device
        tiles = []
        for index, tile in enumerate(module.analog_tiles()):
            used = tile.out_size * tile.x_size
            tiles.append(
                TileSummary(
                    position=module.grid.position(index),
                    shape=(tile.out_size, tile.x_size),
                    tile_class=type(tile).__name__,
                    utilization=used / capacity if capacity else 1.0,
                )
            )
        layers.append(
            LayerSummary(
                name=name,
                layer_class=type(module).__name__,
                weight_shape=module.grid.weight_shape,
                device="FloatingPoint" if device is None else type(device).name,
                tile_grid=module.tile_grid,
                tiles=tuple(tiles),
                input_shape=shapes.get(name, (None, None))[0],
                output_shape=shapes.get(name, (None, None))[1],
            )
        )
    return AnalogSummary(tuple(layers))


def _example_input(model: Module, input_size: Any) -> Tensor:
    """An input batch for ``input_size`` (a shape, or a tensor used as it is)."""
    if isinstance(input_size, Tensor):
        return input_size
    if (
        not isinstance(input_size, Sequence)
        or isinstance(input_size, str)
        or not input_size
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in input_size)
    ):
        raise TypeError(
            "analog_summary: input_size must be the shape of an input batch (a sequence of "
            f"integers >= 0, batch first) or an input tensor; got {input_size!r}"
        )
    first = next(model.parameters(), None)
    device = torch.device("cpu") if first is None else first.device
    generator = torch.Generator().manual_seed(0)
    return torch.rand(tuple(input_size), generator=generator).to(device)


def _traced_shapes(
    model: Module, input_size: Any
) -> dict[str, tuple[tuple[int, ...] | None, tuple[int, ...] | None]]:
    """``{layer name: (input shape, output shape)}`` from one forward pass of a copy."""
    x = _example_input(model, input_size)
    probe = copy.deepcopy(model)  # the pass moves random streams and running statistics
    shapes: dict[str, tuple[tuple[int, ...] | None, tuple[int, ...] | None]] = {}

    def recorder(name: str) -> Any:
        def hook(module: Module, args: tuple[Any, ...], output: Any) -> None:
            first = args[0] if args and isinstance(args[0], Tensor) else None
            shapes[name] = (
                None if first is None else tuple(first.shape),
                tuple(output.shape) if isinstance(output, Tensor) else None,
            )

        return hook

    for name, module in probe.named_modules():
        if isinstance(module, AnalogLayerBase):
            module.register_forward_hook(recorder(name))
    with torch.no_grad():
        probe(x)
    return shapes

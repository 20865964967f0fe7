"""``analog_summary``: what a model's analog layers put on which tiles."""

from __future__ import annotations

import dataclasses

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
            for tile in layer.tiles:
                lines.append(
                    f"    tile {str(tile.position):<12} {tile.shape[0]:>5} x {tile.shape[1]:<5} "
                    f"{tile.tile_class:<18} utilization {tile.utilization:7.2%}"
                )
        lines.append(f"{len(self.layers)} analog layer(s), {self.num_tiles} tile(s)")
        return "\n".join(lines)

    __repr__ = __str__


def analog_summary(model: Module) -> AnalogSummary:
    """Per analog layer: the tiles, their shapes, the device and each tile's utilization.

    Args:
        model: any module (an analog layer itself included).
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
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
            )
        )
    return AnalogSummary(tuple(layers))

"""Helpers of the aihw-optim tests: analog weights built from aihw.core tiles only.

aihw-optim depends on aihw-core alone, so these tests do not use aihw.nn: an "analog
weight" here is what aihw.nn layers make, a Parameter sharing a tile's storage with an
``analog_tile`` attribute.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.core.tiles import FloatingPointTile


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(4321)


class TileWeight(nn.Module):
    """A minimal analog layer: a tile, its linked weight, and ``analog_tiles()``."""

    def __init__(self, out_size: int = 2, in_size: int = 3, *, tag: bool = True) -> None:
        super().__init__()
        self.analog_tile = FloatingPointTile(out_size, in_size)
        self.analog_tile.set_weights(torch.randn(out_size, in_size) * 0.1)
        self.weight = nn.Parameter(self.analog_tile.weights)
        if tag:
            self.weight.analog_tile = self.analog_tile
        self.bias = nn.Parameter(torch.zeros(out_size))

    def analog_tiles(self):
        yield self.analog_tile

    def record(self, x: torch.Tensor, d: torch.Tensor) -> None:
        """What an analog layer's backward pass does."""
        self.analog_tile.record_update_inputs(x, d)


@pytest.fixture
def make_tile_weight() -> type[TileWeight]:
    """The :class:`TileWeight` class, to build several."""
    return TileWeight


@pytest.fixture
def tile_weight() -> TileWeight:
    return TileWeight()

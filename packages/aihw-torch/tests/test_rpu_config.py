"""Layers built from a tile configuration (``rpu_config=``)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import IOParameters
from aihw.core.tiles import AnalogTile, FloatingPointTile, InferenceTile
from aihw.devices import (
    ConstantStepResistiveDevice,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    SingleRPUConfig,
)
from aihw.nn import AnalogConv2d, AnalogLinear


@pytest.mark.parametrize(
    ("config", "tile_class"),
    [
        (SingleRPUConfig(), AnalogTile),
        (InferenceRPUConfig(), InferenceTile),
        (FloatingPointRPUConfig(), FloatingPointTile),
    ],
)
def test_linear_accepts_rpu_config(config, tile_class):
    layer = AnalogLinear(5, 3, rpu_config=config, seed=0)
    assert type(layer.analog_tile) is tile_class
    assert layer.rpu_config is config
    assert layer.resistive_device is config.device
    x = torch.randn(4, 5, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.shape == (4, 5)


def test_conv_accepts_rpu_config():
    layer = AnalogConv2d(2, 3, 3, rpu_config=InferenceRPUConfig(), seed=0)
    assert isinstance(layer.analog_tile, InferenceTile)
    assert layer(torch.randn(2, 2, 6, 6)).shape == (2, 3, 4, 4)


def test_rpu_config_and_resistive_device_are_exclusive():
    with pytest.raises(ValueError, match="either rpu_config= or resistive_device=, not both"):
        AnalogLinear(
            5, 3, resistive_device=ConstantStepResistiveDevice(), rpu_config=SingleRPUConfig()
        )
    with pytest.raises(TypeError, match="rpu_config must be a TileConfig"):
        AnalogLinear(5, 3, rpu_config=IOParameters())


def test_resistive_device_shorthand_is_unchanged():
    layer = AnalogLinear(5, 3, resistive_device=ConstantStepResistiveDevice(), seed=0)
    assert layer.analog_tile.forward_periphery is None
    assert layer.rpu_config is None
    x = torch.randn(2, 5)
    assert torch.allclose(layer(x), x @ layer.weight.T + layer.bias)

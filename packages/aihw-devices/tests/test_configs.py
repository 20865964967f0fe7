"""Presets of tile configurations (docs/physics/periphery.md#defaults-by-configuration)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import IOParameters, UpdateParameters
from aihw.core.config import TileConfig
from aihw.core.parameters import PulseType
from aihw.core.tiles import AnalogTile, FloatingPointTile, InferenceTile, create_tile
from aihw.devices import (
    ConstantStepDevice,
    FloatingPointDevice,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    SingleRPUConfig,
)


def test_single_rpu_config_defaults():
    config = SingleRPUConfig()
    assert isinstance(config, TileConfig)
    assert isinstance(config.device, ConstantStepDevice)
    assert config.forward == IOParameters() and config.backward == IOParameters()
    assert config.update == UpdateParameters()
    tile = create_tile(config, 3, 4, seed=0)
    assert isinstance(tile, AnalogTile)
    assert tile.forward_periphery is not None and tile.backward_periphery is not None


def test_floating_point_rpu_config_is_exact():
    config = FloatingPointRPUConfig()
    assert isinstance(config.device, FloatingPointDevice)
    assert config.forward.is_perfect and config.backward.is_perfect
    tile = create_tile(config, 3, 4, seed=0)
    assert type(tile) is FloatingPointTile
    x = torch.randn(2, 4)
    assert torch.equal(tile.forward(x), x @ tile.weights.T)


def test_inference_rpu_config_defaults():
    config = InferenceRPUConfig()
    assert config.forward == IOParameters()  # same A.1 defaults
    assert config.backward.is_perfect
    assert config.update.pulse_type == PulseType.NONE
    assert config.device.is_floating_point
    tile = create_tile(None, 3, 4, rpu_config=config, seed=0)
    assert isinstance(tile, InferenceTile)


def test_presets_are_independent_copies():
    a, b = SingleRPUConfig(), SingleRPUConfig()
    a.forward.out_noise = 0.0
    assert b.forward.out_noise == 0.06
    assert a.device is not b.device


def test_preset_fields_are_checked():
    with pytest.raises(TypeError, match=r"SingleRPUConfig\.backward must be IOParameters"):
        SingleRPUConfig(backward=None)
    with pytest.raises(ValueError, match=r"IOParameters\.out_noise=-1"):
        InferenceRPUConfig(forward=IOParameters(out_noise=-1))


def test_pulsed_training_with_periphery_learns():
    torch.manual_seed(0)
    tile = create_tile(SingleRPUConfig(), 2, 4, seed=1)
    target = torch.tensor([[0.3, -0.2, 0.1, 0.0], [-0.1, 0.2, 0.0, 0.3]])
    x = torch.rand(256, 4) * 2 - 1
    first = None
    for _ in range(30):
        y = tile.forward(x)
        d = y - x @ target.T
        loss = float((d**2).mean())
        first = loss if first is None else first
        tile.update(x, d / x.shape[0] * 10, lr=0.1)
    assert loss < first / 2

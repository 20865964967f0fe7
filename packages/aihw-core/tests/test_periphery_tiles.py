"""The periphery on tiles: presets of the core, counters, rejected calls, exact tiles."""

from __future__ import annotations

import pytest
import torch
from _periphery_helpers import make_tile, quiet

from aihw.core import IOParameters, TileConfig, UpdateParameters
from aihw.core.parameters import PulseType
from aihw.core.tiles import AnalogTile, FloatingPointTile, InferenceTile, create_tile


def test_create_tile_picks_the_tile(step_device, exact_device):
    assert isinstance(create_tile(TileConfig(device=step_device), 3, 4, seed=0), AnalogTile)
    assert isinstance(create_tile(None, 3, 4, rpu_config=TileConfig(), seed=0), InferenceTile)
    exact = TileConfig(
        device=exact_device,
        forward=IOParameters(is_perfect=True),
        backward=IOParameters(is_perfect=True),
    )
    assert isinstance(create_tile(exact, 3, 4, seed=0), FloatingPointTile)
    with pytest.raises(ValueError, match="give the tile configuration once"):
        create_tile(TileConfig(), 3, 4, rpu_config=TileConfig())


def test_shorthand_keeps_exact_passes(step_device):
    tile = create_tile(step_device, 3, 4, seed=0)
    assert tile.forward_periphery is None and tile.backward_periphery is None
    x = torch.randn(2, 4)
    assert torch.equal(tile.forward(x), x @ tile.weights.T)


def test_floating_point_tile_stays_exact():
    tile = FloatingPointTile(3, 4, seed=0)
    assert tile.forward_periphery is None
    x = torch.randn(5, 4)
    assert torch.equal(tile.forward(x), x @ tile.weights.T)


def test_analog_tile_from_rpu_config(step_device):
    config = TileConfig(device=step_device, update=UpdateParameters(desired_bl=7))
    tile = AnalogTile(3, 4, seed=0, rpu_config=config)
    assert tile.update_parameters.desired_bl == 7
    assert tile.forward_periphery.io == IOParameters()
    assert tile.rpu_config is config
    with pytest.raises(ValueError, match="needs a pulsed device"):
        AnalogTile(3, 4, rpu_config=TileConfig())


def test_inference_tile_defaults_and_exact_update():
    tile = InferenceTile(3, 4, seed=0)
    assert tile.backward_periphery.io.is_perfect
    assert tile.rpu_config.update.pulse_type == PulseType.NONE
    w = tile.weights.clone()
    x, d = torch.randn(2, 4), torch.randn(2, 3)
    tile.update(x, d, lr=0.1)
    assert torch.allclose(tile.weights, w - 0.1 * d.T @ x)
    assert torch.allclose(tile.backward(d), d @ tile.weights)


def test_inference_tile_refuses_a_pulsed_device(step_device):
    with pytest.raises(ValueError, match="is a pulsed device; InferenceTile"):
        InferenceTile(3, 4, TileConfig(device=step_device))


def test_counters_advance_per_pass_and_not_on_rejection():
    tile = make_tile(torch.eye(4), quiet(), quiet())
    tile.forward(torch.ones(2, 4))
    tile.forward(torch.ones(2, 4))
    tile.backward(torch.ones(2, 4))
    assert tile.forward_periphery.call_index == 2
    assert tile.backward_periphery.call_index == 1
    for bad in (torch.ones(2, 5), torch.ones(2, 4, dtype=torch.int64), "x"):
        with pytest.raises((TypeError, ValueError)):
            tile.forward(bad)
    assert tile.forward_periphery.call_index == 2


def test_batched_shapes_and_dtypes():
    tile = make_tile(torch.eye(4) * 0.5, quiet())
    x = torch.rand(2, 3, 4, dtype=torch.float64)
    y = tile.forward(x)
    assert y.shape == (2, 3, 4) and y.dtype == torch.float64
    z = tile.backward(torch.rand(5, 4, dtype=torch.float16))
    assert z.shape == (5, 4) and z.dtype == torch.float16


def test_analog_bias_takes_part_in_noise_management(step_device):
    config = TileConfig(device=step_device, forward=quiet(bound_management="None", out_res=0.0))
    tile = AnalogTile(1, 2, bias=True, seed=0, rpu_config=config)
    tile.set_weights(torch.tensor([[0.3, 0.3]]), torch.tensor([0.25]))
    w = tile.weights
    # x = (0.1, 0.1) and the bias input 1: max|x| = 1, so the DAC sees 0.1 -> 6/63
    # (it would see 1 -> 1 if the bias were left out of noise management).
    y = tile.forward(torch.tensor([[0.1, 0.1]]))
    expected = (w[0, 0] + w[0, 1]) * 6 / 63 + w[0, 2]
    assert torch.allclose(y, expected.reshape(1, 1), atol=1e-6)


def test_reference_backend_runs_without_the_engine(monkeypatch):
    from aihw.core import engine

    monkeypatch.setattr(engine, "_module", None)
    monkeypatch.setattr(engine, "_failure", None)
    monkeypatch.setattr(engine, "_MODULE_NAME", "aihw.core._core_not_built_for_this_test")
    tile = make_tile(torch.eye(3), quiet())
    assert not tile.periphery_uses_native()
    tile.forward(torch.ones(1, 3))
    tile.backend = "native"
    with pytest.raises((RuntimeError, ImportError)):
        tile.forward(torch.ones(1, 3))


def test_moving_a_tile_moves_the_periphery():
    tile = make_tile(torch.eye(3), IOParameters(out_noise_std=0.1))
    tile.to("cpu")
    assert tile.forward_periphery.noise_per_output.device.type == "cpu"

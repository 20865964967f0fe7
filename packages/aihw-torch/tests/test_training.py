"""Training analog layers: exact tiles match torch; pulsed tiles move within their bounds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.core.tiles import AnalogTile
from aihw.devices import (
    ConstantStepResistiveDevice,
    FloatingPointResistiveDevice,
    PulsedResistiveDeviceParameters,
)
from aihw.nn import AnalogLinear


def _data(n: int = 16):
    x = torch.rand(n, 4)
    y = torch.stack((x.sum(1) - 1, x[:, 0] * x[:, 1]), 1)
    return x, y


def _step_tiles(model: nn.Module, lr: float) -> None:
    """What an analog optimizer does for the tiles: apply the recorded update."""
    for module in model.modules():
        if hasattr(module, "analog_tile"):
            module.analog_tile.apply_recorded_update(lr)


@pytest.mark.parametrize("device", [None, FloatingPointResistiveDevice()], ids=["none", "fp"])
def test_floating_point_training_equals_nn_linear_with_sgd(device):
    layer = AnalogLinear(4, 2, resistive_device=device)
    reference = nn.Linear(4, 2)
    reference.load_state_dict(layer.state_dict(), strict=False)
    lr = 0.1
    bias_optimizer = torch.optim.SGD([layer.bias], lr=lr)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=lr)
    x, y = _data()
    for _ in range(10):
        for model, optimizer in ((layer, bias_optimizer), (reference, ref_optimizer)):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        _step_tiles(layer, lr)
    torch.testing.assert_close(layer.weight, reference.weight)
    torch.testing.assert_close(layer.bias, reference.bias)


def test_constant_step_layer_trains_within_its_device_bounds():
    device = ConstantStepResistiveDevice(PulsedResistiveDeviceParameters(w_min=-0.4))
    layer = AnalogLinear(4, 2, resistive_device=device)
    tile = layer.analog_tile
    assert isinstance(tile, AnalogTile)
    w_min, w_max = tile.device_arrays["w_min"], tile.device_arrays["w_max"]
    initial = layer.weight.detach().clone()
    x, y = _data()
    for _ in range(6):
        (layer(x) - 10 * y).pow(2).sum().backward()  # large errors: push into the bounds
        tile.apply_recorded_update(0.5)
        layer.bias.grad = None
        assert torch.all(layer.weight >= w_min) and torch.all(layer.weight <= w_max)
    assert not torch.equal(layer.weight.detach(), initial)
    at_bound = (layer.weight == w_min) | (layer.weight == w_max)
    assert at_bound.any(), "the large errors should drive some devices to a bound"
    assert layer.weight.data_ptr() == tile.weights.data_ptr()
    assert layer.weight.grad is None


def test_constant_step_layer_clips_programmed_weights():
    layer = AnalogLinear(3, 2, bias=False, resistive_device=ConstantStepResistiveDevice())
    w_max = layer.analog_tile.device_arrays["w_max"]
    layer.set_weights(torch.full((2, 3), 5.0))
    assert torch.equal(layer.weight.detach(), w_max)
    with pytest.warns(UserWarning, match="6 of 6 weights .* were clipped"):  # issue 13
        layer.load_state_dict({"weight": torch.full((2, 3), 5.0)})
    assert torch.equal(layer.weight.detach(), w_max)
    # Init larger than the bounds (fan_in=1: U(-1, 1)) is clipped as well.
    small = AnalogLinear(1, 50, resistive_device=ConstantStepResistiveDevice())
    bounds = small.analog_tile.device_arrays
    assert torch.all(small.weight >= bounds["w_min"]) and torch.all(small.weight <= bounds["w_max"])


def test_seed_makes_pulsed_training_reproducible():
    def run() -> torch.Tensor:
        layer = AnalogLinear(4, 2, resistive_device=ConstantStepResistiveDevice(), seed=7)
        x, y = _data()
        for _ in range(3):
            nn.functional.mse_loss(layer(x), y).backward()
            layer.analog_tile.apply_recorded_update(0.1)
        return layer.weight.detach().clone()

    torch.manual_seed(0)
    first = run()
    torch.manual_seed(0)
    assert torch.equal(first, run())

"""Every snippet of the seed user guide (docs/index.rst includes these files) runs and does
what the guide says, with the import paths mapped to aihw."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from aihw.core.tiles import AnalogTile, FloatingPointTile
from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear
from aihw.optim import AnalogSGD


def test_create_layer_defaults_to_an_exact_floating_point_tile(run_snippet):
    model = run_snippet("create_layer")["model"]
    assert isinstance(model, AnalogLinear)
    assert (model.in_features, model.out_features) == (5, 3)
    assert isinstance(model.analog_tile, FloatingPointTile)
    assert model.bias is not None and model.bias.shape == (3,)
    x = torch.randn(4, 5)
    torch.testing.assert_close(model(x), x @ model.weight.T + model.bias)


def test_mixed_sequential_trains(run_snippet):
    model = run_snippet("mixed_sequential")["model"]
    x = torch.rand(64, 2)
    y = (x[:, :1] - 0.5 * x[:, 1:]).sin()
    optimizer = AnalogSGD(model.parameters(), lr=0.1)
    optimizer.regroup_param_groups(model)
    losses = []
    for _ in range(200):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    # The digital layer in the middle trained too.
    assert model[1].weight.grad is not None


def test_sync_parameters_from_tile_reflects_the_tile(run_snippet):
    model = run_snippet("sync_parameters")["model"]
    new_weights = torch.full((3, 5), 0.25)
    model.analog_tile.set_weights(new_weights)
    model.sync_parameters_from_tile()
    torch.testing.assert_close(model.weight.detach(), new_weights)


def test_constant_step_device_honours_w_min(run_snippet):
    model = run_snippet("constant_step_device")["model"]
    tile = model.analog_tile
    assert isinstance(tile, AnalogTile)
    assert isinstance(tile.resistive_device, ConstantStepResistiveDevice)
    assert tile.resistive_device.params.w_min == -0.4
    w_min = tile.device_arrays["w_min"]
    w_max = tile.device_arrays["w_max"]
    # Per-device bounds spread by 30% around the means
    # (docs/physics/devices.md#device-to-device-sampling).
    assert abs(w_min.mean().item() + 0.4) < 0.1
    assert abs(w_max.mean().item() - 0.6) < 0.15
    # Push every weight down, then up, far beyond the bounds: each device saturates at
    # its own bound.
    x = torch.ones(16, 5)
    for sign in (+1.0, -1.0):
        for _ in range(60):
            tile.update(x, sign * torch.ones(16, 3), lr=0.5)
        weights = model.weight.detach()
        bound = w_min if sign > 0 else w_max
        assert torch.all(weights >= w_min) and torch.all(weights <= w_max)
        assert torch.allclose(weights, bound, atol=0.05), "weights should reach their bound"


@pytest.mark.cuda
def test_use_cuda(run_snippet):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine; the snippet needs one")
    model = run_snippet("use_cuda")["model"]
    assert model.weight.is_cuda and model.analog_tile.weights.is_cuda
    assert model.analog_tile.engine == "cuda"  # the guide's promise: the CUDA kernels run


def test_optimizer_regroups_analog_weights(run_snippet):
    namespace = run_snippet("optimizer")
    optimizer, model = namespace["optimizer"], namespace["model"]
    analog_groups = [g for g in optimizer.param_groups if g.get("analog_tile") is not None]
    assert len(analog_groups) == 1
    assert analog_groups[0]["analog_tile"] is model.analog_tile
    assert analog_groups[0]["params"][0] is model.weight
    assert analog_groups[0]["lr"] == 0.1


def test_training_example_loss_falls(run_snippet):
    namespace = run_snippet("training")
    losses = [
        float(re.search(r"tensor\(([-0-9.e]+)", line).group(1)) for line in namespace["_printed"]
    ]
    assert len(losses) == 10
    assert losses[-1] < losses[0]
    assert min(losses[5:]) < 0.7 * losses[0]

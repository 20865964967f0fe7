"""Tile splitting (docs/physics/mapping.md#tile-splitting) and the mapping options."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear, MappingParameters
from aihw.optim import AnalogSGD


def _copy(layer: AnalogLinear) -> nn.Linear:
    reference = nn.Linear(layer.in_features, layer.out_features)
    weight, bias = layer.get_weights()
    with torch.no_grad():
        reference.weight.copy_(weight)
        reference.bias.copy_(bias)
    return reference


def test_split_layer_matches_unsplit_and_torch() -> None:
    split = AnalogLinear(1300, 700)  # in x out = 1300 x 700 on 512 x 512 tiles
    assert split.tile_grid == (1, 2, 3)
    assert [tuple(t.weights.shape) for t in split.analog_tiles()] == [
        (350, 434),
        (350, 433),
        (350, 433),
    ] * 2
    unsplit = AnalogLinear(1300, 700, max_input_size=0, max_output_size=0)
    assert unsplit.tile_grid == (1, 1, 1)
    weight, bias = split.get_weights()
    unsplit.set_weights(weight, bias)
    reference = _copy(split)
    x = torch.randn(2, 3, 1300, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    x3 = x.detach().clone().requires_grad_(True)
    y, y2, y3 = split(x), unsplit(x2), reference(x3)
    torch.testing.assert_close(y, y2, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(y, y3, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(y)
    for out in (y, y2, y3):
        out.backward(grad)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, x3.grad, rtol=1e-5, atol=1e-5)
    # A training step with AnalogSGD updates every tile exactly like the unsplit layer.
    for layer in (split, unsplit):
        optimizer = AnalogSGD(layer.parameters(), lr=0.01)
        optimizer.zero_grad()
        layer(x.detach()).square().mean().backward()
        optimizer.step()
    torch.testing.assert_close(
        split.get_weights()[0], unsplit.get_weights()[0], rtol=1e-5, atol=1e-6
    )
    assert all(t.update_index == 1 for t in split.analog_tiles())


def test_split_layer_trains_with_a_pulsed_device() -> None:
    torch.manual_seed(0)
    layer = AnalogLinear(
        12, 4, resistive_device=ConstantStepResistiveDevice(), max_input_size=5, max_output_size=3
    )
    assert len(list(layer.analog_tiles())) == 6
    optimizer = AnalogSGD(layer.parameters(), lr=0.1)
    optimizer.regroup_param_groups(layer)
    x = torch.rand(16, 12)
    target = torch.rand(16, 4) * 0.4 - 0.2
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(layer(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(t.update_index == 40 for t in layer.analog_tiles())


def test_analog_bias_column() -> None:
    layer = AnalogLinear(10, 4, mapping=MappingParameters(digital_bias=False), max_input_size=6)
    assert layer.bias is None
    assert [t.bias for t in layer.analog_tiles()] == [False, True]
    weight, bias = layer.get_weights()
    assert bias is not None
    x = torch.randn(5, 10)
    torch.testing.assert_close(layer(x), x @ weight.T + bias)
    new_bias = torch.arange(4.0)
    layer.set_weights(weight, new_bias)
    torch.testing.assert_close(layer.get_weights()[1], new_bias)
    torch.testing.assert_close(layer(x), x @ weight.T + new_bias)
    # Training the bias column: exact SGD on the floating-point tile.
    reference = _copy_with(weight, new_bias)
    for module, opt in (
        (layer, AnalogSGD(layer.parameters(), lr=0.1)),
        (reference, torch.optim.SGD(reference.parameters(), lr=0.1)),
    ):
        opt.zero_grad()
        module(x).square().sum().backward()
        opt.step()
    torch.testing.assert_close(
        layer.get_weights()[1], reference.bias.detach(), rtol=1e-5, atol=1e-6
    )


def _copy_with(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    reference = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        reference.weight.copy_(weight)
        reference.bias.copy_(bias)
    return reference


@pytest.mark.parametrize("columnwise", [False, True])
@pytest.mark.parametrize("compensation", [False, True])
def test_weight_scaling_keeps_the_logical_layer(columnwise: bool, compensation: bool) -> None:
    mapping = MappingParameters(
        weight_scaling_omega=0.5,
        weight_scaling_columnwise=columnwise,
        weight_scaling_lr_compensation=compensation,
        max_input_size=4,
    )
    layer = AnalogLinear(7, 3, mapping=mapping)
    weight = torch.randn(3, 7) * 3
    bias = torch.randn(3)
    layer.set_weights(weight, bias)
    for tile in layer.analog_tiles():
        peak = tile.weights.abs().amax(dim=1) if columnwise else tile.weights.abs().amax()
        torch.testing.assert_close(peak, torch.full_like(peak, 0.5))
    torch.testing.assert_close(layer.get_weights()[0], weight)
    reference = _copy_with(weight, bias)
    x = torch.randn(4, 7, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    torch.testing.assert_close(layer(x), reference(x_ref), rtol=1e-5, atol=1e-5)
    layer(x).sum().backward()
    reference(x_ref).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)
    # The logical update equals SGD's.
    optimizer = AnalogSGD(layer.parameters(), lr=0.1)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    for module, opt in ((layer, optimizer), (reference, reference_optimizer)):
        opt.zero_grad()
        module(x.detach()).square().sum().backward()
        opt.step()
    torch.testing.assert_close(
        layer.get_weights()[0], reference.weight.detach(), rtol=1e-4, atol=1e-5
    )

"""Tile splitting (docs/physics/mapping.md#tile-splitting) and the mapping options."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.nn import AnalogLinear, MappingParameters
from aihw.nn.mapping import split_sizes


def test_split_sizes_follow_the_divmod_rule() -> None:
    assert split_sizes(1300, 512) == [(0, 434), (434, 433), (867, 433)]
    assert split_sizes(700, 512) == [(0, 350), (350, 350)]
    assert split_sizes(512, 512) == [(0, 512)]
    assert split_sizes(5000, 0) == [(0, 5000)]


def _copy(layer: AnalogLinear) -> nn.Linear:
    reference = nn.Linear(layer.in_features, layer.out_features)
    weight, bias = layer.get_weights()
    with torch.no_grad():
        reference.weight.copy_(weight)
        reference.bias.copy_(bias)
    return reference


def test_split_layer_weight_parameters() -> None:
    layer = AnalogLinear(20, 6, max_input_size=8, max_output_size=4)
    assert layer.tile_grid == (1, 2, 3)
    names = [name for name, _ in layer.named_parameters()]
    assert names == ["weight_split_0", "weight_split_1", "weight_split_2", "bias"]
    assert layer.weight.shape == (6, 20)  # assembled, a copy
    assert not layer.weight.requires_grad
    for param in layer.parameters():
        if hasattr(param, "analog_tiles"):
            assert len(param.analog_tiles) == 2
            for tile in param.analog_tiles:
                assert any(tile.weights.data_ptr() == param[row].data_ptr() for row in range(6))


def _copy_with(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    reference = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        reference.weight.copy_(weight)
        reference.bias.copy_(bias)
    return reference


@pytest.mark.parametrize("columnwise", [False, True])
def test_learned_out_scaling(columnwise: bool) -> None:
    mapping = MappingParameters(learn_out_scaling=True, out_scaling_columnwise=columnwise)
    layer = AnalogLinear(5, 3, mapping=mapping)
    assert layer.out_scaling_alpha.shape == ((3,) if columnwise else (1,))
    assert torch.equal(layer.out_scaling_alpha.detach(), torch.ones_like(layer.out_scaling_alpha))
    x = torch.randn(4, 5)
    with torch.no_grad():
        layer.out_scaling_alpha.fill_(2.0)
    weight, bias = layer.get_weights()
    torch.testing.assert_close(layer(x), 2.0 * (x @ weight.T) + bias)
    layer(x).sum().backward()
    assert layer.out_scaling_alpha.grad is not None


def test_mapping_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="max_input_size"):
        MappingParameters(max_input_size=-1)
    with pytest.raises(TypeError, match="digital_bias"):
        MappingParameters(digital_bias=1)
    with pytest.raises(ValueError, match="weight_scaling_omega"):
        MappingParameters(weight_scaling_omega=float("nan"))
    with pytest.raises(TypeError, match="mapping"):
        AnalogLinear(3, 3, mapping={"max_input_size": 2})

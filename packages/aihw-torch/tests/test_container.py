"""AnalogSequential helpers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential


def _model() -> AnalogSequential:
    return AnalogSequential(
        AnalogConv2d(1, 2, 3),
        nn.Flatten(),
        nn.Sequential(AnalogLinear(8, 4), nn.ReLU()),
        nn.Linear(4, 2),
    )


def test_is_a_sequential_and_runs():
    model = _model()
    assert isinstance(model, nn.Sequential)
    assert model(torch.randn(5, 1, 4, 4)).shape == (5, 2)


def test_analog_layers_and_tiles_include_nested_ones():
    model = _model()
    assert [name for name, _ in model.named_analog_layers()] == ["0", "2.0"]
    assert list(model.analog_layers()) == [model[0], model[2][0]]
    assert list(model.analog_tiles()) == [model[0].analog_tile, model[2][0].analog_tile]


def test_get_and_set_weights_round_trip():
    model = _model()
    weights = model.get_weights()
    assert set(weights) == {"0", "2.0"}
    other = _model()
    other.set_weights(weights)
    for name, (weight, bias) in other.get_weights().items():
        assert torch.equal(weight, weights[name][0])
        assert torch.equal(bias, weights[name][1])


def test_set_weights_unknown_name_changes_nothing():
    model = _model()
    before = model.get_weights()
    with pytest.raises(KeyError, match=r"'3' not analog layers.*'0', '2.0'"):
        model.set_weights({"0": (torch.zeros(2, 1, 3, 3), None), "3": (torch.zeros(2, 4), None)})
    assert torch.equal(model.get_weights()["0"][0], before["0"][0])


def test_sync_parameters_from_tile():
    model = _model()
    model[0].weight.data = torch.zeros(2, 1, 3, 3)
    model.sync_parameters_from_tile()
    assert model[0].weight.data_ptr() == model[0].analog_tile.weights.data_ptr()

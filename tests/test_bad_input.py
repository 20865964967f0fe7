"""Bad input through the public API: a clear error naming the parameter, and no change."""

from __future__ import annotations

import pytest
import torch

from aihw.devices import (
    ConstantStepResistiveDevice,
    PulsedResistiveDeviceParameters,
    get_device,
)
from aihw.nn import AnalogLinear
from aihw.optim import AnalogSGD


@pytest.fixture
def layer() -> AnalogLinear:
    return AnalogLinear(4, 3, resistive_device=ConstantStepResistiveDevice(), seed=3)


def _state(layer: AnalogLinear) -> dict[str, torch.Tensor]:
    tile = layer.analog_tile
    state = {"weights": tile.weights.clone()}
    state.update({k: v.clone() for k, v in tile.device_arrays.items()})
    return state


def _assert_unchanged(layer: AnalogLinear, before: dict[str, torch.Tensor], index: int) -> None:
    after = _state(layer)
    for name, value in before.items():
        assert torch.equal(after[name], value), f"{name} changed by a rejected call"
    assert layer.analog_tile.update_index == index


def test_wrong_input_shape_names_input_and_expected_features(layer):
    with pytest.raises(ValueError, match=r"input.*\(2, 5\).*4"):
        layer(torch.rand(2, 5))


def test_integer_input_names_the_dtype(layer):
    with pytest.raises(TypeError, match=r"input.*torch\.int64"):
        layer(torch.ones(2, 4, dtype=torch.int64))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("which", ["x", "d"])
def test_non_finite_update_inputs_are_rejected_and_change_nothing(layer, bad, which):
    tile = layer.analog_tile
    before, index = _state(layer), tile.update_index
    x, d = torch.rand(5, 4), torch.rand(5, 3)
    (x if which == "x" else d)[2, 1] = bad
    with pytest.raises(ValueError, match=rf"\b{which}\b.*(NaN|Inf)"):
        tile.update(x, d, lr=0.1)
    _assert_unchanged(layer, before, index)


def test_non_finite_error_during_training_changes_nothing(layer):
    optimizer = AnalogSGD(layer.parameters(), lr=0.1)
    optimizer.regroup_param_groups(layer)
    before, index = _state(layer), layer.analog_tile.update_index
    out = layer(torch.rand(2, 4))
    # Rejected when recorded (backward) or when applied (step): either way, nothing changes.
    with pytest.raises(ValueError, match=r"NaN|Inf"):
        (out.sum() * float("nan")).backward()
        optimizer.step()
    _assert_unchanged(layer, before, index)


def test_negative_learning_rate_is_rejected(layer):
    before, index = _state(layer), layer.analog_tile.update_index
    with pytest.raises(ValueError, match=r"lr.*-0\.5"):
        layer.analog_tile.update(torch.rand(2, 4), torch.rand(2, 3), lr=-0.5)
    _assert_unchanged(layer, before, index)
    with pytest.raises(ValueError, match=r"lr"):
        AnalogSGD(layer.parameters(), lr=-0.5)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"w_min": 0.5, "w_max": 0.4}, "w_min"),
        ({"w_min": 0.6, "w_max": 0.6}, "w_min"),
        ({"dw_min": 0.0}, "dw_min"),
        ({"dw_min": -1e-3}, "dw_min"),
        ({"dw_min_std": -0.1}, "dw_min_std"),
        ({"dw_min_dtod": -0.1}, "dw_min_dtod"),
        ({"w_max_dtod": -0.2}, "w_max_dtod"),
    ],
)
def test_invalid_device_parameters_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        ConstantStepResistiveDevice(PulsedResistiveDeviceParameters(**overrides))


def test_unknown_device_name_suggests_the_closest():
    with pytest.raises(LookupError, match=r"ConstantStep"):
        get_device("ConstantStepp")

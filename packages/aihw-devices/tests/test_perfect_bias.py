"""``perfect_bias``: the analog bias column of a tile gets ideal steps and wide bounds (C.2)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import AnalogTile, UpdateParameters
from aihw.core.parameters import PulseType
from aihw.devices import SoftBoundsDevice, get_device, list_devices

# Compounds have no perfect_bias of their own (their devices do).
PULSED = [info.name for info in list_devices() if info.law is not None]


def _arrays(device, bias, seed=7):
    return AnalogTile(3, 4, device, bias=bias, seed=seed).device_arrays


@pytest.mark.parametrize("name", PULSED)
def test_the_bias_column_gets_the_mean_step_and_hundredfold_bounds(name):
    device = get_device(name, perfect_bias=True)
    p = device.effective_params()
    arrays = _arrays(device, bias=True)
    last = {key: value[:, -1] for key, value in arrays.items()}
    expected = {
        "dw_up": p.dw_min,
        "dw_down": p.dw_min,
        "w_min": 100 * p.w_min,
        "w_max": 100 * p.w_max,
    }
    for key, value in expected.items():
        torch.testing.assert_close(last[key], torch.full((3,), value, dtype=torch.float32))


@pytest.mark.parametrize("name", PULSED)
def test_the_other_columns_are_the_devices_without_perfect_bias(name):
    perfect = _arrays(get_device(name, perfect_bias=True), bias=True)
    plain = _arrays(get_device(name), bias=True)
    assert perfect.keys() == plain.keys()
    for key in plain:
        assert torch.equal(perfect[key][:, :-1], plain[key][:, :-1]), key


@pytest.mark.parametrize("name", ["ConstantStep", "SoftBounds", "LinearStep"])
def test_without_a_bias_column_perfect_bias_changes_nothing(name):
    perfect = _arrays(get_device(name, perfect_bias=True), bias=False)
    plain = _arrays(get_device(name), bias=False)
    for key in plain:
        assert torch.equal(perfect[key], plain[key]), key


def test_soft_bounds_slopes_of_the_bias_column_follow_its_new_bounds():
    # The family's arrays are derived from the perfect steps and bounds, as in the
    # reference, so the bias column is nearly linear instead of keeping its old slope.
    device = SoftBoundsDevice(perfect_bias=True)
    arrays = _arrays(device, bias=True)
    p = device.params
    torch.testing.assert_close(
        arrays["slope_up"][:, -1], torch.full((3,), -p.dw_min / (100 * p.w_max))
    )
    torch.testing.assert_close(
        arrays["slope_down"][:, -1], torch.full((3,), -p.dw_min / (100 * p.w_min))
    )


def test_the_bias_weight_keeps_stepping_past_the_soft_bound():
    quiet = {"dw_min_dtod": 0.0, "up_down_dtod": 0.0, "w_max_dtod": 0.0, "w_min_dtod": 0.0}
    device = SoftBoundsDevice(dw_min=0.1, w_max=0.5, w_min=-0.5, dw_min_std=0.0, **quiet)
    update = UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT, desired_bl=1, fixed_bl=True
    )
    tiles = {
        flag: AnalogTile(
            1,
            1,
            SoftBoundsDevice(device.params, perfect_bias=flag),
            bias=True,
            seed=0,
            update=update,
        )
        for flag in (False, True)
    }
    for tile in tiles.values():
        for _ in range(10):  # 10 UP pulses on the input and on the bias column
            tile.update(torch.ones(1, 1), -torch.ones(1, 1), tile.granularity)
    ideal_bias = sum(0.1 * (1 - 0.1 / 50) ** k for k in range(10))
    assert tiles[True].weights[0, 1].item() == pytest.approx(ideal_bias, rel=1e-5)
    assert tiles[False].weights[0, 1].item() < 0.5
    # the input column is the same soft-bounds device either way
    assert tiles[True].weights[0, 0].item() == tiles[False].weights[0, 0].item()

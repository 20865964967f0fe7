"""The public device-to-device sampling that plugin devices share with the built-in ones."""

from __future__ import annotations

import pytest
import torch

from aihw.devices import ConstantStepResistiveDevice, PulsedResistiveDeviceParameters
from aihw.devices.sampling import sample_device_to_device

KEYS = ("dw_up", "dw_down", "w_min", "w_max")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"w_max_dtod": 0.2, "w_min_dtod": 0.1, "up_down": 0.1, "up_down_dtod": 0.05},
        {"dw_min_dtod": 0.5, "dw_min_dtod_log_normal": True},
        {"corrupt_devices_prob": 0.2, "corrupt_devices_range": 0.5},
        {"construction_seed": 11},
        {"enforce_consistency": False, "w_max_dtod": 0.8},
    ],
)
@pytest.mark.parametrize("bias_column", [False, True])
def test_the_draws_of_the_built_in_constant_step(overrides, bias_column):
    params = PulsedResistiveDeviceParameters(perfect_bias=bias_column, **overrides)
    public = sample_device_to_device(
        params, 5, 4, torch.Generator().manual_seed(3), bias_column=bias_column
    )
    built_in = ConstantStepResistiveDevice(params).sample_tile(
        5, 4, torch.Generator().manual_seed(3), bias_column=bias_column
    )
    assert tuple(public) == KEYS
    for key in KEYS:
        assert public[key].dtype == torch.float32 and public[key].is_contiguous()
        assert torch.equal(public[key], built_in[key])


def test_bad_arguments_are_named():
    params = PulsedResistiveDeviceParameters()
    with pytest.raises(TypeError, match="takes a PulsedResistiveDeviceParameters"):
        sample_device_to_device(object(), 2, 2, torch.Generator())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a CPU torch.Generator"):
        sample_device_to_device(params, 2, 2, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"sample\(d_size=0\) is invalid"):
        sample_device_to_device(params, 0, 2, torch.Generator())
    with pytest.raises(ValueError, match="dw_min"):
        sample_device_to_device(
            PulsedResistiveDeviceParameters(dw_min=-1.0), 2, 2, torch.Generator()
        )

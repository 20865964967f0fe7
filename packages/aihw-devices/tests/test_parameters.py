"""PulsedResistiveDeviceParameters: the docs/physics/devices.md#base-parameters defaults and their
validation."""

from __future__ import annotations

import dataclasses
import math

import pytest

from aihw.devices import (
    ConstantStepResistiveDevice,
    ConstantStepResistiveDeviceParameters,
    FloatingPointTileParameters,
    PulsedResistiveDeviceParameters,
)

SPEC_C1_DEFAULTS = {
    "dw_min": 0.001,
    "dw_min_dtod": 0.3,
    "dw_min_dtod_log_normal": False,
    "dw_min_std": 0.3,
    "up_down": 0.0,
    "up_down_dtod": 0.01,
    "w_max": 0.6,
    "w_max_dtod": 0.3,
    "w_min": -0.6,
    "w_min_dtod": 0.3,
    "reset": 0.0,
    "reset_dtod": 0.0,
    "reset_std": 0.01,
    "lifetime": 0.0,
    "lifetime_dtod": 0.0,
    "diffusion": 0.0,
    "diffusion_dtod": 0.0,
    "corrupt_devices_prob": 0.0,
    "corrupt_devices_range": 0.1,
    "enforce_consistency": True,
    "perfect_bias": False,
    "construction_seed": 0,
}


def test_every_spec_c1_field_has_the_reference_python_default():
    params = PulsedResistiveDeviceParameters()
    fields = {f.name for f in dataclasses.fields(params)}
    assert fields == set(SPEC_C1_DEFAULTS)
    for name, default in SPEC_C1_DEFAULTS.items():
        value = getattr(params, name)
        assert value == default and type(value) is type(default), name


def test_the_v01_names_are_the_same_class():
    assert ConstantStepResistiveDeviceParameters is PulsedResistiveDeviceParameters
    assert dataclasses.fields(FloatingPointTileParameters()) == ()


def test_defaults_are_valid():
    PulsedResistiveDeviceParameters().validate()
    FloatingPointTileParameters().validate()


INVALID = [
    ("dw_min", 0.0, "dw_min > 0"),
    ("dw_min", -0.1, "dw_min > 0"),
    ("dw_min", math.nan, "finite"),
    ("dw_min", math.inf, "finite"),
    ("dw_min", "0.1", "finite number"),
    ("dw_min_dtod", -0.1, "dw_min_dtod >= 0"),
    ("dw_min_std", -0.1, "dw_min_std >= 0"),
    ("up_down", math.nan, "finite"),
    ("up_down_dtod", -0.01, "up_down_dtod >= 0"),
    ("w_max_dtod", -0.3, "w_max_dtod >= 0"),
    ("w_min_dtod", -0.3, "w_min_dtod >= 0"),
    ("reset", math.inf, "finite"),
    ("reset_dtod", -1.0, "reset_dtod >= 0"),
    ("reset_std", -1.0, "reset_std >= 0"),
    ("lifetime", -1.0, "lifetime >= 0"),
    ("lifetime_dtod", -1.0, "lifetime_dtod >= 0"),
    ("diffusion", -1.0, "diffusion >= 0"),
    ("diffusion_dtod", -1.0, "diffusion_dtod >= 0"),
    ("corrupt_devices_prob", -0.1, "0 <= corrupt_devices_prob <= 1"),
    ("corrupt_devices_prob", 1.5, "0 <= corrupt_devices_prob <= 1"),
    ("corrupt_devices_range", -0.1, "corrupt_devices_range >= 0"),
    ("w_min", 0.1, "must contain 0"),
    ("w_max", -0.1, "must contain 0"),
    ("w_max", True, "finite number"),
    ("enforce_consistency", 1, "True or False"),
    ("dw_min_dtod_log_normal", "yes", "True or False"),
    ("perfect_bias", None, "True or False"),
    ("construction_seed", -1, "construction_seed < 2**64"),
    ("construction_seed", 2**64, "construction_seed < 2**64"),
    ("construction_seed", 1.5, "integer"),
]


@pytest.mark.parametrize(("field", "value", "allowed"), INVALID)
def test_an_invalid_parameter_is_named_with_its_value_and_what_is_allowed(field, value, allowed):
    params = PulsedResistiveDeviceParameters(**{field: value})
    with pytest.raises(ValueError, match=rf"PulsedResistiveDeviceParameters\.{field}=") as info:
        params.validate()
    assert repr(value) in str(info.value)
    assert allowed in str(info.value)
    # the device validates at construction, by keyword override or from a parameters object
    with pytest.raises(ValueError, match=field):
        ConstantStepResistiveDevice(**{field: value})
    with pytest.raises(ValueError, match=field):
        ConstantStepResistiveDevice(params)


def test_w_min_must_be_below_w_max():
    with pytest.raises(ValueError, match=r"w_min=0\.0 and w_max=0\.0 .*w_min < w_max"):
        PulsedResistiveDeviceParameters(w_min=0.0, w_max=0.0).validate()


def test_bounds_touching_zero_are_valid():
    PulsedResistiveDeviceParameters(w_min=0.0, w_max=1.0).validate()
    PulsedResistiveDeviceParameters(w_min=-1.0, w_max=0.0).validate()


def test_numpy_scalars_are_numbers():
    np = pytest.importorskip("numpy")
    PulsedResistiveDeviceParameters(dw_min=np.float32(0.01), w_min=np.float64(-0.5)).validate()

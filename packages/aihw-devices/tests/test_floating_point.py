"""FloatingPointResistiveDevice: an exact device without pulses."""

from __future__ import annotations

import pytest
import torch

from aihw.devices import (
    FloatingPointDevice,
    FloatingPointResistiveDevice,
    FloatingPointTileParameters,
    PulsedResistiveDeviceParameters,
)


def test_floating_point_device():
    device = FloatingPointResistiveDevice()
    assert FloatingPointDevice is FloatingPointResistiveDevice
    assert (device.name, device.law, device.api_version) == ("FloatingPoint", None, 1)
    assert device.is_floating_point
    assert device.params == FloatingPointTileParameters()
    assert device.sample(2, 3, torch.Generator()) == {}
    assert device.law_scalars() == {}


def test_v01_constructor():
    params = FloatingPointTileParameters()
    assert FloatingPointResistiveDevice(params_devices=params) == FloatingPointResistiveDevice()
    with pytest.raises(TypeError, match="FloatingPointTileParameters"):
        FloatingPointResistiveDevice(PulsedResistiveDeviceParameters())


def test_it_has_no_granularity_nor_step_law():
    with pytest.raises(ValueError, match="floating-point"):
        FloatingPointResistiveDevice().granularity()
    with pytest.raises(ValueError, match="floating-point"):
        FloatingPointResistiveDevice().step_law()

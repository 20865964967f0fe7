"""A checkpoint saved with another device is refused, naming both devices, unless loaded within
``aihw.nn.adopt_checkpoint_devices()``; then the layer adopts the checkpoint's device and every view says so."""

from __future__ import annotations

import pytest
import torch

from aihw.core.grid_state import LayerStateError
from aihw.devices import (
    ConstantStepResistiveDevice,
    InferenceRPUConfig,
    SingleRPUConfig,
    SoftBoundsResistiveDevice,
)
from aihw.nn import AnalogLinear, AnalogSequential, adopt_checkpoint_devices, analog_summary
from aihw.nn.persistence import CheckpointError


def _layer(device):
    return AnalogLinear(4, 2, resistive_device=device)


CASES = [
    (ConstantStepResistiveDevice, SoftBoundsResistiveDevice),
    (SoftBoundsResistiveDevice, ConstantStepResistiveDevice),
    (lambda: None, SoftBoundsResistiveDevice),
    (SoftBoundsResistiveDevice, lambda: None),
]


@pytest.mark.parametrize(("saved", "target"), CASES)
def test_another_device_is_refused_naming_both(saved, target):
    source, layer = _layer(saved()), _layer(target())
    before = {k: v.clone() for k, v in layer.state_dict().items() if k != "_extra_state"}
    tile = layer.analog_tile
    with pytest.raises(LayerStateError) as error:
        layer.load_state_dict(source.state_dict())
    message = str(error.value)
    for other in (source, layer):
        device = other.analog_tile.resistive_device
        assert (type(device).__name__ if device is not None else "no device") in message
    assert "adopt_checkpoint_devices" in message
    assert layer.analog_tile is tile  # nothing changed
    for key, value in before.items():
        assert torch.equal(layer.state_dict()[key], value)


def test_the_message_verbatim():
    layer = _layer(SoftBoundsResistiveDevice())
    with pytest.raises(LayerStateError) as error:
        layer.load_state_dict(_layer(ConstantStepResistiveDevice()).state_dict())
    assert str(error.value) == (
        "AnalogLinear: the checkpoint was saved with ConstantStepResistiveDevice (AnalogTile) "
        "but this layer has SoftBoundsResistiveDevice (AnalogTile); to adopt the checkpoint's "
        "device, load it within aihw.nn.adopt_checkpoint_devices(), or build the layer with "
        "that device"
    )


@pytest.mark.parametrize(("saved", "target"), CASES)
def test_adopting_adopts_the_checkpoint_device_in_every_view(saved, target):
    source = AnalogSequential(_layer(saved()))
    model = AnalogSequential(_layer(target()))
    with pytest.raises(CheckpointError, match="adopt_checkpoint_devices"):
        model.load_state_dict(source.state_dict())
    with adopt_checkpoint_devices():
        model.load_state_dict(source.state_dict())
    layer, expected = model[0], source[0].resistive_device
    name = type(expected).__name__ if expected is not None else "None"
    assert type(layer.analog_tile) is type(source[0].analog_tile)
    assert type(layer.resistive_device) is type(expected)
    assert layer.resistive_device == expected
    assert f"resistive_device={name}" in repr(layer)
    summary_device = "FloatingPoint" if expected is None else type(expected).name
    assert analog_summary(model).layers[0].device == summary_device
    x = torch.rand(3, 4)
    assert torch.equal(layer(x), source[0](x))


def test_adopting_updates_the_rpu_config():
    source = AnalogLinear(4, 2, rpu_config=SingleRPUConfig(device=ConstantStepResistiveDevice()))
    layer = AnalogLinear(4, 2, rpu_config=SingleRPUConfig(device=SoftBoundsResistiveDevice()))
    with adopt_checkpoint_devices():
        layer.load_state_dict(source.state_dict())
    assert isinstance(layer.rpu_config.device, ConstantStepResistiveDevice)
    assert layer.rpu_config.device is layer.resistive_device


def test_same_device_loads_as_before():
    source = AnalogLinear(4, 2, rpu_config=InferenceRPUConfig())
    layer = AnalogLinear(4, 2, rpu_config=InferenceRPUConfig())
    config, device = layer.rpu_config, layer.resistive_device
    layer.load_state_dict(source.state_dict())
    assert layer.rpu_config is config and layer.resistive_device is device

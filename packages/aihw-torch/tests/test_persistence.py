"""Layer checkpoints: exact resumption, weights_only loading, copies, refused checkpoints."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from aihw.core.tiles.state import MissingDeviceError
from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import (
    AnalogConv2d,
    AnalogLinear,
    AnalogSequential,
    LayerStateError,
    MappingParameters,
    adopt_checkpoint_devices,
)


def _model(seed: int = 0) -> AnalogSequential:
    torch.manual_seed(seed)
    device = ConstantStepResistiveDevice()
    return AnalogSequential(
        AnalogConv2d(2, 4, 3, groups=2, padding=1, resistive_device=device),
        nn.ReLU(),
        nn.Flatten(),
        AnalogLinear(4 * 5 * 5, 6, resistive_device=device, max_input_size=40, max_output_size=4),
        AnalogLinear(6, 3, mapping=MappingParameters(digital_bias=False, learn_out_scaling=True)),
    )


def _roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_dict_is_plain_data() -> None:
    model = _model()
    extra = model.state_dict()["0._extra_state"]
    assert extra["tiles"][0]["device"]["name"] == "ConstantStep"
    assert extra["tiles"][0]["device"]["distribution"] == "aihw-devices"
    assert extra["layout"]["groups"] == 2
    _roundtrip(model.state_dict())


def test_single_layer_refuses_a_bad_checkpoint_unchanged() -> None:
    layer = AnalogLinear(6, 4, resistive_device=ConstantStepResistiveDevice())
    before = layer.analog_tile.weights.clone()
    state = _roundtrip(
        AnalogLinear(6, 4, resistive_device=ConstantStepResistiveDevice()).state_dict()
    )
    state["_extra_state"]["tiles"][0]["weights"] = torch.zeros(2, 2)
    with pytest.raises(LayerStateError, match="tile 0"):
        layer.load_state_dict(state)
    assert torch.equal(layer.analog_tile.weights, before)
    state = _roundtrip(AnalogLinear(6, 4).state_dict())
    state["bogus"] = torch.zeros(1)
    with pytest.raises(LayerStateError, match="unexpected"):
        layer.load_state_dict(state)
    assert torch.equal(layer.analog_tile.weights, before)


def test_checkpoint_from_a_floating_point_layer_changes_the_tile_class() -> None:
    pulsed = AnalogLinear(3, 2, resistive_device=ConstantStepResistiveDevice())
    exact = AnalogLinear(3, 2)
    # Another device is refused unless adopted explicitly (issue 13, item 2).
    with pytest.raises(LayerStateError, match="adopt_checkpoint_devices"):
        pulsed.load_state_dict(exact.state_dict())
    with adopt_checkpoint_devices():
        pulsed.load_state_dict(exact.state_dict())
    assert type(pulsed.analog_tile).__name__ == "FloatingPointTile"
    assert pulsed.resistive_device is None
    assert pulsed.weight.data_ptr() == pulsed.analog_tile.weights.data_ptr()
    torch.testing.assert_close(pulsed.weight, exact.weight)


def test_checkpoint_needs_a_device_that_was_unregistered() -> None:
    from aihw.devices import register_device, unregister_device

    class LocalDevice(ConstantStepResistiveDevice):
        name = "LocalTestDevice"

    register_device(LocalDevice)
    try:
        layer = AnalogLinear(3, 2, resistive_device=LocalDevice())
        state = _roundtrip(layer.state_dict())
    finally:
        unregister_device("LocalTestDevice")
    with pytest.raises(
        MissingDeviceError, match="needs device 'LocalTestDevice' from distribution"
    ):
        AnalogLinear(3, 2).load_state_dict(state)

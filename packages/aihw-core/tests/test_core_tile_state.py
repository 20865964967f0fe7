"""Tile state as plain data: exact round trips, weights_only checkpoints, validation."""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest
import torch

from aihw.core.tiles import AnalogTile, FloatingPointTile
from aihw.core.tiles.state import (
    MissingDeviceError,
    TileStateError,
    load_tile_state,
    tile_from_state,
    tile_state,
)

DEVICES: dict[str, type] = {}
#: The test device classes of this package's conftest (set by the fixture below; a plain
#: ``from conftest import`` would pick another package's conftest in a combined run).
StepDevice: Any = None
ExactDevice: Any = None


@pytest.fixture(autouse=True)
def _devices(step_device, exact_device) -> None:
    # The test device classes of conftest, found by registry name as aihw.devices would.
    global StepDevice, ExactDevice
    StepDevice, ExactDevice = type(step_device), type(exact_device)
    DEVICES.update({StepDevice.name: StepDevice, ExactDevice.name: ExactDevice})


def resolve(name: str):
    return DEVICES[name]


def _save_load(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _train(tile, steps: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.rand(4, tile.in_size, generator=generator)
        d = torch.rand(4, tile.out_size, generator=generator) - 0.5
        tile.update(x, d, lr=0.05)


@pytest.mark.parametrize("bias", [False, True])
def test_analog_tile_resumes_exactly(bias: bool) -> None:
    tile = AnalogTile(3, 5, StepDevice(dw_min=0.01), bias=bias, seed=11)
    tile.set_learning_rate(0.2)
    _train(tile, 3, seed=1)
    state = _save_load(tile_state(tile))
    assert state["device"]["name"] == "TestConstantStep"
    assert state["device"]["params"]["dw_min"] == 0.01
    assert state["update_index"] == 3
    resumed = tile_from_state(state, resolve)
    assert isinstance(resumed, AnalogTile)
    assert resumed.learning_rate == 0.2
    _train(tile, 3, seed=2)
    _train(resumed, 3, seed=2)
    assert torch.equal(tile.weights, resumed.weights)
    for name, array in tile.device_arrays.items():
        assert torch.equal(array, resumed.device_arrays[name])
    assert resumed.update_index == tile.update_index == 6


def test_floating_point_tile_round_trip() -> None:
    tile = FloatingPointTile(2, 3, ExactDevice(), seed=5)
    _train(tile, 2, seed=0)
    resumed = tile_from_state(_save_load(tile_state(tile)), resolve)
    assert isinstance(resumed, FloatingPointTile)
    assert torch.equal(resumed.weights, tile.weights)
    plain = FloatingPointTile(2, 3, seed=5)
    assert tile_from_state(tile_state(plain)).resistive_device is None


def test_state_is_plain_data() -> None:
    state = tile_state(AnalogTile(2, 2, StepDevice(), seed=1))
    assert isinstance(state["update"]["pulse_type"], str)
    # weights_only loading accepts it (no pickled classes).
    _save_load(state)
    pickle.loads(pickle.dumps(state))


def test_unknown_device_names_the_device_and_distribution() -> None:
    state = tile_state(AnalogTile(2, 2, StepDevice(), seed=1))
    state["device"]["name"] = "Foo"
    state["device"]["distribution"] = "aihw-device-foo"

    def missing(name):
        raise KeyError(name)

    with pytest.raises(MissingDeviceError) as info:
        tile_from_state(state, missing)
    message = str(info.value)
    assert "checkpoint needs device 'Foo' from distribution 'aihw-device-foo'" in message
    assert "not installed" in message
    assert info.value.device_name == "Foo"
    assert info.value.distribution == "aihw-device-foo"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("seed"), "missing seed"),
        (lambda s: s.update(extra=1), "unexpected extra"),
        (lambda s: s.update(weights=torch.zeros(2, 3)), r"shape \(2, 3\)"),
        (lambda s: s.update(weights=torch.zeros(2, 2, dtype=torch.int64)), "floating-point"),
        (lambda s: s.update(weights=torch.full((2, 2), float("nan"))), "NaN"),
        (lambda s: s["device_arrays"].pop("w_max"), "device_arrays"),
        (lambda s: s.update(update_index=-1), "update_index"),
        (lambda s: s.update(version=99), "version 99"),
        (lambda s: s.update(tile_class="Other"), "unknown tile class"),
        (lambda s: s["device"]["params"].update(bogus=1), "unknown field"),
        (lambda s: s["device"]["params"].update(dw_min=-1.0), "dw_min"),
        (lambda s: s["update"].update(desired_bl=0), "desired_bl"),
    ],
)
def test_malformed_states_are_rejected(change, match) -> None:
    state = tile_state(AnalogTile(2, 2, StepDevice(), seed=1))
    state = dict(state, device=dict(state["device"]), device_arrays=dict(state["device_arrays"]))
    state["device"]["params"] = dict(state["device"]["params"])
    state["update"] = dict(state["update"])
    change(state)
    with pytest.raises(TileStateError, match=match):
        tile_from_state(state, resolve)


def test_load_tile_state_in_place_or_not_at_all() -> None:
    source = AnalogTile(2, 3, StepDevice(), seed=3)
    _train(source, 2, seed=0)
    target = AnalogTile(2, 3, StepDevice(dw_min=0.01), seed=9)
    weights = target.weights
    view = weights[0]
    before = weights.clone()
    bad = dict(tile_state(source), weights=torch.zeros(5, 5))
    with pytest.raises(TileStateError):
        load_tile_state(target, bad, resolve)
    assert torch.equal(target.weights, before)
    load_tile_state(target, tile_state(source), resolve)
    assert target.weights is weights  # views stay linked
    assert torch.equal(view, source.weights[0])
    assert target.update_index == 2
    _train(source, 1, seed=5)
    _train(target, 1, seed=5)
    assert torch.equal(target.weights, source.weights)
    with pytest.raises(TileStateError, match="this tile is"):
        load_tile_state(FloatingPointTile(3, 3), tile_state(source), resolve)


def test_load_tile_state_never_changes_a_tiles_class() -> None:
    source = AnalogTile(2, 3, StepDevice(), seed=3)
    target = FloatingPointTile(2, 3, seed=9)
    before = target.weights.clone()
    with pytest.raises(TileStateError, match=r"AnalogTile with device .*this tile is a "
                       r"FloatingPointTile with device None.*tile_from_state"):  # fmt: skip
        load_tile_state(target, tile_state(source), resolve)
    assert type(target) is FloatingPointTile
    assert torch.equal(target.weights, before)


def _noisy_config():
    from aihw.core.config import TileConfig
    from aihw.core.io_parameters import IOParameters, NoiseManagementType

    forward = IOParameters(out_noise=0.1, noise_management=NoiseManagementType.AVERAGE_ABS_MAX)
    return TileConfig(StepDevice(dw_min=0.01), forward=forward, backward=IOParameters())


def test_periphery_settings_and_counters_resume_exactly() -> None:
    tile = AnalogTile(3, 5, rpu_config=_noisy_config(), seed=4)
    x = torch.rand(6, 5)
    tile.forward(x)
    tile.backward(torch.rand(6, 3))
    state = _save_load(tile_state(tile))
    assert state["forward"]["io"]["out_noise"] == 0.1
    assert state["forward"]["call_index"] == 1
    assert state["forward"]["average_abs_max"] is not None
    restored = tile_from_state(state, resolve)
    assert restored.forward_periphery.io == tile.forward_periphery.io
    # The next noisy forward and backward draw the same numbers in both tiles.
    torch.testing.assert_close(restored.forward(x), tile.forward(x), rtol=0, atol=0)
    d = torch.rand(6, 3)
    torch.testing.assert_close(restored.backward(d), tile.backward(d), rtol=0, atol=0)


def test_inference_tile_round_trip() -> None:
    from aihw.core.tiles import InferenceTile

    tile = InferenceTile(3, 5, seed=8)
    x = torch.rand(4, 5)
    tile.forward(x)
    restored = tile_from_state(_save_load(tile_state(tile)), resolve)
    assert type(restored) is InferenceTile
    assert restored.backward_periphery.io.is_perfect
    torch.testing.assert_close(restored.forward(x), tile.forward(x), rtol=0, atol=0)


def test_state_without_periphery_entries_loads_with_exact_passes() -> None:
    state = tile_state(AnalogTile(3, 5, StepDevice(), seed=2))
    del state["forward"], state["backward"]
    restored = tile_from_state(state, resolve)
    assert restored.forward_periphery is None and restored.backward_periphery is None


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"io": {"out_noise": -1.0}, "call_index": 0, "average_abs_max": None}, "out_noise"),
        ({"io": {}, "call_index": -1, "average_abs_max": None}, "call_index"),
        ({"io": {}, "call_index": 0, "average_abs_max": float("nan")}, "average_abs_max"),
        ({"io": {}}, "keys"),
    ],
)
def test_malformed_periphery_entries_are_rejected(entry, match) -> None:
    state = tile_state(AnalogTile(3, 5, rpu_config=_noisy_config(), seed=2))
    state["forward"] = entry
    with pytest.raises(TileStateError, match=match):
        tile_from_state(state, resolve)

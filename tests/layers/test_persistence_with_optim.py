"""Layer checkpoints: exact resumption, weights_only loading, copies, refused checkpoints."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from torch import nn

from aihw.core.tiles.state import MissingDeviceError
from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import (
    AnalogConv2d,
    AnalogLinear,
    AnalogSequential,
    CheckpointError,
    MappingParameters,
    check_state_dict,
)
from aihw.optim import AnalogSGD


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


def _train(model: nn.Module, steps: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    optimizer = AnalogSGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        x = torch.rand(4, 2, 5, 5, generator=generator)
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    out = {}
    for name, layer in model.named_modules():
        if hasattr(layer, "analog_tiles"):
            for i, tile in enumerate(layer.analog_tiles()):
                out[f"{name}.{i}"] = tile.weights.clone()
                out[f"{name}.{i}.index"] = torch.tensor(tile.update_index)
                for key, array in getattr(tile, "device_arrays", {}).items():
                    out[f"{name}.{i}.{key}"] = array.clone()
    for key, value in model.state_dict().items():
        if isinstance(value, torch.Tensor):
            out[key] = value.clone()
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_dict_resumes_exactly_with_weights_only() -> None:
    model = _model()
    _train(model, 2, seed=1)
    state = _roundtrip(model.state_dict())
    other = _model(seed=99)  # other seeds: other device-to-device parameters
    other.load_state_dict(state)
    assert _same(_snapshot(model), _snapshot(other))
    _train(model, 2, seed=2)
    _train(other, 2, seed=2)
    assert _same(_snapshot(model), _snapshot(other))


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copies_keep_the_links_and_train_alike(clone) -> None:
    model = _model()
    other = clone(model)
    for layer in (other[0], other[3]):
        for param in layer.parameters():
            for tile in getattr(param, "analog_tiles", []):
                assert any(
                    tile.weights.data_ptr() == param.reshape(param.shape[0], -1)[row].data_ptr()
                    for row in range(param.shape[0])
                )
    _train(model, 2, seed=3)
    _train(other, 2, seed=3)
    assert _same(_snapshot(model), _snapshot(other))


def _tampered(change) -> dict:
    state = _roundtrip(_model(seed=5).state_dict())
    change(state)
    return state


def _foo_device(state) -> None:
    device = state["3._extra_state"]["tiles"][1]["device"]
    device["name"] = "Foo"
    device["distribution"] = "aihw-device-foo"


TAMPERINGS = {
    "missing weight": (lambda s: s.pop("3.weight_split_1"), CheckpointError, "missing key"),
    "unexpected key": (
        lambda s: s.update({"9.weight": torch.zeros(1)}),
        CheckpointError,
        "unexpected",
    ),
    "wrong shape": (
        lambda s: s.update({"4.weight": torch.zeros(3, 7)}),
        CheckpointError,
        r"shape \(3, 7\)",
    ),
    "wrong tile shape": (
        lambda s: s["0._extra_state"]["tiles"][0].update(weights=torch.zeros(3, 3)),
        CheckpointError,
        "tile 0",
    ),
    "missing array": (
        lambda s: s["3._extra_state"]["tiles"][0]["device_arrays"].pop("dw_up"),
        CheckpointError,
        "device_arrays",
    ),
    "other layout": (
        lambda s: s["3._extra_state"]["layout"].update(col_splits=[[0, 100]]),
        CheckpointError,
        "layout",
    ),
    "unknown device": (
        _foo_device,
        MissingDeviceError,
        "needs device 'Foo' from distribution 'aihw-device-foo'",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_tampered_checkpoint_changes_nothing(name: str) -> None:
    change, error, match = TAMPERINGS[name]
    model = _model()
    _train(model, 1, seed=0)
    before = _snapshot(model)
    with pytest.raises(error, match=match):
        model.load_state_dict(_tampered(change))
    assert _same(before, _snapshot(model))
    with pytest.raises(error):
        check_state_dict(model, _tampered(change))

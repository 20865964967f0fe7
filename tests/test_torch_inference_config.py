"""``TorchInferenceRPUConfig``: the inference configuration on the plain-torch path only."""

from __future__ import annotations

import pytest
import torch

from aihw.core import engine
from aihw.devices import InferenceRPUConfig, TorchInferenceRPUConfig
from aihw.nn import AnalogLinear, convert_to_analog
from aihw.optim import AnalogSGD


class _NoEngine:
    """Stands in for the compiled module: any use of it fails the test."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"the compiled engine was used: {name}")


def _layer(config, seed: int = 3) -> AnalogLinear:
    torch.manual_seed(0)
    return AnalogLinear(70, 9, rpu_config=config, seed=seed)


def test_it_is_an_inference_configuration_that_forces_the_reference():
    config = TorchInferenceRPUConfig()
    assert isinstance(config, InferenceRPUConfig)
    assert config.runtime.backend == "reference"
    assert InferenceRPUConfig().runtime.backend == "auto"
    layer = _layer(config)
    assert all(tile.backend == "reference" for tile in layer.analog_tiles())
    assert not any(tile.periphery_uses_native() for tile in layer.analog_tiles())


def test_it_computes_what_the_inference_configuration_computes(monkeypatch):
    """The same numbers as InferenceRPUConfig (native and reference are twins), forward,
    backward and update; once the periphery has its settings (the first pass), no
    computation reaches the compiled engine."""
    native, torch_only = _layer(InferenceRPUConfig()), _layer(TorchInferenceRPUConfig())
    x = torch.randn(16, 70, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(torch_only(x), native(x))
        expected = native(x)
    monkeypatch.setattr(engine, "_compiled", _NoEngine())
    with torch.no_grad():
        assert torch.equal(torch_only(x), expected)
    monkeypatch.undo()
    for layer in (native, torch_only):
        optimizer = AnalogSGD(layer.parameters(), lr=0.1)
        layer(x).square().sum().backward()
        optimizer.step()
    assert torch.equal(native.get_weights()[0], torch_only.get_weights()[0])


def test_convert_to_analog_with_it():
    model = convert_to_analog(torch.nn.Linear(4, 2), TorchInferenceRPUConfig())
    assert model.analog_tile.backend == "reference"
    assert model(torch.randn(3, 4)).shape == (3, 2)


@pytest.mark.parametrize("backend", ["native", "auto"])
def test_a_tile_can_still_be_switched(backend):
    layer = _layer(TorchInferenceRPUConfig())
    layer.analog_tile.backend = backend
    assert layer.analog_tile.periphery_uses_native() == engine.native_available()

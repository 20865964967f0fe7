"""The prepared inference pass checks finiteness inside its DACs where they fuse abs-max
noise management (no separate reduction over the input), and still refuses a NaN or an
infinity with the layer's error, on every column split."""

from __future__ import annotations

import pytest
import torch

import aihw.core.grid as grid_module
from aihw.devices import InferenceRPUConfig
from aihw.nn import AnalogLinear

_NAN = "the input contains NaN or Inf; an analog tile needs finite inputs"


def _layer(in_size: int, noise_management: str = "AbsMax") -> AnalogLinear:
    config = InferenceRPUConfig()
    config.forward.noise_management = noise_management
    torch.manual_seed(0)  # the initial weights
    layer = AnalogLinear(in_size, 8, rpu_config=config, seed=4)
    with torch.no_grad():
        layer(torch.rand(3, in_size))  # the passes are prepared
    return layer


def _no_separate_check(x: torch.Tensor) -> bool:
    raise AssertionError("all_finite called on the prepared path")


@pytest.mark.parametrize("in_size", [16, 1100])  # one and three column splits
def test_abs_max_dacs_make_the_separate_check_unneeded(monkeypatch, in_size):
    x = torch.randn(5, in_size, generator=torch.Generator().manual_seed(1))
    expected = _layer(in_size)
    with torch.no_grad():
        want = expected(x)
    layer = _layer(in_size)
    assert layer.grid.prepared.plan[2].checks_finite
    monkeypatch.setattr(grid_module, "all_finite", _no_separate_check)
    with torch.no_grad():
        assert torch.equal(layer.grid.prepared_forward(x, layer.bias), want)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("column", [0, 700, 1099])  # in the first, second and last split
def test_a_non_finite_input_still_fails_naming_the_layer(value, column):
    layer = _layer(1100)
    calls = [p.call_index for t in layer.analog_tiles() for p in [t.forward_periphery]]
    x = torch.rand(4, 1100)
    x[2, column] = value
    with torch.no_grad(), pytest.raises(ValueError) as error:
        layer(x)
    assert str(error.value) == f"AnalogLinear: {_NAN}"
    # refused before any noise counter moved
    assert calls == [t.forward_periphery.call_index for t in layer.analog_tiles()]


def test_without_abs_max_the_separate_check_stays(monkeypatch):
    layer = _layer(16, noise_management="None")
    assert not layer.grid.prepared.plan[2].checks_finite
    x = torch.rand(3, 16)
    x[0, 0] = float("inf")
    with torch.no_grad(), pytest.raises(ValueError, match=f"^AnalogLinear: {_NAN}$"):
        layer(x)

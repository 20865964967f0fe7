"""``tile.engines`` / ``tile.engine`` say which implementation runs each part of a tile's work,
and agree with what the tile then runs."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aihw.core.laws import register_python_law, unregister_python_law
from aihw.core.parameters import PulseType, UpdateParameters
from aihw.core.tiles import AnalogTile, FloatingPointTile


def _python_constant(w, up, arrays, scalars, xi):
    return w + torch.where(up, arrays["dw_up"], -arrays["dw_down"])


@pytest.fixture
def python_device(make_device):
    register_python_law("test_engines_constant", _python_constant)

    class PyDevice(make_device):
        law = "test_engines_constant"

    yield PyDevice
    unregister_python_law("test_engines_constant")


def test_a_compiled_law_on_the_cpu_runs_native_everywhere(step_device, core):
    tile = AnalogTile(3, 4, step_device, seed=1)
    assert tile.engines == {"periphery": "native", "device_ops": "native", "update": "native"}
    assert tile.engine == "native"
    assert tile.uses_native() and tile.periphery_uses_native()


def test_backend_reference_runs_the_reference_everywhere(step_device):
    tile = AnalogTile(3, 4, step_device, seed=1)
    tile.backend = "reference"
    assert set(tile.engines.values()) == {"reference"}
    assert tile.engine == "reference"
    assert not tile.uses_native() and not tile.periphery_uses_native()


def test_a_python_law_updates_in_the_reference_while_the_periphery_is_compiled(python_device, core):
    tile = AnalogTile(3, 4, python_device(), seed=1)
    assert tile.engines == {"periphery": "native", "device_ops": "native", "update": "reference"}
    assert tile.engine == "reference"  # some part runs in plain torch
    assert not tile.uses_native() and tile.periphery_uses_native()
    tile.backend = "native"
    with pytest.raises(RuntimeError, match="test_engines_constant.*exists only in Python"):
        _ = tile.engines
    with pytest.raises(RuntimeError, match="test_engines_constant"):
        tile.update(torch.ones(1, 4), torch.ones(1, 3), lr=0.1)  # the call refuses it too


@pytest.mark.parametrize("pulse_type", [PulseType.NONE, PulseType.NONE_WITH_DEVICE])
def test_exact_sgd_pulse_types_update_in_torch(step_device, core, pulse_type):
    update = dataclasses.replace(UpdateParameters(), pulse_type=pulse_type)
    tile = AnalogTile(3, 4, step_device, seed=1, update=update)
    assert tile.engines["update"] == "reference"
    assert tile.engines["periphery"] == "native"


def test_a_floating_point_tile_reports_periphery_and_device_ops(exact_device, core):
    tile = FloatingPointTile(3, 4, exact_device, seed=1)
    assert tile.engines == {"periphery": "native", "device_ops": "native"}
    assert tile.engine == "native"


def test_on_a_device_without_a_compiled_engine_the_reference_runs(step_device):
    tile = AnalogTile(3, 4, step_device, seed=1).to("meta")
    assert tile.engine == "reference"
    tile.backend = "native"
    with pytest.raises(RuntimeError, match="CPU and on CUDA GPUs only, not on meta"):
        _ = tile.engine


@pytest.mark.cuda
def test_a_tile_on_the_gpu_runs_the_cuda_kernels(step_device):
    tile = AnalogTile(3, 4, step_device, seed=1).cuda()
    assert tile.engines == {"periphery": "cuda", "device_ops": "cuda", "update": "cuda"}
    assert tile.engine == "cuda"
    tile.backend = "reference"
    assert tile.engine == "reference"

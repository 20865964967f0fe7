"""Moving tiles and layers between devices keeps all of their state (issue 15).

Without a GPU: every tensor a tile holds follows ``tile.to(device)`` (checked on the
``meta`` device, after training, programming and drift have filled the tile's state), and
the layers report which engine runs. With one (``cuda`` marker): ``.cuda()``/``.cpu()``
keep the state bit for bit, a checkpoint saved on the GPU resumes on the CPU and back, and
the digits MLP trains on the GPU to the CPU's accuracy.
"""

from __future__ import annotations

import copy
import importlib.util
import io
from pathlib import Path

import pytest
import torch
from _tile_tensors import left_behind, states_equal, tensors_of

import aihw.devices as configs
from aihw.core.tiles.state import tile_state
from aihw.nn import AnalogLinear, AnalogSequential
from aihw.nn.inference import drift_analog_weights, program_analog_weights
from aihw.optim import AnalogSGD

ROOT = Path(__file__).parents[1]
#: Every configuration class of aihw.devices that builds a layer without arguments: each
#: tile class (pulsed, compound, transfer, chopped, dynamic, mixed precision, floating
#: point, inference, HWA) with its periphery.
CONFIGS = [
    "SingleRPUConfig",
    "FloatingPointRPUConfig",
    "InferenceRPUConfig",
    "TorchInferenceRPUConfig",
    "StandardHWATrainingPreset",
    "UnitCellRPUConfig",
    "DigitalRankUpdateRPUConfig",
    "ReRamSBPreset",
    "PCMPreset",
    "TikiTakaReRamSBPreset",
    "TTv2ReRamSBPreset",
    "ChoppedTTv2ReRamSBPreset",
    "MixedPrecisionReRamSBPreset",
]


def _trained(name: str, device: str = "cpu", seed: int = 0, steps: int = 3) -> AnalogSequential:
    """A small model of configuration ``name`` whose tiles have state to lose: a few
    training steps, and for inference tiles programmed and drifted weights."""
    torch.manual_seed(seed)
    model = AnalogSequential(
        AnalogLinear(6, 5, rpu_config=getattr(configs, name)()),
        torch.nn.Tanh(),
        AnalogLinear(5, 3, rpu_config=getattr(configs, name)()),
    ).to(device)
    optimizer = AnalogSGD(model.parameters(), lr=0.1)
    optimizer.regroup_param_groups(model)
    x = torch.rand(8, 6).to(device)
    for _ in range(steps):
        optimizer.zero_grad()
        model(x).square().sum().backward()
        optimizer.step()
    if "Inference" in name or "HWA" in name:
        model.eval()
        program_analog_weights(model, seed=1)
        drift_analog_weights(model, t_inference=100.0)
        model(x)
        model.train()
    return model


def _states(model: AnalogSequential) -> list:
    return [copy.deepcopy(tile_state(tile)) for tile in model.analog_tiles()]


@pytest.mark.parametrize("name", CONFIGS)
def test_every_tensor_of_a_tile_follows_it(name):
    model = _trained(name)
    meta = torch.device("meta")
    for tile in model.analog_tiles():
        paths = [path for path, _ in tensors_of(tile)]
        assert "tile.weights" in paths
        if "Inference" in name or "HWA" in name:
            assert "tile._inference.programmed.conductances" in paths  # programmed state
        assert left_behind(tile.to(meta), meta) == []


@pytest.mark.parametrize("name", CONFIGS)
def test_every_tensor_of_a_layer_grid_follows_it(name):
    model = _trained(name)
    meta = torch.device("meta")
    for layer in model.analog_layers():
        # The layer's own parameters are re-linked by the layer; the grid holds the rest.
        grid = layer.grid.to(meta)
        assert [p for p in left_behind(grid, meta) if not p.startswith("tile.weights[")] == []


def test_layers_report_the_engine_of_each_tile():
    model = _trained("SingleRPUConfig")
    engines = model.analog_engines()
    assert list(engines) == ["0.tiles[0]", "2.tiles[0]"]
    for report in engines.values():
        assert report == {"periphery": "native", "device_ops": "native", "update": "native"}
    layer = model[0]
    assert layer.analog_engines() == {"tiles[0]": layer.analog_tile.engines}
    layer.analog_tile.backend = "reference"
    assert layer.analog_engines()["tiles[0]"]["update"] == "reference"


def test_a_compound_tile_reports_its_devices_update():
    model = _trained("TikiTakaReRamSBPreset")
    assert model[0].analog_tile.engines["update"] == "native"


# -- on a GPU ---------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("name", CONFIGS)
def test_cuda_and_back_keep_the_state_bit_for_bit(name):
    model = _trained(name)
    before = _states(model)
    model.cuda()
    for tile in model.analog_tiles():
        assert left_behind(tile, torch.device("cuda")) == []
    assert states_equal(_states(model), before) == []
    model.cpu()
    assert states_equal(_states(model), before) == []
    model.to("cuda:0")
    assert {tile.device.type for tile in model.analog_tiles()} == {"cuda"}


@pytest.mark.cuda
def test_tiles_on_the_gpu_run_the_cuda_kernels():
    model = _trained("SingleRPUConfig", "cuda")
    assert {e for report in model.analog_engines().values() for e in report.values()} == {"cuda"}


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["SingleRPUConfig", "InferenceRPUConfig", "TikiTakaReRamSBPreset"])
def test_a_checkpoint_saved_on_the_gpu_resumes_on_the_cpu_and_back(name):
    gpu = _trained(name, "cuda")
    buffer = io.BytesIO()
    torch.save(gpu.state_dict(), buffer)
    buffer.seek(0)
    cpu = _trained(name, seed=1, steps=1)  # other weights and counters, overwritten
    assert states_equal(_states(cpu), _states(gpu)) != []
    cpu.load_state_dict(torch.load(buffer, map_location="cpu", weights_only=True))
    assert states_equal(_states(cpu), _states(gpu)) == []
    assert {tile.device.type for tile in cpu.analog_tiles()} == {"cpu"}
    # ...and back: the CPU model's checkpoint into a model on the GPU.
    again = _trained(name, "cuda", seed=2, steps=2)
    again.load_state_dict(cpu.state_dict())
    assert {tile.device.type for tile in again.analog_tiles()} == {"cuda"}
    assert states_equal(_states(again), _states(cpu)) == []
    # Both continue: the same counters, the same number of updates.
    x = torch.rand(8, 6)
    for model, device in ((cpu, "cpu"), (again, "cuda")):
        optimizer = AnalogSGD(model.parameters(), lr=0.1)
        optimizer.regroup_param_groups(model)
        optimizer.zero_grad()
        model(x.to(device)).square().sum().backward()
        optimizer.step()
    for a, b in zip(cpu.analog_tiles(), again.analog_tiles(), strict=True):
        assert a.update_index == b.update_index
        periphery_a, periphery_b = a.forward_periphery, b.forward_periphery
        if periphery_a is not None:
            assert periphery_a.call_index == periphery_b.call_index


@pytest.mark.cuda
def test_the_digits_mlp_trains_on_the_gpu_to_the_cpu_accuracy():
    spec = importlib.util.spec_from_file_location(
        "train_digits", ROOT / "examples" / "train_digits.py"
    )
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    history = demo.train("constant-step", progress=False, torch_device="cuda")
    assert len(history) == 20
    assert history[-1] >= 0.85, history  # the CPU run's bar (tests/test_examples.py)


@pytest.mark.parametrize("name", ["InferenceRPUConfig", "SingleRPUConfig"])
def test_an_empty_batch_gives_an_empty_result_on_the_tile_device(name):
    tile = _trained(name)[0].analog_tile.to("meta")
    calls = tile.forward_periphery.call_index
    y = tile.forward(torch.zeros(0, 6, device="meta"))
    assert y.device.type == "meta" and tuple(y.shape) == (0, 5)
    assert tile.forward_periphery.call_index == calls + 1  # the counter moves, as on the CPU
    z = tile.backward(torch.zeros(0, 5, device="meta"))
    assert z.device.type == "meta" and tuple(z.shape) == (0, 6)

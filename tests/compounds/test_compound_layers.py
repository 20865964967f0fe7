"""Compounds in layers: rpu_config of the layers and convert_to_analog, checkpoints that
resume bit-identically, thread counts, the plain-torch reference, plugin devices."""

from __future__ import annotations

import dataclasses
import io
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from aihw.core.runtime import RuntimeParameters
from aihw.devices import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    DigitalRankUpdateRPUConfig,
    DynamicTransferCompound,
    MixedPrecisionCompound,
    OneSidedUnitCell,
    ReferenceUnitCell,
    SoftBoundsDevice,
    SoftBoundsResistiveDeviceParameters,
    TikiTakaReRamSBPreset,
    TransferCompound,
    UnitCellRPUConfig,
    VectorUnitCell,
    register_device,
    unregister_device,
)
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential, convert_to_analog
from aihw.optim import AnalogSGD

CONFIGS = {
    "vector": lambda: UnitCellRPUConfig(
        device=VectorUnitCell(
            unit_cell_devices=["SoftBounds", "ConstantStep", "SoftBounds"],
            update_policy="SingleRandom",
        )
    ),
    "reference": lambda: UnitCellRPUConfig(
        device=ReferenceUnitCell(unit_cell_devices=["SoftBounds"])
    ),
    "one-sided": lambda: UnitCellRPUConfig(
        device=OneSidedUnitCell(
            unit_cell_devices=[SoftBoundsDevice(w_min=0.0)],
            refresh_every=2,
            refresh_upper_thres=0.3,
            refresh_lower_thres=0.1,
        )
    ),
    "tiki-taka": TikiTakaReRamSBPreset,
    "mp": lambda: DigitalRankUpdateRPUConfig(
        device=MixedPrecisionCompound(
            device="SoftBounds", n_rows_per_transfer=2, n_x_bins=5, n_d_bins=5
        )
    ),
    "c-ttv2": lambda: UnitCellRPUConfig(
        device=ChoppedTransferCompound(
            unit_cell_devices=["SoftBounds"] * 2, in_chop_prob=0.5, out_chop_prob=0.3
        )
    ),
    "c-ttv2-auto": lambda: UnitCellRPUConfig(
        device=ChoppedTransferCompound(
            unit_cell_devices=["SoftBounds"] * 2,
            in_chop_prob=0.3,
            auto_scale=True,
            auto_granularity=20.0,
            correct_gradient_magnitudes=True,
            fast_lr=0.2,
            units_in_mbatch=False,
            transfer_every=3,
        )
    ),
    "buffered": lambda: UnitCellRPUConfig(
        device=BufferedTransferCompound(
            unit_cell_devices=["SoftBounds"] * 2, n_reads_per_transfer=2, forget_buffer=False
        )
    ),
    "agad": lambda: UnitCellRPUConfig(
        device=DynamicTransferCompound(
            unit_cell_devices=["SoftBounds"] * 2,
            in_chop_prob=0.5,
            in_chop_random=True,
            auto_scale=True,
            buffer_cap=2.0,
            forget_buffer=False,
            n_reads_per_transfer=7,  # every column each step: writes start at step 3
        )
    ),
    "tiki-taka-vectors": lambda: UnitCellRPUConfig(
        device=TransferCompound(
            unit_cell_devices=["SoftBounds"] * 3,
            units_in_mbatch=False,
            transfer_every=3,
            n_reads_per_transfer=2,
            with_reset_prob=0.3,
            gamma=0.1,
        )
    ),
}


def _model(config: Any, seed: int) -> nn.Module:
    torch.manual_seed(seed)  # the initial weights
    return AnalogSequential(
        AnalogLinear(6, 5, bias=True, rpu_config=config, seed=seed),
        nn.Tanh(),
        AnalogLinear(5, 3, rpu_config=config, seed=seed + 1),
    )


def _train(model: nn.Module, steps: range, threads: int | None = None) -> None:
    if threads is not None:
        for module in model.modules():
            if isinstance(module, AnalogLinear):
                for tile in module.analog_tiles():
                    tile.num_threads = threads
    optimizer = AnalogSGD(model.parameters(), lr=0.2)
    for step in steps:
        gen = torch.Generator().manual_seed(step)
        x = torch.randn(8, 6, generator=gen)
        target = torch.randn(8, 3, generator=gen)
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), target).backward()
        optimizer.step()


def _weights(model: nn.Module) -> list[torch.Tensor]:
    out = []
    for module in model.modules():
        if isinstance(module, AnalogLinear):
            for tile in module.analog_tiles():
                out += [tile.weights.clone(), *tile.get_hidden_weights()]
    return out


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_checkpoint_resumes_bit_identically(kind):
    model = _model(CONFIGS[kind](), seed=11)
    _train(model, range(3))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    _train(model, range(3, 7))
    buffer.seek(0)
    resumed = _model(CONFIGS[kind](), seed=999)  # other devices: the checkpoint's replace them
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    _train(resumed, range(3, 7))
    for a, b in zip(_weights(model), _weights(resumed), strict=True):
        assert torch.equal(a, b)
    tile, other = model[0].analog_tile, resumed[0].analog_tile
    assert tile.counters == other.counters
    assert [u.update_index for u in tile.units] == [u.update_index for u in other.units]


@pytest.mark.parametrize(
    "kind",
    [
        "vector",
        "one-sided",
        "tiki-taka",
        "tiki-taka-vectors",
        "c-ttv2",
        "c-ttv2-auto",
        "buffered",
        "agad",
        "mp",
    ],
)
def test_thread_counts_give_identical_results(kind):
    results = []
    for threads in (1, 2, 3):
        model = _model(CONFIGS[kind](), seed=5)
        _train(model, range(4), threads)
        results.append(_weights(model))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize(
    "kind",
    [
        "vector",
        "one-sided",
        "tiki-taka",
        "tiki-taka-vectors",
        "c-ttv2",
        "c-ttv2-auto",
        "buffered",
        "agad",
        "mp",
    ],
)
def test_reference_backend_gives_the_native_numbers(kind):
    native = _model(CONFIGS[kind](), seed=3)
    _train(native, range(4))
    config = dataclasses.replace(CONFIGS[kind](), runtime=RuntimeParameters(backend="reference"))
    reference = _model(config, seed=3)
    assert all(u.backend == "reference" for u in reference[0].analog_tile.units)
    _train(reference, range(4))
    for a, b in zip(_weights(native), _weights(reference), strict=True):
        assert torch.equal(a, b)


def test_conv_and_convert_to_analog_take_unit_cell_configs():
    config = TikiTakaReRamSBPreset()
    conv = AnalogConv2d(2, 3, 3, rpu_config=config, seed=0)
    assert type(conv.analog_tile).__name__ == "TransferTile"
    out = conv(torch.randn(2, 2, 5, 5))
    out.sum().backward()
    AnalogSGD(conv.parameters(), lr=0.1).step()
    model = convert_to_analog(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), rpu_config=config)
    assert type(model[0].analog_tile).__name__ == "TransferTile"
    assert model(torch.randn(2, 4)).shape == (2, 3)


@dataclasses.dataclass
class _PluginParameters(SoftBoundsResistiveDeviceParameters):
    dw_min: float = 0.005


class _PluginDevice(SoftBoundsDevice):
    """A third-party device (registered like a plugin's) used as a compound's device."""

    name: ClassVar[str] = "CompoundTestPluginDevice"
    parameters_class: ClassVar[type[Any]] = _PluginParameters


def test_plugin_device_as_fast_and_slow_device():
    register_device(_PluginDevice, source="test plugin")
    try:
        config = UnitCellRPUConfig(
            device=TransferCompound(unit_cell_devices=["CompoundTestPluginDevice", _PluginDevice()])
        )
        model = _model(config, seed=2)
        _train(model, range(3))
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        buffer.seek(0)
        resumed = _model(config, seed=3)
        resumed.load_state_dict(torch.load(buffer, weights_only=True))
        assert all(type(u.resistive_device) is _PluginDevice for u in resumed[0].analog_tile.units)
        for a, b in zip(_weights(model), _weights(resumed), strict=True):
            assert torch.equal(a, b)
    finally:
        unregister_device("CompoundTestPluginDevice")

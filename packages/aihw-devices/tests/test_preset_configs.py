"""Preset configurations under the reference toolkit's names: device + published periphery
and update (aihw.devices.preset_configs)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import aihw.devices
import aihw.devices.presets
from aihw.core import IOParameters, UpdateParameters
from aihw.core.config import TileConfig
from aihw.core.io_parameters import BoundManagementType, NoiseManagementType, WeightNoiseType
from aihw.core.parameters import PulseType
from aihw.core.tiles import AnalogTile, create_tile
from aihw.devices import (
    CapacitorPresetDevice,
    EcRamMOPresetDevice,
    EcRamPresetDevice,
    GokmenVlasovPresetDevice,
    IdealizedPresetDevice,
    PCMPresetDevice,
    ReRamESPresetDevice,
    ReRamSBPresetDevice,
    SingleRPUConfig,
)
from aihw.devices.preset_configs import PRESET_CONFIGS

#: The reference's preset configurations and the device each one holds.
DEVICES = {
    "ReRamESPreset": ReRamESPresetDevice,
    "ReRamSBPreset": ReRamSBPresetDevice,
    "CapacitorPreset": CapacitorPresetDevice,
    "EcRamPreset": EcRamPresetDevice,
    "EcRamMOPreset": EcRamMOPresetDevice,
    "IdealizedPreset": IdealizedPresetDevice,
    "GokmenVlasovPreset": GokmenVlasovPresetDevice,
    "PCMPreset": PCMPresetDevice,
}

NAMES = (
    *DEVICES,
    "PresetIOParameters",
    "PresetUpdateParameters",
    "StandardIOParameters",
)


@pytest.mark.parametrize("name", NAMES)
def test_names_import_from_devices_and_presets(name):
    # as from the reference's aihwkit.simulator.presets
    assert getattr(aihw.devices, name) is getattr(aihw.devices.presets, name)
    assert name in aihw.devices.__all__ and name in aihw.devices.presets.__all__


def test_preset_io_parameters_are_the_published_values():
    io = aihw.devices.PresetIOParameters()
    assert isinstance(io, IOParameters)
    assert io.inp_res == pytest.approx(1 / 126)  # 7-bit DAC
    assert io.out_res == pytest.approx(1 / 510)  # 9-bit ADC
    assert io.out_bound == 20.0
    assert io.out_noise == 0.1
    assert io.inp_sto_round is False
    assert io.bound_management == BoundManagementType.ITERATIVE
    assert io.noise_management == NoiseManagementType.ABS_MAX
    assert io.w_noise == 0.0 and io.w_noise_type == WeightNoiseType.NONE
    # only the output bound and noise differ from the defaults
    changed = {
        f.name
        for f in dataclasses.fields(IOParameters)
        if getattr(io, f.name) != getattr(IOParameters(), f.name)
    }
    assert changed == {"out_bound", "out_noise"}


def test_standard_io_parameters_are_the_published_values():
    io = aihw.devices.StandardIOParameters()
    assert io.inp_res == pytest.approx(1 / 254)  # 8-bit DAC
    assert io.out_res == pytest.approx(1 / 254)  # 8-bit ADC
    assert io.out_bound == 10.0
    assert io.out_noise == 0.04
    assert io.bound_management == BoundManagementType.ITERATIVE
    assert io.noise_management == NoiseManagementType.ABS_MAX
    assert io.w_noise == 0.0 and io.ir_drop == 0.0


def test_preset_update_parameters_are_the_published_values():
    update = aihw.devices.PresetUpdateParameters()
    assert isinstance(update, UpdateParameters)
    assert update.desired_bl == 31
    assert update.pulse_type == PulseType.STOCHASTIC_COMPRESSED
    assert update.update_bl_management is True
    assert update.update_management is True
    # the published values are our defaults
    assert dataclasses.asdict(update) == dataclasses.asdict(UpdateParameters())


def test_parameter_presets_can_be_overridden_and_validate():
    assert aihw.devices.PresetIOParameters(out_noise=0.0).out_noise == 0.0
    with pytest.raises(ValueError, match=r"IOParameters\.out_noise=-1"):
        aihw.devices.PresetIOParameters(out_noise=-1)
    assert aihw.devices.PresetUpdateParameters(desired_bl=7).desired_bl == 7


@pytest.mark.parametrize("name", DEVICES)
def test_preset_config_holds_its_device_and_the_published_parameters(name):
    config = getattr(aihw.devices, name)()
    assert isinstance(config, TileConfig) and isinstance(config, SingleRPUConfig)
    assert type(config.device) is DEVICES[name]
    assert config.device == DEVICES[name]()
    for io in (config.forward, config.backward):
        assert type(io) is aihw.devices.PresetIOParameters
        assert io.out_bound == 20.0 and io.out_noise == 0.1
    assert type(config.update) is aihw.devices.PresetUpdateParameters
    assert config.forward is not config.backward
    assert PRESET_CONFIGS[name] is type(config)


def test_preset_configs_are_independent_copies():
    a, b = aihw.devices.GokmenVlasovPreset(), aihw.devices.GokmenVlasovPreset()
    a.forward.out_noise = 0.0
    assert b.forward.out_noise == 0.1
    assert a.device is not b.device


@pytest.mark.parametrize("name", DEVICES)
def test_preset_config_builds_a_tile_that_runs(name):
    config = getattr(aihw.devices, name)()
    tile = create_tile(config, 3, 4, seed=0)
    assert isinstance(tile, AnalogTile)
    assert tile.forward_periphery is not None and tile.backward_periphery is not None
    x, d = torch.rand(5, 4), torch.randn(5, 3)
    assert tile.forward(x).shape == (5, 3)
    assert tile.backward(d).shape == (5, 4)
    before = tile.get_weights()[0].clone()
    tile.update(x, d, lr=0.5)
    assert not torch.equal(tile.get_weights()[0], before)


def test_pcm_preset_is_the_single_device_and_says_so():
    # the reference pairs two PCM devices in a one-sided unit cell; aihw has no unit cells
    config = aihw.devices.PCMPreset()
    assert config.device.params.w_min == 0.0
    doc = aihw.devices.PCMPreset.__doc__ or ""
    assert "PCMPresetUnitCell" in doc and "[0, w_max]" in doc

"""The example plugin's own tests: the device contract, the plugin, training, tabulation."""

from __future__ import annotations

import pytest
import torch
from aihw_device_example import (
    LogNormalStepDevice,
    SaturatingDevice,
    SaturatingTabulatedDevice,
)

from aihw.core.reference import pulse_coincidences
from aihw.core.tiles import AnalogTile
from aihw.devices import get_device_class, list_devices
from aihw.devices.tabulate import TabulationError, tabulated_device_class
from aihw.devices.testing import check_device_model

DEVICES = [LogNormalStepDevice, SaturatingDevice, SaturatingTabulatedDevice]


@pytest.mark.parametrize("cls", DEVICES, ids=lambda c: c.name)
def test_each_device_follows_the_contract(cls):
    check_device_model(cls)


def test_the_plugin_registers_the_three_devices():
    infos = {info.name: info for info in list_devices()}
    for cls in DEVICES:
        assert get_device_class(cls.name) is cls
        info = infos[cls.name]
        assert (info.plugin, info.distribution) == ("example", "aihw-device-example")
    assert get_device_class("SaturatingPythonDevice") is SaturatingDevice
    assert infos["Saturating"].law == "saturating_step" and not infos["Saturating"].native
    assert infos["LogNormalStep"].native


def test_the_tabulation_error_is_reported_and_within_the_tolerance():
    device = SaturatingTabulatedDevice()
    tab = device.tabulation
    assert 0 < tab.max_error <= 0.02 == tab.tolerance
    assert "max error" in str(tab)
    assert len(device.law_scalars()["piecewise_up"]) == 32


def test_a_too_strict_tolerance_is_refused_with_the_measured_error():
    strict = tabulated_device_class(SaturatingDevice, n_nodes=4, tolerance=1e-4)
    with pytest.raises(TabulationError, match=r"max error .* exceeds the tolerance") as info:
        strict()
    assert info.value.tabulation.max_error > 1e-4


def test_tabulated_trajectories_agree_with_the_python_law_within_the_error():
    python_device = SaturatingDevice(dw_min_std=0.0, dw_min=0.01)
    tabulated = SaturatingTabulatedDevice(python_device.params)
    tiles = [AnalogTile(8, 6, dev, seed=5) for dev in (python_device, tabulated)]
    for key in ("dw_up", "dw_down", "w_min", "w_max"):  # the same devices
        assert torch.equal(tiles[0].device_arrays[key], tiles[1].device_arrays[key])
    arrays = tiles[0].device_arrays
    step = torch.maximum(arrays["dw_up"], arrays["dw_down"])
    error = tabulated.tabulation.max_error
    gen = torch.Generator().manual_seed(0)
    total = torch.zeros(8, 6)
    for _ in range(20):
        x, d = torch.randn(4, 6, generator=gen), torch.randn(4, 8, generator=gen)
        tile = tiles[0]
        counts = pulse_coincidences(
            x, d, 0.05, tile.granularity, tile.update_parameters, tile.seed, tile.update_index
        ).sum(0)
        total += counts
        for tile in tiles:
            tile.update(x, d, lr=0.05)
        # Each pulse adds at most `error` steps; the saturating map does not amplify them.
        diff = (tiles[0].weights - tiles[1].weights).abs()
        assert bool((diff <= error * step * total + 1e-6).all()), float(diff.max())
    assert float(total.max()) > 10

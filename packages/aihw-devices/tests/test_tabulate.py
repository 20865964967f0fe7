"""Tabulating a Python step law into piecewise_step, and check_device_model."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch

from aihw.core.device_model import DeviceModel
from aihw.core.laws import register_python_law, unregister_python_law
from aihw.core.tiles import AnalogTile
from aihw.devices import list_devices, register_device
from aihw.devices.tabulate import (
    MAX_NODES,
    TabulationError,
    tabulate_device,
    tabulate_law,
    tabulated_device_class,
)
from aihw.devices.testing import check_device_model


def _soft_step(w, up, arrays, scalars, xi):
    dw = torch.where(
        up,
        arrays["dw_up"] * (1 - w / arrays["w_max"]),
        -arrays["dw_down"] * (1 - w / arrays["w_min"]),
    )
    if xi is not None:
        dw = dw * (1 + scalars["dw_min_std"] * xi)
    return w + dw


@dataclasses.dataclass
class SoftParams:
    dw_min: float = 0.01
    dw_min_std: float = 0.0
    spread: float = 0.2


class SoftDevice(DeviceModel):
    name = "TestSoftPython"
    law = "test_soft_tab"
    parameters_class = SoftParams

    def granularity(self):
        return self.params.dw_min

    def law_scalars(self):
        return {"dw_min_std": self.params.dw_min_std}

    def sample(self, d_size, x_size, generator):
        shape = (d_size, x_size)
        step = (
            self.params.dw_min
            * (1 + self.params.spread * torch.randn(shape, generator=generator)).abs()
        )
        w_max = 0.6 * (1 + 0.1 * torch.randn(shape, generator=generator)).abs()
        return {"dw_up": step, "dw_down": step.clone(), "w_min": -w_max.clone(), "w_max": w_max}


class BrokenSample(SoftDevice):
    name = "TestBrokenSample"

    def sample(self, d_size, x_size, generator):
        arrays = super().sample(d_size, x_size, generator)
        arrays["dw_up"] = torch.rand(d_size, x_size)  # not from the generator
        return arrays


@pytest.fixture(autouse=True)
def soft_law():
    register_python_law("test_soft_tab", _soft_step)
    yield
    unregister_python_law("test_soft_tab")


def test_a_linear_law_is_tabulated_exactly():
    # Soft bounds is linear in w: piecewise-linear tables reproduce it up to rounding.
    tab = tabulate_law(SoftDevice(), n_nodes=3)
    assert tab.max_error < 1e-3
    assert tab.piecewise_up[0] == pytest.approx(2.0, rel=1e-4)  # at w_min = -w_max
    assert tab.piecewise_up[-1] == pytest.approx(0.0, abs=1e-5)
    assert "max error" in str(tab) and "3 nodes" in str(tab)


def test_the_tabulated_device_runs_the_piecewise_law_with_the_same_devices():
    fast = tabulate_device(SoftDevice(), n_nodes=16, tolerance=0.01)
    assert fast.law == "piecewise_step" and fast.params == SoftDevice().params
    check_device_model(type(fast))
    tiles = [AnalogTile(4, 3, dev, seed=7) for dev in (SoftDevice(), fast)]
    assert torch.equal(tiles[0].device_arrays["w_max"], tiles[1].device_arrays["w_max"])
    x, d = torch.randn(8, 3), torch.randn(8, 4)
    for tile in tiles:
        tile.update(x, d, lr=0.1)
    torch.testing.assert_close(tiles[0].weights, tiles[1].weights, atol=1e-5, rtol=0)


def test_a_tolerance_that_is_not_met_is_an_error_naming_the_error():
    def curved(w, up, arrays, scalars, xi):
        return w + torch.where(up, arrays["dw_up"], -arrays["dw_down"]) * torch.cos(8 * w)

    register_python_law("test_curved", curved)
    try:
        cls = type("Curved", (SoftDevice,), {"name": "Curved", "law": "test_curved"})
        with pytest.raises(TabulationError, match="exceeds the tolerance") as info:
            tabulate_device(cls, n_nodes=3, tolerance=0.01)
        assert info.value.tabulation.max_error > 0.01
        assert tabulate_device(cls, n_nodes=3, tolerance=None).tabulation.max_error > 0.01
    finally:
        unregister_python_law("test_curved")


@pytest.mark.parametrize("n_nodes", [1, 64, 2.5])
def test_bad_node_counts_are_refused(n_nodes):
    with pytest.raises(ValueError, match="n_nodes"):
        tabulated_device_class(SoftDevice, n_nodes=n_nodes)


def test_the_documented_defaults_work():
    # every entry point's default node count is the largest allowed, 63
    assert tabulate_law(SoftDevice()).n_nodes == MAX_NODES == 63
    cls = tabulated_device_class(SoftDevice)
    assert cls.n_nodes == 63 and cls().tabulation.n_nodes == 63
    fast = tabulate_device(SoftDevice())
    assert len(fast.law_scalars()["piecewise_up"]) == 63
    assert fast.tabulation.max_error < 0.01 == fast.tabulation.tolerance
    for fn in (tabulate_law, tabulated_device_class, tabulate_device):
        assert inspect.signature(fn).parameters["n_nodes"].default == MAX_NODES


def test_listings_tell_python_and_tabulated_laws_apart():
    register_device(SoftDevice)
    register_device(tabulated_device_class(SoftDevice, name="TestSoftTabulated", n_nodes=8))
    infos = {info.name: info for info in list_devices()}
    assert (infos["TestSoftPython"].law_kind, infos["TestSoftPython"].native) == ("python", False)
    assert infos["TestSoftTabulated"].law_kind == "tabulated"
    assert infos["ConstantStep"].law_kind == "built-in"


def test_check_device_model_accepts_a_python_law_device():
    assert isinstance(check_device_model(SoftDevice), SoftDevice)


def test_check_device_model_explains_an_irreproducible_sample():
    with pytest.raises(AssertionError, match="not reproducible: 'dw_up' differs for the same seed"):
        check_device_model(BrokenSample)


def test_check_device_model_explains_a_missing_law():
    cls = type("NoLaw", (SoftDevice,), {"name": "NoLaw", "law": "no_such_law"})
    with pytest.raises(AssertionError, match="register_python_law"):
        check_device_model(cls)

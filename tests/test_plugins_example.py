"""The example plugin as a real distribution: install, list, train, uninstall.

Runs in a fresh virtual environment (see ``plugin_venv.py``); the session's own
environment is never changed.
"""

from __future__ import annotations

import json

import pytest
from plugin_venv import EXAMPLE, make_venv

DEVICES = ("LogNormalStep", "Saturating", "SaturatingTabulated")

TRAIN = f"""
import json, torch
from aihw.devices import get_device
from aihw.nn import AnalogLinear
from aihw.optim import AnalogSGD

out = {{}}
for name in {DEVICES!r}:
    torch.manual_seed(0)
    target = torch.randn(3, 5) * 0.3
    x = torch.randn(64, 5)
    y = x @ target.T
    layer = AnalogLinear(5, 3, resistive_device=get_device(name), seed=1)
    tile = layer.analog_tile
    optimizer = AnalogSGD(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(layer(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    out[name] = {{"losses": losses, "native": tile.uses_native(), "law": tile.law.name}}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def example_venv(tmp_path_factory):
    env = make_venv(tmp_path_factory.mktemp("example"))
    env.install(EXAMPLE)
    return env


def test_the_installed_plugin_lists_its_devices(example_venv):
    devices = example_venv.devices()
    for name in DEVICES:
        info = devices[name]
        assert (info["plugin"], info["distribution"], info["version"]) == (
            "example",
            "aihw-device-example",
            "0.1.0",
        )
    assert devices["LogNormalStep"]["native"] is True
    assert devices["Saturating"]["law"] == "saturating_step"
    assert devices["Saturating"]["native"] is False
    assert devices["SaturatingTabulated"]["law"] == "piecewise_step"
    table = example_venv.run("-m", "aihw.devices").stdout
    assert "SaturatingPythonDevice" in table and "aihw-device-example" in table


def test_each_device_of_the_plugin_trains_an_analog_linear_layer(example_venv):
    results = json.loads(example_venv.run("-c", TRAIN).stdout)
    for name in DEVICES:
        losses = results[name]["losses"]
        assert losses[-1] < 0.5 * losses[0], (name, losses)
    assert results["LogNormalStep"]["native"]
    assert not results["Saturating"]["native"]  # a Python law: the reference path
    assert results["SaturatingTabulated"]["law"] == "piecewise_step"


def test_the_plugins_own_test_suite_passes(example_venv):
    proc = example_venv.run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(example_venv.work / "src" / EXAMPLE.name / "tests"),
    )
    assert " passed" in proc.stdout


def test_disabling_the_plugin_hides_its_devices(example_venv):
    devices = example_venv.devices(disable="example")
    assert "ConstantStep" in devices
    assert not set(DEVICES) & set(devices)
    table = example_venv.run("-m", "aihw.devices", disable="aihw-device-example").stdout
    assert (
        "disabled by AIHW_DISABLE_PLUGINS: entry point 'example = aihw_device_example.plugin'"
        in table
    )


def test_an_unknown_name_suggests_the_plugins_device(example_venv):
    proc = example_venv.run(
        "-c",
        "from aihw.devices import get_device_class; get_device_class('Saturatng')",
        check=False,
    )
    assert proc.returncode != 0
    assert "did you mean 'Saturating'" in proc.stderr


def test_uninstalling_the_plugin_removes_its_devices(tmp_path):
    env = make_venv(tmp_path)
    env.install(EXAMPLE)
    assert set(DEVICES) <= set(env.devices())
    env.uninstall("aihw-device-example")
    devices = env.devices()
    assert not set(DEVICES) & set(devices)
    assert {"ConstantStep", "FloatingPoint"} <= set(devices)

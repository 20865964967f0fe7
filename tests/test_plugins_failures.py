"""Broken plugins, installed as real distributions (tests/plugins/), report themselves.

Each error says what is wrong, the distribution and entry point it came from, and how to
skip it; with the broken plugin disabled by ``AIHW_DISABLE_PLUGINS`` the other plugins
(the built-ins and the example plugin) keep working.
"""

from __future__ import annotations

import json

import pytest
from plugin_venv import EXAMPLE, FIXTURES, make_venv

#: entry point -> (distribution, what the error must say). Documented in docs/plugins/.
BROKEN = {
    "import_fails": (
        "aihw-plugin-import-fails",
        "importing 'aihw_plugin_import_fails.plugin' failed: ModuleNotFoundError: "
        "No module named 'aihw_missing_dependency'",
    ),
    "not_a_device": (
        "aihw-plugin-not-a-device",
        "it registered an unacceptable device: register() takes a subclass of "
        "aihw.core.device_model.DeviceModel, got NotADevice",
    ),
    "duplicate": (
        "aihw-plugin-duplicate",
        "device name 'LogNormalStep' of aihw_plugin_duplicate.plugin.LogNormalStepCopy (from "
        "entry point 'duplicate = aihw_plugin_duplicate.plugin' of distribution "
        "aihw-plugin-duplicate 0.0.1) is already registered for "
        "aihw_device_example.devices.LogNormalStepDevice (from entry point "
        "'example = aihw_device_example.plugin' of distribution aihw-device-example 0.1.0)",
    ),
    "bad_hook": (
        "aihw-plugin-bad-hook",
        "invalid hook implementation",
    ),
    "old_api": (
        "aihw-plugin-old-api",
        "aihw_plugin_old_api.plugin.FutureDevice.api_version=99 is not supported by the "
        "installed aihw-core; supported: 1",
    ),
}

PROBE = f"""
import json, os
from aihw.devices import PluginError, list_devices, reload_plugins

broken = {list(BROKEN)!r}
out = {{}}
for name in broken:
    os.environ["AIHW_DISABLE_PLUGINS"] = ",".join(b for b in broken if b != name)
    try:
        reload_plugins()
    except PluginError as exc:
        out[name] = {{"message": str(exc), "distribution": exc.distribution,
                     "entry_point": exc.entry_point}}
    else:
        out[name] = None
os.environ["AIHW_DISABLE_PLUGINS"] = ",".join(broken)
reload_plugins()
out["working"] = sorted(info.name for info in list_devices())
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def broken_venv(tmp_path_factory):
    env = make_venv(tmp_path_factory.mktemp("broken"))
    env.install(EXAMPLE, *(FIXTURES / dist for dist, _ in BROKEN.values()))
    return env


@pytest.fixture(scope="module")
def probed(broken_venv):
    return json.loads(broken_venv.run("-c", PROBE).stdout)


@pytest.mark.parametrize("entry_point", list(BROKEN))
def test_a_broken_plugin_says_what_where_and_how_to_skip_it(probed, entry_point):
    distribution, problem = BROKEN[entry_point]
    error = probed[entry_point]
    assert error is not None, f"{entry_point} loaded without an error"
    message = error["message"]
    assert problem in message, message
    assert f"aihw plugin from entry point '{entry_point} = " in message
    assert f"of distribution {distribution} 0.0.1" in message
    assert error["distribution"] == distribution
    assert error["entry_point"].startswith(f"{entry_point} = ")
    # How to skip it: the broken plugin is added to what is already disabled.
    assert "set the environment variable AIHW_DISABLE_PLUGINS=" in message
    assert message.rstrip().endswith(f",{entry_point}"), message


def test_the_wrong_hook_signature_names_the_extra_argument(probed):
    message = probed["bad_hook"]["message"]
    assert "options" in message and "register_devices" in message


def test_the_other_plugins_work_with_the_broken_ones_disabled(probed):
    assert {"ConstantStep", "LogNormalStep", "Saturating", "SaturatingTabulated"} <= set(
        probed["working"]
    )
    assert "FutureDevice" not in probed["working"]


def test_the_command_line_reports_the_error_and_the_way_out(broken_venv):
    others = ",".join(name for name in BROKEN if name != "old_api")
    proc = broken_venv.run("-m", "aihw.devices", disable=others, check=False)
    assert proc.returncode == 1
    assert BROKEN["old_api"][1] in proc.stderr
    assert f"AIHW_DISABLE_PLUGINS={others},old_api" in proc.stderr
    listing = broken_venv.run("-m", "aihw.devices", "--json", disable=f"{others},old_api").stdout
    names = {info["name"] for info in json.loads(listing)}
    assert {"ConstantStep", "LogNormalStep", "SaturatingTabulated"} <= names

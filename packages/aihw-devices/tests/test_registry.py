"""The registry: lookups, listing, programmatic registration and AIHW_DISABLE_PLUGINS."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import ClassVar

import pytest

from aihw.core.device_model import DeviceModel
from aihw.devices import (
    ConstantStepResistiveDevice,
    FloatingPointResistiveDevice,
    PluginSource,
    UnknownDeviceError,
    get_device,
    get_device_class,
    list_devices,
    register_device,
    registry,
    reload_plugins,
    unregister_device,
)


@dataclasses.dataclass
class _Params:
    gain: float = 1.0


class _Device(DeviceModel):
    name: ClassVar[str] = "TestDevice"
    law: ClassVar[str | None] = "constant_step"
    parameters_class: ClassVar[type] = _Params


def _subclass(**attributes):
    return type("Custom", (_Device,), attributes)


# -- lookups ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ConstantStep", "ConstantStepDevice", "ConstantStepResistiveDevice"]
)
def test_constant_step_is_found_under_its_names(name):
    assert get_device_class(name) is ConstantStepResistiveDevice


@pytest.mark.parametrize(
    "name", ["FloatingPoint", "FloatingPointDevice", "FloatingPointResistiveDevice"]
)
def test_floating_point_is_found_under_its_names(name):
    assert get_device_class(name) is FloatingPointResistiveDevice


def test_get_device_returns_an_instance_with_the_parameters():
    device = get_device("ConstantStep", w_min=-0.4)
    assert isinstance(device, ConstantStepResistiveDevice)
    assert device.params.w_min == -0.4
    assert get_device("FloatingPoint") == FloatingPointResistiveDevice()


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("ConstantStp", "'ConstantStep'"),
        ("constantstep", "'ConstantStep'"),
        ("FloatPoint", "'FloatingPoint"),
    ],
)
def test_an_unknown_name_suggests_the_closest(name, suggestion):
    with pytest.raises(UnknownDeviceError) as info:
        get_device_class(name)
    message = str(info.value)
    assert f"{name!r}" in message
    assert f"did you mean {suggestion}" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, LookupError)
    assert info.value.name == name


def test_a_name_far_from_everything_gets_no_suggestion():
    with pytest.raises(
        UnknownDeviceError, match=r"^no device is registered under the name 'Zzzz'$"
    ):
        get_device("Zzzz")


def test_a_name_must_be_a_string():
    with pytest.raises(TypeError, match="string"):
        get_device_class(3)


# -- listing ------------------------------------------------------------------------------


def test_list_devices_describes_the_built_ins():
    infos = {info.name: info for info in list_devices()}
    assert list(infos) == sorted(infos)
    constant = infos["ConstantStep"]
    assert constant.aliases == ("ConstantStepDevice", "ConstantStepResistiveDevice")
    assert constant.class_name == "ConstantStepResistiveDevice"
    assert constant.module == "aihw.devices.constant_step"
    assert (constant.law, constant.native, constant.api_version) == ("constant_step", True, 1)
    assert constant.plugin == "builtin"
    assert constant.entry_point == "builtin = aihw.devices.builtin"
    assert constant.distribution == "aihw-devices"
    assert constant.version == "0.1.0"
    floating = infos["FloatingPoint"]
    assert (floating.law, floating.native) == (None, True)
    assert floating.aliases == ("FloatingPointDevice", "FloatingPointResistiveDevice")


# -- programmatic registration -----------------------------------------------------------


def test_register_and_unregister_a_device():
    register_device(_Device, aliases=("TestAlias",), source="test suite")
    try:
        assert get_device_class("TestDevice") is _Device
        assert get_device_class("TestAlias") is _Device
        (info,) = [i for i in list_devices() if i.name == "TestDevice"]
        assert (info.plugin, info.distribution, info.native) == (None, None, True)
    finally:
        unregister_device("TestAlias")
    with pytest.raises(UnknownDeviceError):
        get_device_class("TestDevice")
    with pytest.raises(UnknownDeviceError):
        get_device_class("TestAlias")
    with pytest.raises(UnknownDeviceError):
        unregister_device("TestDevice")


def test_a_device_whose_law_is_python_or_gone_is_not_native():
    from aihw.core.laws import register_python_law, unregister_python_law

    # an undefined law is refused at registration (test_plugins.py); one defined in
    # Python, and one removed after the registration, run on the reference path
    register_python_law("my_python_law", lambda w, up, arrays, scalars, xi: w)
    try:
        register_device(_subclass(name="PythonLaw", law="my_python_law"))
        (info,) = [i for i in list_devices() if i.name == "PythonLaw"]
        assert (info.native, info.law_kind) == (False, "python")
    finally:
        unregister_python_law("my_python_law")
    (info,) = [i for i in list_devices() if i.name == "PythonLaw"]
    assert (info.native, info.law_kind) == (False, "unknown")


def test_reload_drops_programmatic_registrations():
    register_device(_Device)
    reload_plugins()
    with pytest.raises(UnknownDeviceError):
        get_device_class("TestDevice")


@pytest.mark.parametrize(
    ("device_class", "aliases", "error", "match"),
    [
        (object, (), TypeError, "subclass of aihw.core.device_model.DeviceModel, got object"),
        (ConstantStepResistiveDevice(), (), TypeError, "got ConstantStepResistiveDevice"),
        (DeviceModel, (), TypeError, "not DeviceModel itself"),
        (
            _subclass(name=""),
            (),
            ValueError,
            r"\.name='' is invalid; allowed: a non-empty Python identifier",
        ),
        (_subclass(name="has space"), (), ValueError, r"\.name='has space' is invalid"),
        (_subclass(name="class"), (), ValueError, r"\.name='class' is invalid"),
        (_subclass(name=None), (), ValueError, r"\.name=None is invalid"),
        (_Device, ("bad-alias",), ValueError, r"alias of .*'bad-alias' is invalid"),
        (_Device, "Alias", TypeError, "tuple or list of names"),
        (_Device, ("A", "A"), ValueError, "repeat a name"),
        (_Device, ("TestDevice",), ValueError, "repeats the device name"),
        (
            _subclass(api_version=2),
            (),
            ValueError,
            r"api_version=2 is not supported .*supported: 1",
        ),
        (_subclass(api_version="1"), (), ValueError, r"api_version='1' is not supported"),
        (_subclass(law=3), (), ValueError, r"\.law=3 is invalid"),
        (
            _subclass(parameters_class=dict),
            (),
            ValueError,
            r"parameters_class=.*allowed: a dataclass",
        ),
    ],
)
def test_registration_is_validated(device_class, aliases, error, match):
    with pytest.raises(error, match=match):
        register_device(device_class, aliases)
    assert "TestDevice" not in {info.name for info in list_devices()}


def test_a_duplicate_name_names_both_providers():
    with pytest.raises(ValueError, match="already registered") as info:
        register_device(_subclass(name="ConstantStep"), source="my notebook")
    message = str(info.value)
    assert "my notebook" in message
    assert "aihw.devices.constant_step.ConstantStepResistiveDevice" in message
    assert (
        "entry point 'builtin = aihw.devices.builtin' of distribution aihw-devices 0.1.0" in message
    )


def test_a_duplicate_alias_is_refused():
    with pytest.raises(ValueError, match="'FloatingPointDevice' .* already registered"):
        register_device(_Device, aliases=("FloatingPointDevice",))
    assert "TestDevice" not in {info.name for info in list_devices()}


def test_plugin_source_descriptions():
    assert str(PluginSource()) == "a register_device() call"
    assert str(PluginSource(label="x")) == "x"
    assert str(PluginSource("a", "a = m", None)) == "entry point 'a = m' of an unknown distribution"
    assert str(PluginSource("a", "a = m", "d", "1")) == "entry point 'a = m' of distribution d 1"


# -- AIHW_DISABLE_PLUGINS -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["builtin", "aihw-devices", "aihw_devices", " other , BUILTIN "])
def test_disabling_the_builtin_entry_point_and_enabling_it_again(monkeypatch, value):
    monkeypatch.setenv("AIHW_DISABLE_PLUGINS", value)
    reload_plugins()
    assert list_devices() == []
    with pytest.raises(
        UnknownDeviceError, match="AIHW_DISABLE_PLUGINS disabled entry point 'builtin"
    ):
        get_device_class("ConstantStep")
    assert [s.plugin for s in registry.disabled_plugins()] == ["builtin"]
    monkeypatch.delenv("AIHW_DISABLE_PLUGINS")
    reload_plugins()
    assert get_device_class("ConstantStep") is ConstantStepResistiveDevice
    assert registry.disabled_plugins() == []


def test_an_unrelated_disable_list_changes_nothing(monkeypatch):
    monkeypatch.setenv("AIHW_DISABLE_PLUGINS", "something-else,")
    reload_plugins()
    assert get_device_class("ConstantStep") is ConstantStepResistiveDevice


def test_the_plugin_manager_holds_the_builtin_plugin():
    manager = registry.get_plugin_manager()
    assert manager.project_name == "aihw"
    assert [impl.plugin_name for impl in manager.hook.register_devices.get_hookimpls()] == [
        "aihw-devices:builtin"
    ]


# -- laziness -----------------------------------------------------------------------------


def test_importing_aihw_devices_loads_no_plugin():
    code = (
        "import sys, aihw.devices, aihw.devices.registry as r;"
        "assert r._state is None;"
        "assert 'aihw.devices.builtin' not in sys.modules;"
        "aihw.devices.list_devices();"
        "assert 'aihw.devices.builtin' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

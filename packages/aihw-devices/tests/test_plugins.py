"""Loading third-party plugins, and every way a broken one is reported.

Plugins are modules written to a temporary directory and injected as entry points of
group ``aihw`` (see ``conftest.py``); real installed fixture distributions come later.
"""

from __future__ import annotations

import threading

import pytest

from aihw.devices import PluginError, get_device_class, list_devices, registry, reload_plugins

GOOD = """
    import dataclasses
    from aihw.core.device_model import DeviceModel
    from aihw.devices import hookimpl

    @dataclasses.dataclass
    class Params:
        gain: float = 1.0

    class {cls}(DeviceModel):
        name = "{name}"
        api_version = {api_version}
        law = "constant_step"
        parameters_class = Params

    @hookimpl
    def register_devices(register):
        register({cls}, aliases=({aliases}))
"""


def good(cls="ExampleDevice", name="Example", api_version=1, aliases="'ExampleAlias',"):
    return GOOD.format(cls=cls, name=name, api_version=api_version, aliases=aliases)


def assert_reported(error: PluginError, problem: str, entry_point: str = "fake") -> None:
    message = str(error)
    assert problem in message, message
    assert "distribution aihw-device-fake 1.2.3" in message
    assert f"entry point '{entry_point} = aihw_device_test_" in message
    assert f"AIHW_DISABLE_PLUGINS={entry_point}" in message
    assert error.distribution == "aihw-device-fake"
    assert error.entry_point.startswith(f"{entry_point} = aihw_device_test_")


def load_error() -> PluginError:
    with pytest.raises(PluginError) as info:
        reload_plugins()
    return info.value


def test_a_good_plugin_registers_its_devices(make_plugin, install_plugins):
    install_plugins(make_plugin(good()))
    reload_plugins()
    cls = get_device_class("ExampleAlias")
    assert cls.__name__ == "ExampleDevice"
    (info,) = [i for i in list_devices() if i.name == "Example"]
    assert (info.plugin, info.distribution, info.version) == ("fake", "aihw-device-fake", "1.2.3")
    assert get_device_class("ConstantStep").__name__ == "ConstantStepResistiveDevice"


def test_import_failure(make_plugin, install_plugins):
    install_plugins(make_plugin("import aihw_no_such_module\n"))
    error = load_error()
    assert_reported(error, "ModuleNotFoundError: No module named 'aihw_no_such_module'")
    assert isinstance(error.__cause__, ModuleNotFoundError)


def test_an_exception_at_import(make_plugin, install_plugins):
    install_plugins(make_plugin("raise RuntimeError('boom')\n"))
    assert_reported(load_error(), "RuntimeError: boom")


def test_wrong_hook_signature(make_plugin, install_plugins):
    source = """
        from aihw.devices import hookimpl

        @hookimpl
        def register_devices(register, extra):
            pass
    """
    install_plugins(make_plugin(source))
    error = load_error()
    assert_reported(error, "invalid hook implementation")
    assert "extra" in str(error)
    assert "register_devices(register)" in str(error)


def test_misspelled_hook(make_plugin, install_plugins):
    source = """
        from aihw.devices import hookimpl

        @hookimpl
        def register_device(register):
            pass
    """
    install_plugins(make_plugin(source))
    error = load_error()
    assert_reported(error, "invalid hook implementation")
    assert "register_device" in str(error)


def test_no_hook_implementation(make_plugin, install_plugins):
    install_plugins(make_plugin("def register_devices(register):\n    pass\n"))
    assert_reported(load_error(), "has no hook implementation; mark its register_devices")


def test_registering_a_non_device(make_plugin, install_plugins):
    source = """
        from aihw.devices import hookimpl

        class NotADevice:
            name = "NotADevice"

        @hookimpl
        def register_devices(register):
            register(NotADevice)
    """
    install_plugins(make_plugin(source))
    error = load_error()
    assert_reported(error, "unacceptable device")
    assert "subclass of aihw.core.device_model.DeviceModel, got NotADevice" in str(error)


def test_unsupported_api_version(make_plugin, install_plugins):
    install_plugins(make_plugin(good(api_version=99)))
    error = load_error()
    assert_reported(error, "api_version=99 is not supported by the installed aihw-core")


def test_invalid_name(make_plugin, install_plugins):
    install_plugins(make_plugin(good(name="not valid")))
    assert_reported(load_error(), "name='not valid' is invalid")


def test_duplicate_name_across_two_plugins(make_plugin, install_plugins):
    first = make_plugin(good(), name="first", distribution="aihw-device-first", version="0.1")
    second = make_plugin(good(cls="Other", aliases=""), name="fake")
    install_plugins(first, second)
    error = load_error()
    assert_reported(error, "device name 'Example'")
    message = str(error)
    assert "already registered for aihw_device_test_" in message
    assert "entry point 'first = aihw_device_test_" in message
    assert "distribution aihw-device-first 0.1" in message


def test_a_plugin_claiming_a_builtin_name_is_the_one_blamed(make_plugin, install_plugins):
    install_plugins(make_plugin(good(name="ConstantStep", aliases="")))
    error = load_error()
    assert_reported(error, "device name 'ConstantStep'")
    assert "aihw.devices.constant_step.ConstantStepResistiveDevice" in str(error)


def test_a_hook_that_raises(make_plugin, install_plugins):
    source = """
        from aihw.devices import hookimpl

        @hookimpl
        def register_devices(register):
            raise ZeroDivisionError("oops")
    """
    install_plugins(make_plugin(source))
    error = load_error()
    assert_reported(error, "its register_devices hook raised ZeroDivisionError: oops")


def test_the_hint_keeps_what_is_already_disabled(make_plugin, install_plugins, monkeypatch):
    monkeypatch.setenv("AIHW_DISABLE_PLUGINS", "other")
    install_plugins(make_plugin("import aihw_no_such_module\n"))
    assert "AIHW_DISABLE_PLUGINS=other,fake" in str(load_error())


@pytest.mark.parametrize("disable", ["fake", "aihw-device-fake", "AIHW_DEVICE_FAKE"])
def test_a_disabled_broken_plugin_is_not_imported(
    make_plugin, install_plugins, monkeypatch, disable
):
    record = make_plugin("raise RuntimeError('must not be imported')\n")
    install_plugins(record)
    monkeypatch.setenv("AIHW_DISABLE_PLUGINS", disable)
    reload_plugins()
    assert get_device_class("ConstantStep").__name__ == "ConstantStepResistiveDevice"
    assert [s.plugin for s in registry.disabled_plugins()] == ["fake"]


def test_a_failed_load_is_not_remembered_as_loaded(make_plugin, install_plugins):
    install_plugins(make_plugin("import aihw_no_such_module\n"))
    load_error()
    # the next use tries again and reports the same problem, never a half-filled registry
    with pytest.raises(PluginError, match="aihw_no_such_module"):
        list_devices()


def test_a_plugin_may_not_use_the_registry_while_loading(make_plugin, install_plugins):
    source = """
        from aihw.devices import hookimpl, list_devices

        @hookimpl
        def register_devices(register):
            list_devices()
    """
    install_plugins(make_plugin(source))
    assert_reported(load_error(), "while the plugins were loading")


def test_loading_is_lazy_and_happens_once(make_plugin, install_plugins, tmp_path):
    counter = tmp_path / "imports.txt"
    source = f"""
        import pathlib
        from aihw.devices import hookimpl
        path = pathlib.Path({str(counter)!r})
        path.write_text(path.read_text() + "x" if path.exists() else "x")

        @hookimpl
        def register_devices(register):
            pass
    """
    install_plugins(make_plugin(source))
    registry._state = None  # as after import: nothing loaded yet
    assert not counter.exists()
    for _ in range(3):
        list_devices()
        get_device_class("ConstantStep")
    assert counter.read_text() == "x"


def test_concurrent_first_uses_load_once(make_plugin, install_plugins, tmp_path):
    counter = tmp_path / "imports.txt"
    source = f"""
        import pathlib, time
        from aihw.devices import hookimpl
        path = pathlib.Path({str(counter)!r})
        path.write_text(path.read_text() + "x" if path.exists() else "x")
        time.sleep(0.05)  # widen the window in which other threads arrive

        @hookimpl
        def register_devices(register):
            pass
    """
    install_plugins(make_plugin(source))
    registry._state = None
    results, errors = [], []

    def use() -> None:
        try:
            results.append(get_device_class("ConstantStep"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1
    assert counter.read_text() == "x"


def test_a_device_whose_law_is_not_defined_is_refused_at_registration(make_plugin, install_plugins):
    install_plugins(make_plugin(good().replace('law = "constant_step"', 'law = "no_such_law"')))
    error = load_error()
    assert_reported(error, "it registered an unacceptable device: device 'Example' (aihw_device_")
    message = str(error)
    assert ".ExampleDevice, from entry point 'fake = aihw_device_test_" in message
    assert "of distribution aihw-device-fake 1.2.3) uses the step law 'no_such_law', " in message
    assert "which is not defined; known laws: 'constant_step', " in message
    assert "Define a Python law with aihw.core.laws.register_python_law()" in message


def test_register_device_refuses_an_undefined_law_too():
    from aihw.core.device_model import DeviceModel
    from aihw.devices import register_device

    class Lawless(DeviceModel):
        name = "Lawless"
        law = "no_such_law"
        parameters_class = type(get_device_class("ConstantStep")().params)

    with pytest.raises(ValueError, match="uses the step law 'no_such_law', which is not defined"):
        register_device(Lawless, source="a notebook")
    with pytest.raises(ValueError, match=r"\(test_plugins\.test_register_device_refuses_an_"):
        register_device(Lawless)
    assert "Lawless" not in {info.name for info in list_devices()}

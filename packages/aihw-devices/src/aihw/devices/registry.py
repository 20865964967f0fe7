"""The device registry of the running program: plugins are loaded lazily, once.

Nothing is imported from plugins until the first lookup, listing or registration. A
failed load leaves the registry unloaded, so the next call raises the same error.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from typing import Any

import pluggy

from aihw.core.device_model import DeviceModel
from aihw.core.inference import NoiseModel

from .catalog import DeviceCatalog, DeviceInfo, PluginSource
from .errors import PluginError
from .noise_catalog import NoiseModelCatalog, NoiseModelInfo
from .plugins import DISABLE_ENV, load_plugins

__all__ = [
    "disabled_plugins",
    "get_device",
    "get_device_class",
    "get_noise_model",
    "get_noise_model_class",
    "get_plugin_manager",
    "list_devices",
    "list_noise_models",
    "register_device",
    "register_noise_model",
    "reload_plugins",
    "unregister_device",
    "unregister_noise_model",
]


@dataclasses.dataclass
class _State:
    catalog: DeviceCatalog
    plugin_manager: pluggy.PluginManager
    skipped: tuple[PluginSource, ...]
    noise_models: NoiseModelCatalog


_lock = threading.RLock()
_state: _State | None = None
_loading = False


def _loaded() -> _State:
    global _loading, _state
    state = _state
    if state is not None:
        return state
    with _lock:
        if _state is None:
            if _loading:
                raise PluginError(
                    "a plugin used the aihw.devices registry while the plugins were loading; "
                    "a register_devices hook may only call its register argument"
                )
            _loading = True
            try:
                catalog = DeviceCatalog()
                noise_models = NoiseModelCatalog()
                loaded = load_plugins(catalog, noise_models=noise_models)
                _state = _State(catalog, loaded.plugin_manager, loaded.skipped, noise_models)
            finally:
                _loading = False
        return _state


def _disabled_note(state: _State) -> str:
    if not state.skipped:
        return ""
    skipped = ", ".join(str(source) for source in state.skipped)
    return f"{DISABLE_ENV} disabled {skipped}"


def get_device_class(name: str) -> type[DeviceModel]:
    """The device class registered under ``name`` (its registry name or an alias).

    Args:
        name: e.g. ``"ConstantStep"``.

    Raises:
        UnknownDeviceError: nothing is registered under ``name``; the message suggests the
            closest registered names.
        PluginError: a plugin failed to load.

    Examples:
        >>> get_device_class("ConstantStep").__name__
        'ConstantStepResistiveDevice'
    """
    state = _loaded()
    return state.catalog.get(name, _disabled_note(state))


def get_device(name: str, *args: Any, **params: Any) -> DeviceModel:
    """An instance of the device registered under ``name``.

    Args:
        name: the registry name or an alias.
        *args: passed to the class, usually a parameters object.
        **params: passed to the class, usually parameter overrides such as ``w_min=-0.4``.

    Examples:
        >>> get_device("ConstantStep", w_min=-0.4).params.w_min
        -0.4
    """
    return get_device_class(name)(*args, **params)


def list_devices() -> list[DeviceInfo]:
    """Every registered device with the plugin that provides it, sorted by name."""
    return _loaded().catalog.infos()


def disabled_plugins() -> list[PluginSource]:
    """The plugins that ``AIHW_DISABLE_PLUGINS`` kept from loading."""
    return list(_loaded().skipped)


def get_plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager holding the loaded plugins (loading them if needed)."""
    return _loaded().plugin_manager


def register_device(
    device_class: type[DeviceModel],
    aliases: Iterable[str] = (),
    *,
    source: PluginSource | str | None = None,
) -> None:
    """Register a device class without a plugin, e.g. in tests or in a notebook.

    The plugins are loaded first, so a name used by a plugin is reported here. The
    registration lasts until :func:`unregister_device` or :func:`reload_plugins`.

    Args:
        device_class: a subclass of :class:`~aihw.core.device_model.DeviceModel`.
        aliases: further names.
        source: where it comes from, shown in listings and messages (a label or a
            :class:`PluginSource`).

    Raises:
        TypeError: not a ``DeviceModel`` subclass, or bad ``aliases``.
        ValueError: an invalid or already used name, or an unsupported ``api_version``.
    """
    if isinstance(source, str):
        source = PluginSource(label=source)
    state = _loaded()
    with _lock:
        state.catalog.add(device_class, aliases, source)


def unregister_device(name: str) -> None:
    """Remove the device registered under ``name`` (its name or an alias) and its aliases.

    Raises:
        UnknownDeviceError: nothing is registered under ``name``.
    """
    state = _loaded()
    with _lock:
        state.catalog.remove(name)


def get_noise_model_class(name: str) -> type[NoiseModel]:
    """The noise-model class registered under ``name``.

    Raises:
        UnknownNoiseModelError: nothing is registered under ``name``; the message suggests
            the closest registered names.
        PluginError: a plugin failed to load.

    Examples:
        >>> get_noise_model_class("PCMLikeNoiseModel").__name__
        'PCMLikeNoiseModel'
    """
    state = _loaded()
    return state.noise_models.get(name, _disabled_note(state))


def get_noise_model(name: str, **params: Any) -> NoiseModel:
    """An instance of the noise model registered under ``name`` with ``params``.

    Examples:
        >>> get_noise_model("PCMLikeNoiseModel", drift_scale=0.5).drift_scale
        0.5
    """
    return get_noise_model_class(name)(**params)


def list_noise_models() -> list[NoiseModelInfo]:
    """Every registered noise model with the plugin that provides it, sorted by name."""
    return _loaded().noise_models.infos()


def register_noise_model(
    cls: type[NoiseModel],
    aliases: Iterable[str] = (),
    *,
    source: PluginSource | str | None = None,
) -> None:
    """Register a noise-model class without a plugin (until :func:`reload_plugins`).

    Raises:
        TypeError: not a dataclass subclass of ``NoiseModel``, or bad ``aliases``.
        ValueError: an invalid or already used name, or an unsupported ``api_version``.
    """
    if isinstance(source, str):
        source = PluginSource(label=source)
    state = _loaded()
    with _lock:
        state.noise_models.add(cls, aliases, source)


def unregister_noise_model(name: str) -> None:
    """Remove the noise model registered under ``name`` and its aliases."""
    state = _loaded()
    with _lock:
        state.noise_models.remove(name)


def reload_plugins() -> None:
    """Forget every registration and load the plugins again, now.

    Reads ``AIHW_DISABLE_PLUGINS`` again. Registrations made with
    :func:`register_device` are dropped.

    Raises:
        PluginError: a plugin failed to load; the registry stays unloaded.
    """
    global _state
    with _lock:
        _state = None
        _loaded()

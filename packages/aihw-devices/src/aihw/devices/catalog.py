"""The table of registered devices: validation of a registration, lookup by name or alias.

This module knows nothing about plugins or entry points; :mod:`aihw.devices.plugins` fills
a :class:`DeviceCatalog` and :mod:`aihw.devices.registry` holds the one the program uses.
"""

from __future__ import annotations

import dataclasses
import difflib
import keyword
from collections.abc import Iterable
from typing import Any

from aihw.core.compound import CompoundDevice
from aihw.core.device_model import SUPPORTED_API_VERSIONS, DeviceModel
from aihw.core.laws import LAWS, law_runs_natively

from .errors import UnknownDeviceError

__all__ = ["DeviceCatalog", "DeviceInfo", "PluginSource"]


@dataclasses.dataclass(frozen=True)
class PluginSource:
    """Where a registration came from.

    Attributes:
        plugin: the entry-point name (what ``AIHW_DISABLE_PLUGINS`` takes), or ``None``
            for a :func:`~aihw.devices.register_device` call.
        entry_point: the entry point as ``"name = value"``, or ``None``.
        distribution: the distribution that declares the entry point, if known.
        version: that distribution's version, if known.
        label: a free description of a programmatic registration.
    """

    plugin: str | None = None
    entry_point: str | None = None
    distribution: str | None = None
    version: str | None = None
    label: str | None = None

    def __str__(self) -> str:
        if self.entry_point is None:
            return self.label or "a register_device() call"
        if self.distribution is None:
            dist = "an unknown distribution"
        else:
            dist = f"distribution {self.distribution}" + (
                f" {self.version}" if self.version else ""
            )
        return f"entry point '{self.entry_point}' of {dist}"


@dataclasses.dataclass(frozen=True)
class DeviceInfo:
    """One registered device, as listed by :func:`~aihw.devices.list_devices`.

    Attributes:
        name: the registry name.
        aliases: the other names it is found under.
        class_name: the class's qualified name.
        module: the module defining the class.
        law: the step law, or ``None`` for a floating-point device.
        native: whether the compiled engine runs it on the CPU (a floating-point device,
            or a law that the installed engine executes); otherwise it runs on the
            plain-torch reference path (e.g. a law defined in Python).
        api_version: the plugin API version the class declares.
        law_kind: where the law comes from: ``"floating point"``, ``"compound"`` (a unit
            cell or transfer compound, whose devices have their own laws), ``"built-in"`` (a law
            of aihw-core), ``"python"`` (defined by a plugin with
            :func:`~aihw.core.laws.register_python_law`), ``"tabulated"`` (a Python law
            tabulated into ``piecewise_step``, :mod:`aihw.devices.tabulate`) or
            ``"unknown"`` (no law of that name is registered).
        plugin: the entry-point name it was registered by, or ``None``.
        entry_point: that entry point as ``"name = value"``, or ``None``.
        distribution: the distribution that declares the entry point, if known.
        version: that distribution's version, if known.
    """

    name: str
    aliases: tuple[str, ...]
    class_name: str
    module: str
    law: str | None
    native: bool
    api_version: int
    law_kind: str
    plugin: str | None
    entry_point: str | None
    distribution: str | None
    version: str | None


@dataclasses.dataclass(frozen=True)
class _Entry:
    device_class: type[DeviceModel]
    name: str
    aliases: tuple[str, ...]
    source: PluginSource


class DeviceCatalog:
    """Registered device classes, found by name or alias."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._names: dict[str, str] = {}  # name or alias -> registry name

    def add(
        self, device_class: Any, aliases: Iterable[str] = (), source: PluginSource | None = None
    ) -> None:
        """Validate and register ``device_class`` under its ``name`` and ``aliases``.

        Args:
            device_class: a subclass of :class:`~aihw.core.device_model.DeviceModel`.
            aliases: further names (a tuple or list of strings).
            source: where the registration comes from, for messages and listings.

        Raises:
            TypeError: not a ``DeviceModel`` subclass, or ``aliases`` is not a sequence of
                strings.
            ValueError: an invalid or already used name, an unsupported ``api_version``,
                an invalid or undefined ``law`` (no step law of that name is defined), or an
                invalid ``parameters_class``.
        """
        source = source or PluginSource()
        cls = _check_class(device_class)
        label = _qualified(cls)
        name = _check_name(cls.name, f"{label}.name")
        alias_tuple = _check_aliases(aliases, label)
        if name in alias_tuple:
            raise ValueError(f"{label}: alias {name!r} repeats the device name")
        _check_api_version(cls, label)
        _check_law(cls, label, source)
        _check_parameters_class(cls, label)
        for key in (name, *alias_tuple):
            if key in self._names:
                other = self._entries[self._names[key]]
                raise ValueError(
                    f"device name {key!r} of {label} (from {source}) is already registered "
                    f"for {_qualified(other.device_class)} (from {other.source})"
                )
        self._entries[name] = _Entry(cls, name, alias_tuple, source)
        for key in (name, *alias_tuple):
            self._names[key] = name

    def remove(self, name: str) -> None:
        """Remove the device registered under ``name`` (its name or an alias), with its aliases.

        Raises:
            UnknownDeviceError: nothing is registered under ``name``.
        """
        entry = self._entry(name)
        del self._entries[entry.name]
        for key in (entry.name, *entry.aliases):
            del self._names[key]

    def get(self, name: str, note: str = "") -> type[DeviceModel]:
        """The class registered under ``name`` (its name or an alias).

        Args:
            name: the name to look up.
            note: appended to the error message when nothing is found.

        Raises:
            UnknownDeviceError: suggesting the closest registered names.
        """
        return self._entry(name, note).device_class

    def infos(self) -> list[DeviceInfo]:
        """Every registered device, sorted by name."""
        return [_info(self._entries[name]) for name in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, name: str, note: str = "") -> _Entry:
        if not isinstance(name, str):
            raise TypeError(f"a device name is a string, got {type(name).__name__} {name!r}")
        try:
            return self._entries[self._names[name]]
        except KeyError:
            raise UnknownDeviceError(name, self._suggest(name), note) from None

    def _suggest(self, name: str) -> list[str]:
        folded = {key.casefold(): key for key in self._names}
        if name.casefold() in folded:
            return [folded[name.casefold()]]
        close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
        return [folded[key] for key in close]


def _info(entry: _Entry) -> DeviceInfo:
    cls = entry.device_class
    return DeviceInfo(
        name=entry.name,
        aliases=entry.aliases,
        class_name=cls.__qualname__,
        module=cls.__module__,
        law=cls.law,
        native=cls.law is None or law_runs_natively(cls.law),
        api_version=cls.api_version,
        law_kind=_law_kind(cls),
        plugin=entry.source.plugin,
        entry_point=entry.source.entry_point,
        distribution=entry.source.distribution,
        version=entry.source.version,
    )


def _law_kind(cls: type[DeviceModel]) -> str:
    from .tabulate import TabulatedDevice  # here: the catalog needs it for listings only

    if issubclass(cls, CompoundDevice):
        return "compound"
    if cls.law is None:
        return "floating point"
    if issubclass(cls, TabulatedDevice):
        return "tabulated"
    law = LAWS.get(cls.law)
    if law is None:
        return "unknown"
    return "python" if law.is_python else "built-in"


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_class(device_class: Any) -> type[DeviceModel]:
    if not isinstance(device_class, type) or not issubclass(device_class, DeviceModel):
        what = device_class.__name__ if isinstance(device_class, type) else repr(device_class)
        raise TypeError(
            f"register() takes a subclass of aihw.core.device_model.DeviceModel, got {what}"
        )
    if device_class is DeviceModel:
        raise TypeError("register() takes a subclass of DeviceModel, not DeviceModel itself")
    return device_class


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(
            f"{where}={name!r} is invalid; allowed: a non-empty Python identifier "
            "such as 'ConstantStep'"
        )
    return name


def _check_aliases(aliases: Any, label: str) -> tuple[str, ...]:
    if isinstance(aliases, str) or not isinstance(aliases, Iterable):
        raise TypeError(f"aliases of {label} must be a tuple or list of names, got {aliases!r}")
    result = tuple(_check_name(alias, f"alias of {label}") for alias in aliases)
    if len(set(result)) != len(result):
        raise ValueError(f"aliases of {label} repeat a name: {result!r}")
    return result


def _check_api_version(cls: type[DeviceModel], label: str) -> None:
    version = cls.api_version
    if isinstance(version, bool) or version not in SUPPORTED_API_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_API_VERSIONS)
        raise ValueError(
            f"{label}.api_version={version!r} is not supported by the installed aihw-core; "
            f"supported: {supported}"
        )


def _check_law(cls: type[DeviceModel], label: str, source: PluginSource) -> None:
    law = cls.law
    known = ", ".join(repr(n) for n in sorted(LAWS))
    if law is not None and (not isinstance(law, str) or not law):
        raise ValueError(
            f"{label}.law={law!r} is invalid; allowed: None (floating point) or a step-law "
            f"name such as {known}"
        )
    # Refused here rather than when the first tile is built, far from the plugin.
    if law is not None and law not in LAWS:
        raise ValueError(
            f"device {cls.name!r} ({label}, from {source}) uses the step law {law!r}, which "
            f"is not defined; known laws: {known}. Define a Python law with "
            "aihw.core.laws.register_python_law() when the plugin module is imported, "
            "before register() is called"
        )


def _check_parameters_class(cls: type[DeviceModel], label: str) -> None:
    params = getattr(cls, "parameters_class", None)
    if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
        raise ValueError(f"{label}.parameters_class={params!r} is invalid; allowed: a dataclass")

"""Finding and loading plugins: entry points of group ``aihw``, registered with pluggy.

Every failure becomes a :class:`~aihw.devices.PluginError` that names the problem, the
entry point and its distribution, and how to skip the plugin with ``AIHW_DISABLE_PLUGINS``.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

from . import hookspecs
from .catalog import DeviceCatalog, PluginSource
from .errors import PluginError
from .noise_catalog import NoiseModelCatalog

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "EntryPointRecord",
    "LoadedPlugins",
    "disabled_names",
    "discover_entry_points",
    "load_plugins",
]

#: Environment variable: comma-separated entry-point or distribution names not to load.
DISABLE_ENV = "AIHW_DISABLE_PLUGINS"
#: The entry-point group plugins declare (also the pluggy project name).
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
_OWN_DISTRIBUTION = "aihw-devices"


@dataclasses.dataclass(frozen=True)
class EntryPointRecord:
    """An entry point of group ``aihw`` with the distribution that declares it.

    Attributes:
        entry_point: the entry point; its ``load()`` imports the plugin.
        distribution: the declaring distribution's name, if known.
        version: its version, if known.
    """

    entry_point: importlib.metadata.EntryPoint
    distribution: str | None = None
    version: str | None = None

    @property
    def source(self) -> PluginSource:
        ep = self.entry_point
        return PluginSource(
            plugin=ep.name,
            entry_point=f"{ep.name} = {ep.value}",
            distribution=self.distribution,
            version=self.version,
        )


@dataclasses.dataclass(frozen=True)
class LoadedPlugins:
    """The outcome of :func:`load_plugins`.

    Attributes:
        plugin_manager: the pluggy manager holding every loaded plugin.
        skipped: the plugins ``AIHW_DISABLE_PLUGINS`` kept from loading.
    """

    plugin_manager: pluggy.PluginManager
    skipped: tuple[PluginSource, ...]


def discover_entry_points() -> list[EntryPointRecord]:
    """The installed entry points of group ``aihw``, aihw-devices' own first, then sorted."""
    records = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        name = dist.metadata["Name"] if dist is not None else None
        records.append(EntryPointRecord(ep, name, dist.version if dist is not None else None))
    return sorted(records, key=_load_order)


def disabled_names(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The normalised names listed in ``AIHW_DISABLE_PLUGINS``.

    Args:
        environ: the environment to read (default: ``os.environ``).
    """
    value = (os.environ if environ is None else environ).get(DISABLE_ENV, "")
    return frozenset(_normalise(part) for part in value.split(",") if part.strip())


def load_plugins(
    catalog: DeviceCatalog,
    records: Iterable[EntryPointRecord] | None = None,
    disabled: frozenset[str] | None = None,
    noise_models: NoiseModelCatalog | None = None,
) -> LoadedPlugins:
    """Import each enabled plugin, register it with pluggy and let it register its devices
    (and its noise models).

    Args:
        catalog: receives the devices.
        records: the entry points (default: :func:`discover_entry_points`).
        disabled: normalised names to skip (default: :func:`disabled_names`).
        noise_models: receives the noise models (default: a catalog of its own, dropped).

    Raises:
        PluginError: the first plugin that fails, with what went wrong and how to skip it.
    """
    records = discover_entry_points() if records is None else list(records)
    disabled = disabled_names() if disabled is None else disabled
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    skipped = []
    noise_models = NoiseModelCatalog() if noise_models is None else noise_models
    for record in records:
        if _is_disabled(record, disabled):
            skipped.append(record.source)
            continue
        _load_one(manager, catalog, record, noise_models)
    return LoadedPlugins(manager, tuple(skipped))


def _load_one(
    manager: pluggy.PluginManager,
    catalog: DeviceCatalog,
    record: EntryPointRecord,
    noise_models: NoiseModelCatalog,
) -> None:
    source = record.source
    try:
        plugin = record.entry_point.load()
    except Exception as exc:
        raise _error(
            record, f"importing {record.entry_point.value!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        manager.register(plugin, name=f"{record.distribution}:{record.entry_point.name}")
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise _error(
            record,
            f"invalid hook implementation: {exc}. The hook is "
            "'register_devices(register)'; a hook of a newer aihw-devices needs "
            "@hookimpl(optionalhook=True)",
        ) from exc
    except ValueError as exc:  # the same module or name twice
        raise _error(record, f"it cannot be registered with pluggy: {exc}") from exc
    if not manager.get_hookcallers(plugin):
        raise _error(
            record,
            f"{record.entry_point.value!r} has no hook implementation; mark its "
            "register_devices function with @aihw.devices.hookimpl (or its "
            "register_noise_models function)",
        )

    def register(device_class: Any, aliases: Iterable[str] = ()) -> None:
        try:
            catalog.add(device_class, aliases, source)
        except (TypeError, ValueError) as exc:
            raise _error(record, f"it registered an unacceptable device: {exc}") from exc

    def register_noise_model(cls: Any, aliases: Iterable[str] = ()) -> None:
        try:
            noise_models.add(cls, aliases, source)
        except (TypeError, ValueError) as exc:
            raise _error(record, f"it registered an unacceptable noise model: {exc}") from exc

    others = [p for p in manager.get_plugins() if p is not plugin]
    for hook, callback in (
        ("register_devices", register),
        ("register_noise_models", register_noise_model),
    ):
        try:
            manager.subset_hook_caller(hook, remove_plugins=others)(register=callback)
        except PluginError as exc:
            if exc.entry_point is not None:  # already names its plugin
                raise
            raise _error(record, str(exc)) from exc
        except Exception as exc:
            raise _error(record, f"its {hook} hook raised {type(exc).__name__}: {exc}") from exc


def _error(record: EntryPointRecord, problem: str) -> PluginError:
    source = record.source
    current = os.environ.get(DISABLE_ENV, "").strip().strip(",")
    skip = f"{current},{record.entry_point.name}" if current else record.entry_point.name
    return PluginError(
        f"aihw plugin from {source} failed: {problem}\n"
        f"To skip this plugin, set the environment variable {DISABLE_ENV}={skip}",
        entry_point=source.entry_point,
        distribution=record.distribution,
    )


def _is_disabled(record: EntryPointRecord, disabled: frozenset[str]) -> bool:
    names = {_normalise(record.entry_point.name)}
    if record.distribution is not None:
        names.add(_normalise(record.distribution))
    return not names.isdisjoint(disabled)


def _normalise(name: str) -> str:
    """Lower case, runs of ``-_.`` as one ``-`` (PEP 503), so either spelling matches."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _load_order(record: EntryPointRecord) -> tuple[bool, str, str]:
    dist = _normalise(record.distribution or "")
    return (dist != _OWN_DISTRIBUTION, dist, record.entry_point.name)

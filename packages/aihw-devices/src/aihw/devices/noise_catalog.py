"""The table of registered noise models: validation of a registration, lookup by name."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from typing import Any

from aihw.core.inference import NOISE_MODEL_API_VERSIONS, NoiseModel

from .catalog import PluginSource, _check_aliases, _check_name, _qualified

__all__ = ["NoiseModelCatalog", "NoiseModelInfo", "UnknownNoiseModelError"]


class UnknownNoiseModelError(KeyError):
    """No noise model is registered under the requested name (a ``KeyError``).

    Attributes:
        name: the requested name.
        suggestions: the closest registered names, best first.
    """

    def __init__(self, name: str, suggestions: Iterable[str] = (), note: str = "") -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        message = f"no noise model is registered under the name {name!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        if note:
            message += f" ({note})"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


@dataclasses.dataclass(frozen=True)
class NoiseModelInfo:
    """One registered noise model, as listed by :func:`~aihw.devices.list_noise_models`.

    Attributes:
        name: the registry name.
        aliases: the other names it is found under.
        class_name: the class's qualified name.
        module: the module defining the class.
        api_version: the noise-model API version the class declares.
        parameters: its fields with their default values (``None`` where there is none).
        plugin, entry_point, distribution, version: where it was registered from.
    """

    name: str
    aliases: tuple[str, ...]
    class_name: str
    module: str
    api_version: int
    parameters: dict[str, Any]
    plugin: str | None
    entry_point: str | None
    distribution: str | None
    version: str | None


@dataclasses.dataclass(frozen=True)
class _Entry:
    cls: type[NoiseModel]
    name: str
    aliases: tuple[str, ...]
    source: PluginSource


class NoiseModelCatalog:
    """Registered noise-model classes, found by name or alias."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._names: dict[str, str] = {}

    def add(
        self, cls: Any, aliases: Iterable[str] = (), source: PluginSource | None = None
    ) -> None:
        """Validate and register ``cls`` under its ``name`` and ``aliases``.

        Raises:
            TypeError: not a dataclass subclass of
                :class:`~aihw.core.inference.NoiseModel`, or bad ``aliases``.
            ValueError: an invalid or used name, an unsupported ``api_version``, a
                ``read_normals`` other than 1 or 2, or a class that cannot be built with its
                defaults.
        """
        source = source or PluginSource()
        if not isinstance(cls, type) or not issubclass(cls, NoiseModel) or cls is NoiseModel:
            what = cls.__name__ if isinstance(cls, type) else repr(cls)
            raise TypeError(
                f"register() takes a subclass of aihw.core.inference.NoiseModel, got {what}"
            )
        label = _qualified(cls)
        if "__dataclass_fields__" not in cls.__dict__:  # its own fields are its parameters
            raise TypeError(f"{label} must be decorated with @dataclasses.dataclass")
        name = _check_name(cls.name, f"{label}.name")
        alias_tuple = _check_aliases(aliases, label)
        version = cls.api_version
        if isinstance(version, bool) or version not in NOISE_MODEL_API_VERSIONS:
            supported = ", ".join(str(v) for v in NOISE_MODEL_API_VERSIONS)
            raise ValueError(
                f"{label}.api_version={version!r} is not supported by the installed "
                f"aihw-core; supported: {supported}"
            )
        normals = cls.read_normals
        if isinstance(normals, bool) or normals not in (1, 2):
            raise ValueError(f"{label}.read_normals={normals!r} is invalid; allowed: 1 or 2")
        for key in (name, *alias_tuple):
            if key in self._names:
                other = self._entries[self._names[key]]
                raise ValueError(
                    f"noise model name {key!r} of {label} (from {source}) is already "
                    f"registered for {_qualified(other.cls)} (from {other.source})"
                )
        self._entries[name] = _Entry(cls, name, alias_tuple, source)
        for key in (name, *alias_tuple):
            self._names[key] = name

    def remove(self, name: str) -> None:
        """Remove the model registered under ``name`` with its aliases."""
        entry = self._entry(name)
        del self._entries[entry.name]
        for key in (entry.name, *entry.aliases):
            del self._names[key]

    def get(self, name: str, note: str = "") -> type[NoiseModel]:
        """The class registered under ``name`` (``UnknownNoiseModelError`` otherwise)."""
        return self._entry(name, note).cls

    def infos(self) -> list[NoiseModelInfo]:
        """Every registered noise model, sorted by name."""
        return [_info(self._entries[name]) for name in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def _entry(self, name: str, note: str = "") -> _Entry:
        if not isinstance(name, str):
            raise TypeError(f"a noise model name is a string, got {type(name).__name__} {name!r}")
        try:
            return self._entries[self._names[name]]
        except KeyError:
            folded = {key.casefold(): key for key in self._names}
            close = difflib.get_close_matches(name.casefold(), list(folded), n=3, cutoff=0.6)
            raise UnknownNoiseModelError(name, [folded[k] for k in close], note) from None


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
        return type(value).__name__ if dataclasses.is_dataclass(value) else value
    return None


def _info(entry: _Entry) -> NoiseModelInfo:
    cls = entry.cls
    return NoiseModelInfo(
        name=entry.name,
        aliases=entry.aliases,
        class_name=cls.__qualname__,
        module=cls.__module__,
        api_version=cls.api_version,
        parameters={f.name: _default(f) for f in dataclasses.fields(cls)},
        plugin=entry.source.plugin,
        entry_point=entry.source.entry_point,
        distribution=entry.source.distribution,
        version=entry.source.version,
    )

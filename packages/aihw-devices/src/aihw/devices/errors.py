"""Exceptions raised by the device registry."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["PluginError", "UnknownDeviceError"]


class PluginError(RuntimeError):
    """A plugin could not be loaded or registered a device that is not acceptable.

    The message says what is wrong, the distribution and the entry point the plugin came
    from, and how to skip it (``AIHW_DISABLE_PLUGINS``).

    Attributes:
        entry_point: the entry point, as ``"name = value"``, or ``None``.
        distribution: the name of the distribution that declares it, or ``None``.
    """

    def __init__(
        self, message: str, *, entry_point: str | None = None, distribution: str | None = None
    ) -> None:
        super().__init__(message)
        self.entry_point = entry_point
        self.distribution = distribution


class UnknownDeviceError(KeyError):
    """No device is registered under the requested name (a ``KeyError``, so a ``LookupError``).

    Attributes:
        name: the requested name.
        suggestions: the closest registered names, best first.
    """

    def __init__(self, name: str, suggestions: Sequence[str] = (), note: str = "") -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        message = f"no device is registered under the name {name!r}"
        if self.suggestions:
            message += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        if note:
            message += f" ({note})"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return self.message

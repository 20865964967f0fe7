"""The pluggy markers and hook specifications of aihw (project and entry-point group ``aihw``).

A plugin module marks its hook implementations with :data:`hookimpl`::

    from aihw.devices import hookimpl

    @hookimpl
    def register_devices(register):
        register(MyDevice, aliases=("MyOldName",))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "register_devices"]

#: The pluggy project name, which is also the entry-point group plugins are found in.
PROJECT_NAME = "aihw"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_devices(register: Callable[..., Any]) -> None:
    """Register device classes.

    Call ``register(DeviceClass, aliases=())`` once per device. ``DeviceClass`` is a
    subclass of :class:`aihw.core.device_model.DeviceModel` whose ``name`` (and each alias)
    is a valid Python identifier not used by another device, and whose ``api_version`` is
    one that the installed aihw-core supports.

    Args:
        register: the registration callback.
    """

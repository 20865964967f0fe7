"""The pluggy markers and hook specifications of aihw (project and entry-point group ``aihw``).

A plugin module marks its hook implementations with :data:`hookimpl`::

    from aihw.devices import hookimpl

    @hookimpl
    def register_devices(register):
        register(MyDevice, aliases=("MyOldName",))

    @hookimpl
    def register_noise_models(register):
        register(MyNoiseModel)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = [
    "PROJECT_NAME",
    "hookimpl",
    "hookspec",
    "register_devices",
    "register_noise_models",
]

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


@hookspec
def register_noise_models(register: Callable[..., Any]) -> None:
    """Register noise models (programming noise, drift and read noise of inference).

    Call ``register(NoiseModelClass, aliases=())`` once per model. ``NoiseModelClass`` is
    a dataclass subclass of :class:`aihw.core.inference.NoiseModel` whose ``name`` (and
    each alias) is a valid Python identifier not used by another noise model, and whose
    ``api_version`` is one that the installed aihw-core supports.

    Args:
        register: the registration callback.
    """

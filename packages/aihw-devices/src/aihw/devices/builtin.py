"""The built-in devices, registered through aihw-devices' own entry point.

``pyproject.toml`` declares ``[project.entry-points.aihw] builtin = "aihw.devices.builtin"``,
so the built-ins are loaded exactly like a third-party plugin (and can be disabled with
``AIHW_DISABLE_PLUGINS=builtin``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .constant_step import ConstantStepResistiveDevice
from .floating_point import FloatingPointResistiveDevice
from .hookspecs import hookimpl

__all__ = ["register_devices"]


@hookimpl
def register_devices(register: Callable[..., Any]) -> None:
    """Register the constant-step and floating-point devices with their historical names.

    Args:
        register: the registration callback.
    """
    register(
        ConstantStepResistiveDevice,
        aliases=("ConstantStepDevice", "ConstantStepResistiveDevice"),
    )
    register(
        FloatingPointResistiveDevice,
        aliases=("FloatingPointDevice", "FloatingPointResistiveDevice"),
    )

"""Resistive device models of aihw and the registry that finds them.

Built-in devices and third-party ones are registered alike, by plugins of the entry-point
group ``aihw`` that implement the hook ``register_devices(register)``. Plugins are
loaded on the first lookup, not at import.

Examples:
    >>> from aihw.devices import ConstantStepResistiveDevice, PulsedResistiveDeviceParameters
    >>> device = ConstantStepResistiveDevice(PulsedResistiveDeviceParameters(w_min=-0.4))
    >>> get_device("ConstantStep", w_min=-0.4) == device
    True
"""

from __future__ import annotations

from .catalog import DeviceInfo, PluginSource
from .configs import FloatingPointRPUConfig, InferenceRPUConfig, SingleRPUConfig
from .constant_step import ConstantStepDevice, ConstantStepResistiveDevice
from .errors import PluginError, UnknownDeviceError
from .floating_point import FloatingPointDevice, FloatingPointResistiveDevice
from .hookspecs import hookimpl, hookspec
from .parameters import (
    ConstantStepResistiveDeviceParameters,
    FloatingPointTileParameters,
    PulsedResistiveDeviceParameters,
)
from .registry import (
    disabled_plugins,
    get_device,
    get_device_class,
    get_plugin_manager,
    list_devices,
    register_device,
    reload_plugins,
    unregister_device,
)

__all__ = [
    "ConstantStepDevice",
    "ConstantStepResistiveDevice",
    "ConstantStepResistiveDeviceParameters",
    "DeviceInfo",
    "FloatingPointDevice",
    "FloatingPointRPUConfig",
    "InferenceRPUConfig",
    "SingleRPUConfig",
    "FloatingPointResistiveDevice",
    "FloatingPointTileParameters",
    "PluginError",
    "PluginSource",
    "PulsedResistiveDeviceParameters",
    "UnknownDeviceError",
    "disabled_plugins",
    "get_device",
    "get_device_class",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "list_devices",
    "register_device",
    "reload_plugins",
    "unregister_device",
]

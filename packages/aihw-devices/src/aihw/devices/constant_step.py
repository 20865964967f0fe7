"""The constant-step resistive device (docs/physics/devices.md#device-to-device-sampling
sampling, #constant-step pulse rule)."""

from __future__ import annotations

from typing import Any, ClassVar

from ._pulsed import PulsedDevice
from .parameters import PulsedResistiveDeviceParameters

__all__ = ["ConstantStepDevice", "ConstantStepResistiveDevice"]


class ConstantStepResistiveDevice(PulsedDevice):
    """A pulsed device whose every pulse changes the weight by a constant step.

    Each cross-point gets its own UP and DOWN step and its own bounds, drawn once when a
    tile is built (:meth:`~aihw.core.DeviceModel.sample`, docs/physics/devices.md#device-to-device-sampling). A pulse then
    moves the weight by its step times ``1 + dw_min_std * xi`` and clips it to the device's bounds
    (docs/physics/devices.md#constant-step, law ``constant_step``).

    Args:
        params: a :class:`~aihw.devices.PulsedResistiveDeviceParameters` (default: the
            defaults).
        params_devices: the v0.1 keyword for ``params``.
        **overrides: fields of the parameters to replace, e.g. ``w_min=-0.4``.

    Raises:
        TypeError: ``params`` is of another class, or an unknown keyword was given.
        ValueError: a parameter is invalid (the message names it).

    Examples:
        >>> from aihw.devices import PulsedResistiveDeviceParameters
        >>> device = ConstantStepResistiveDevice(PulsedResistiveDeviceParameters(w_min=-0.4))
        >>> device.params.w_min
        -0.4
        >>> ConstantStepResistiveDevice(w_min=-0.4) == device
        True
    """

    name: ClassVar[str] = "ConstantStep"
    api_version: ClassVar[int] = 1
    law: ClassVar[str | None] = "constant_step"
    parameters_class: ClassVar[type[Any]] = PulsedResistiveDeviceParameters

    params: PulsedResistiveDeviceParameters


#: The reference toolkit's name for the same device (docs/physics/index.md#historical-names).
ConstantStepDevice = ConstantStepResistiveDevice

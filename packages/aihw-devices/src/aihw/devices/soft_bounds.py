"""Soft-bounds devices (docs/physics/devices.md#soft-bounds): the step vanishes linearly at each
device's bound."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch

from ._pulsed import PulsedDevice
from .linear_step import check_reverse, linear_law_scalars, linear_slopes
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_number, invalid

__all__ = [
    "SoftBoundsDevice",
    "SoftBoundsResistiveDevice",
    "SoftBoundsResistiveDeviceParameters",
    "SoftBoundsPmaxDevice",
    "SoftBoundsPmaxResistiveDevice",
    "SoftBoundsPmaxResistiveDeviceParameters",
]


@dataclasses.dataclass
class SoftBoundsResistiveDeviceParameters(PulsedResistiveDeviceParameters):
    """Parameters of the soft-bounds device (docs/physics/devices.md#base-parameters, #soft-bounds),
    with the reference defaults."""

    mult_noise: bool = True
    """Cycle-to-cycle noise multiplies the whole step (else only its constant part)."""
    reverse_up: bool = False
    """The UP step vanishes at ``w_min - reverse_offset`` instead (needs ``mult_noise``)."""
    reverse_down: bool = False
    """The DOWN step vanishes at ``w_max + reverse_offset`` instead (needs ``mult_noise``)."""
    reverse_offset: float = 0.01
    """Offset of the reversed references."""
    write_noise_std: float = 0.0
    """Write noise in units of ``dw_min``: the visible weight is the hidden persistent one
    plus ``write_noise_std * dw_min * xi``, redrawn after pulses and device operations
    (docs/physics/device-operations.md#write-noise, engine contract §10); 0 is off."""
    apply_write_noise_on_set: bool = True
    """Setting the weights also draws write noise on the visible weights
    (docs/physics/device-operations.md#write-noise)."""


class SoftBoundsResistiveDevice(PulsedDevice):
    """Soft bounds: ``w += dw_up (1 - w / b_max)(1 + dw_min_std xi)``
    (docs/physics/devices.md#soft-bounds).

    DOWN: ``w -= dw_down (1 - w / b_min)(1 + dw_min_std xi)``. The step is 0 at each
    device's own bound, so repeated UP pulses approach ``b_max`` geometrically. It is the
    linear step (law ``linear_step``) with ``gamma = 1``, no gamma spread and slopes
    referring to the per-device bounds: ``slope_up = -dw_up / b_max``,
    ``slope_down = -dw_down / b_min``.

    Args:
        params: a :class:`SoftBoundsResistiveDeviceParameters` (default: the defaults).
        params_devices: the v0.1 keyword for ``params``.
        **overrides: fields of the parameters to replace.

    Raises:
        ValueError: a parameter is invalid (the message names it and the allowed range).

    Examples:
        >>> SoftBoundsResistiveDevice().granularity()
        0.001
    """

    name: ClassVar[str] = "SoftBounds"
    law: ClassVar[str | None] = "linear_step"
    parameters_class: ClassVar[type[Any]] = SoftBoundsResistiveDeviceParameters

    params: SoftBoundsResistiveDeviceParameters

    def validate(self) -> None:
        """Check the parameters (docs/physics/devices.md#base-parameters, #soft-bounds); see the
        class for the errors."""
        check_reverse(self.params)
        check_number(self.params, "write_noise_std", 0.0)
        super().validate()

    def law_scalars(self) -> dict[str, Any]:
        """``dw_min_std`` and ``mult_noise`` (1.0 or 0.0)."""
        return linear_law_scalars(self.effective_params().dw_min_std, self.params.mult_noise)

    def _extra_arrays(
        self, base: dict[str, torch.Tensor], shape: tuple[int, int], generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        p = self.effective_params()
        return linear_slopes(base, 1.0, 1.0, p, mean_bound_reference=False)


@dataclasses.dataclass
class SoftBoundsPmaxResistiveDeviceParameters(SoftBoundsResistiveDeviceParameters):
    """Soft bounds given by the pulse count to saturation (docs/physics/devices.md#soft-bounds),
    reference defaults.

    ``w_min``, ``w_max``, ``dw_min`` and ``up_down`` are *derived* from ``p_max``,
    ``alpha``, ``range_min`` and ``range_max``; they keep their defaults here (another
    value is rejected, as it would have no effect). See
    :meth:`SoftBoundsPmaxResistiveDevice.effective_params`.
    """

    p_max: float = 1000.0
    """Number of UP pulses from ``range_min`` that reach ``range_max`` (> 0)."""
    alpha: float = 0.0005
    """Relative step at ``range_min``, ``dw_min / B`` (> 0)."""
    range_min: float = -1.0
    """Lowest weight (<= 0)."""
    range_max: float = 1.0
    """The weight reached after ``p_max`` UP pulses (> ``range_min``)."""


#: The fields of the soft-bounds parameters that ``p_max`` and the range replace.
DERIVED_FROM_P_MAX = ("w_min", "w_max", "dw_min", "up_down")
_DEFAULTS = {
    f.name: f.default
    for f in dataclasses.fields(SoftBoundsPmaxResistiveDeviceParameters)
    if f.name in DERIVED_FROM_P_MAX
}


class SoftBoundsPmaxResistiveDevice(SoftBoundsResistiveDevice):
    """Soft bounds parametrised by ``p_max``, ``alpha`` and the range
    (docs/physics/devices.md#soft-bounds).

    With ``B = (range_max - range_min) / (1 - exp(-p_max alpha))``:
    ``w_min = range_min``, ``w_max = range_min + B``, ``dw_min = B alpha`` and
    ``up_down = 1 + 2 range_min / B``.

    Examples:
        >>> p = SoftBoundsPmaxResistiveDevice().effective_params()
        >>> round(p.w_min, 3), round(p.w_max, 3), round(p.dw_min, 6)
        (-1.0, 4.083, 0.002541)
    """

    name: ClassVar[str] = "SoftBoundsPmax"
    parameters_class: ClassVar[type[Any]] = SoftBoundsPmaxResistiveDeviceParameters

    params: SoftBoundsPmaxResistiveDeviceParameters

    def validate(self) -> None:
        """Check ``p_max``, ``alpha`` and the range, then the derived soft-bounds device."""
        check_number(self.params, "p_max", 0.0, strict=True)
        check_number(self.params, "alpha", 0.0, strict=True)
        check_number(self.params, "range_min")
        check_number(self.params, "range_max")
        p = self.params
        if p.range_min > 0:
            invalid(
                self.params, "range_min", p.range_min, "range_min <= 0 (the range must contain 0)"
            )
        if p.range_max <= p.range_min:
            invalid(self.params, "range_max", p.range_max, f"range_max > range_min = {p.range_min}")
        for name in DERIVED_FROM_P_MAX:
            value, default = getattr(p, name), _DEFAULTS[name]
            if value != default:
                invalid(
                    p,
                    name,
                    value,
                    f"the default {default!r}: {name} is derived from p_max, alpha, range_min "
                    "and range_max",
                )
        check_reverse(self.params)
        check_number(self.params, "write_noise_std", 0.0)
        saved = self.params
        try:
            self.params = self.effective_params()
            PulsedDevice.validate(self)
        finally:
            self.params = saved

    def effective_params(self) -> SoftBoundsPmaxResistiveDeviceParameters:
        """The parameters with ``w_min``, ``w_max``, ``dw_min`` and ``up_down`` derived."""
        p = self.params
        span = (p.range_max - p.range_min) / (1.0 - math.exp(-p.p_max * p.alpha))
        return dataclasses.replace(
            p,
            w_min=float(p.range_min),
            w_max=float(p.range_min + span),
            dw_min=float(span * p.alpha),
            up_down=float(1.0 + 2.0 * p.range_min / span),
        )


#: The reference toolkit's names.
SoftBoundsDevice = SoftBoundsResistiveDevice
SoftBoundsPmaxDevice = SoftBoundsPmaxResistiveDevice

"""The linear-step device (docs/physics/devices.md#linear-step): steps that shrink linearly towards
a reference weight."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from ._pulsed import PulsedDevice
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_bool, check_number, invalid

__all__ = [
    "LinearStepDevice",
    "LinearStepResistiveDevice",
    "LinearStepResistiveDeviceParameters",
    "linear_slopes",
]


@dataclasses.dataclass
class LinearStepResistiveDeviceParameters(PulsedResistiveDeviceParameters):
    """Parameters of the linear-step device (docs/physics/devices.md#base-parameters, #linear-step),
    with the reference defaults.

    Examples:
        >>> LinearStepResistiveDeviceParameters().gamma_up_dtod
        0.05
    """

    gamma_up: float = 0.0
    """Relative decrease of the UP step at the reference weight (``w_max``)."""
    gamma_down: float = 0.0
    """Relative decrease of the DOWN step at the reference weight (``w_min``)."""
    gamma_up_dtod: float = 0.05
    """Device-to-device spread of ``gamma_up`` (absolute, >= 0)."""
    gamma_down_dtod: float = 0.05
    """Device-to-device spread of ``gamma_down`` (absolute, >= 0)."""
    allow_increasing: bool = False
    """Keep the sign of the sampled gammas (else their absolute value is taken)."""
    mean_bound_reference: bool = True
    """Slopes refer to the mean bounds ``w_max``/``w_min`` (else to each device's own)."""
    mult_noise: bool = True
    """Cycle-to-cycle noise multiplies the whole step (else it is added to the constant
    part only)."""
    reverse_up: bool = False
    """The UP step shrinks towards ``w_min - reverse_offset`` instead (needs ``mult_noise``)."""
    reverse_down: bool = False
    """The DOWN step shrinks towards ``w_max + reverse_offset`` instead (needs
    ``mult_noise``)."""
    reverse_offset: float = 0.01
    """Offset of the reversed references."""
    write_noise_std: float = 0.0
    """Write noise in units of ``dw_min``: the visible weight is the hidden persistent one
    plus ``write_noise_std * dw_min * xi``, redrawn after pulses and device operations
    (docs/physics/device-operations.md#write-noise, engine contract §10); 0 is off."""
    apply_write_noise_on_set: bool = True
    """Setting the weights also draws write noise on the visible weights
    (docs/physics/device-operations.md#write-noise)."""


def linear_slopes(
    base: dict[str, torch.Tensor],
    gamma_up: torch.Tensor | float,
    gamma_down: torch.Tensor | float,
    params: Any,
    mean_bound_reference: bool,
) -> dict[str, torch.Tensor]:
    """The slopes ``m+ = -gamma+ dw_up / w_ref+`` and ``m- = -gamma- dw_down / w_ref-`` (C.5).

    A slope is 0 where its reference weight is 0. ``params`` gives the mean bounds, the
    reverse options and ``reverse_offset``.
    """
    if mean_bound_reference:
        top = torch.full_like(base["w_max"], float(params.w_max))
        bottom = torch.full_like(base["w_min"], float(params.w_min))
    else:
        top, bottom = base["w_max"], base["w_min"]
    ref_up = bottom - params.reverse_offset if params.reverse_up else top
    ref_down = top + params.reverse_offset if params.reverse_down else bottom

    def slope(gamma: torch.Tensor | float, dw: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        safe = torch.where(ref == 0, torch.ones_like(ref), ref)
        return torch.where(ref == 0, torch.zeros_like(ref), -gamma * dw / safe)

    return {
        "slope_up": slope(gamma_up, base["dw_up"], ref_up),
        "slope_down": slope(gamma_down, base["dw_down"], ref_down),
    }


def check_reverse(params: Any) -> None:
    """Check the reverse options; reverse modes need multiplicative noise
    (docs/physics/devices.md#linear-step)."""
    for name in ("mult_noise", "reverse_up", "reverse_down"):
        check_bool(params, name)
    check_number(params, "reverse_offset")
    if (params.reverse_up or params.reverse_down) and not params.mult_noise:
        invalid(
            params, "mult_noise", params.mult_noise, "True when reverse_up or reverse_down is set"
        )


class LinearStepResistiveDevice(PulsedDevice):
    """A device whose step shrinks linearly with the weight (docs/physics/devices.md#linear-step,
    law ``linear_step``).

    UP: ``w += (dw_up + slope_up w)(1 + dw_min_std xi)``, i.e. the step is
    ``dw_up (1 - gamma_up w / w_max)``: at the bound it has shrunk by ``1 - gamma_up``.
    DOWN mirrors it towards ``w_min``. With ``mult_noise=False`` the noise only scales the
    constant part. Each device draws ``gamma = gamma_mean + gamma_dtod xi`` (its absolute
    value unless ``allow_increasing``); the slopes are computed by :meth:`~aihw.core.DeviceModel.sample`.

    Args:
        params: a :class:`LinearStepResistiveDeviceParameters` (default: the defaults).
        params_devices: the v0.1 keyword for ``params``.
        **overrides: fields of the parameters to replace.

    Raises:
        ValueError: a parameter is invalid (the message names it and the allowed range).

    Examples:
        >>> LinearStepResistiveDevice(gamma_up=0.5).params.gamma_up
        0.5
    """

    name: ClassVar[str] = "LinearStep"
    law: ClassVar[str | None] = "linear_step"
    parameters_class: ClassVar[type[Any]] = LinearStepResistiveDeviceParameters

    params: LinearStepResistiveDeviceParameters

    def validate(self) -> None:
        """Check the parameters (docs/physics/devices.md#base-parameters, #linear-step); see the
        class for the errors."""
        for name in ("gamma_up", "gamma_down", "write_noise_std"):
            check_number(self.params, name)
        for name in ("gamma_up_dtod", "gamma_down_dtod", "write_noise_std"):
            check_number(self.params, name, 0.0)
        for name in ("allow_increasing", "mean_bound_reference"):
            check_bool(self.params, name)
        check_reverse(self.params)
        super().validate()

    def law_scalars(self) -> dict[str, Any]:
        """``dw_min_std`` and ``mult_noise`` (1.0 or 0.0)."""
        return linear_law_scalars(self.params.dw_min_std, self.params.mult_noise)

    def _extra_arrays(
        self, base: dict[str, torch.Tensor], shape: tuple[int, int], generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        p = self.params
        gamma_up = p.gamma_up + p.gamma_up_dtod * torch.randn(
            shape, generator=generator, dtype=torch.float64
        )
        gamma_down = p.gamma_down + p.gamma_down_dtod * torch.randn(
            shape, generator=generator, dtype=torch.float64
        )
        if not p.allow_increasing:
            gamma_up, gamma_down = gamma_up.abs(), gamma_down.abs()
        return linear_slopes(base, gamma_up, gamma_down, p, p.mean_bound_reference)


#: The reference toolkit's name for the same device.
LinearStepDevice = LinearStepResistiveDevice


def linear_law_scalars(dw_min_std: float, mult_noise: bool) -> dict[str, float]:
    """The scalars of the laws built on the linear step (linear_step,
    soft_bounds_reference): ``dw_min_std`` and ``mult_noise`` as 1.0 or 0.0."""
    return {"dw_min_std": float(dw_min_std), "mult_noise": 1.0 if mult_noise else 0.0}

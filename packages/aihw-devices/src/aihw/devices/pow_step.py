"""The power-step device (docs/physics/devices.md#power-step) and its reference variant."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from ._pulsed import PulsedDevice
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_bool, check_number, invalid

__all__ = [
    "PowStepDevice",
    "PowStepResistiveDevice",
    "PowStepResistiveDeviceParameters",
    "PowStepReferenceDevice",
    "PowStepReferenceResistiveDevice",
    "PowStepReferenceResistiveDeviceParameters",
]


@dataclasses.dataclass
class PowStepResistiveDeviceParameters(PulsedResistiveDeviceParameters):
    """Parameters of the power-step device (docs/physics/devices.md#power-step), with the reference
    defaults."""

    pow_gamma: float = 1.0
    """Exponent of the step's dependence on the distance to the bound (>= 0)."""
    pow_gamma_dtod: float = 0.1
    """Relative device-to-device spread of the exponent (>= 0)."""
    pow_up_down: float = 0.0
    """Up/down asymmetry of the exponent (shrinks one side, like ``up_down``)."""
    pow_up_down_dtod: float = 0.0
    """Device-to-device spread of that asymmetry (>= 0)."""
    write_noise_std: float = 0.0
    """Write noise in units of ``dw_min``: the visible weight is the hidden persistent one
    plus ``write_noise_std * dw_min * xi``, redrawn after pulses and device operations
    (docs/physics/device-operations.md#write-noise, engine contract §10); 0 is off."""
    apply_write_noise_on_set: bool = True
    """Setting the weights also draws write noise on the visible weights
    (docs/physics/device-operations.md#write-noise)."""


class PowStepResistiveDevice(PulsedDevice):
    """Steps that scale with a power of the distance to the bound
    (docs/physics/devices.md#power-step, ``pow_step``).

    With ``R = b_max - b_min``: UP ``w += dw_up ((b_max - w)/R)^gamma_up (1 + dw_min_std xi)``,
    DOWN ``w -= dw_down ((w - b_min)/R)^gamma_down (1 + dw_min_std xi)``. Each device
    draws ``gamma_up/down = (beta + 1 + pow_gamma_dtod xi +/- pow_up_down_dtod xi') pow_gamma``
    (:meth:`~aihw.core.DeviceModel.sample`).

    Examples:
        >>> PowStepResistiveDevice(pow_gamma=2.0).granularity()
        0.00025
    """

    name: ClassVar[str] = "PowStep"
    law: ClassVar[str | None] = "pow_step"
    parameters_class: ClassVar[type[Any]] = PowStepResistiveDeviceParameters

    params: PowStepResistiveDeviceParameters

    def validate(self) -> None:
        """Check the parameters (docs/physics/devices.md#base-parameters, #power-step)."""
        check_number(self.params, "pow_gamma", 0.0)
        check_number(self.params, "pow_up_down")
        for name in ("pow_gamma_dtod", "pow_up_down_dtod", "write_noise_std"):
            check_number(self.params, name, 0.0)
        super().validate()

    def granularity(self) -> float:
        """``dw_min 0.5^pow_gamma``: the step at the middle of the range
        (docs/physics/pulsed-update.md#granularity)."""
        p = self.effective_params()
        return float(p.dw_min * 0.5**p.pow_gamma)

    def _extra_arrays(
        self, base: dict[str, torch.Tensor], shape: tuple[int, int], generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        p = self.effective_params()

        def normal() -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=torch.float64)

        gain = 1.0 + p.pow_gamma_dtod * normal()
        asym = p.pow_up_down_dtod * normal()
        beta_up = min(p.pow_up_down, 0.0)
        beta_down = -max(p.pow_up_down, 0.0)
        gamma_up = (beta_up + gain + asym) * p.pow_gamma
        gamma_down = (beta_down + gain - asym) * p.pow_gamma
        if p.enforce_consistency:
            gamma_up, gamma_down = gamma_up.abs(), gamma_down.abs()
        return {"gamma_up": gamma_up, "gamma_down": gamma_down}


@dataclasses.dataclass
class PowStepReferenceResistiveDeviceParameters(PowStepResistiveDeviceParameters):
    """Power step with a fixed reference weight subtracted (docs/physics/devices.md#power-step)."""

    reference_mean: float = 0.0
    """Mean of the per-device reference weight."""
    reference_std: float = 0.0
    """Device-to-device spread of the reference weight (>= 0)."""
    subtract_symmetry_point: bool = False
    """Add each device's symmetry point to its reference (so the visible weight of a
    device driven by equal UP and DOWN pulses drifts to about 0)."""
    n_estimation_steps: int = -1
    """Only -1: the reference estimates the symmetry point by pulsing a number of steps;
    here it is solved for exactly (bisection), so no other value would have an effect."""


class PowStepReferenceResistiveDevice(PowStepResistiveDevice):
    """The power step seen through a fixed per-device reference ``ref``
    (docs/physics/devices.md#power-step).

    A pulse acts on ``w + ref`` with the device's bounds, then ``ref`` is subtracted again.
    That is exactly the power step on ``w`` with bounds ``b_min - ref`` and ``b_max - ref``
    (the range ``R`` is unchanged), which is how :meth:`~aihw.core.DeviceModel.sample` hands it to the law
    ``pow_step``. ``ref = reference_mean + reference_std xi``, plus with
    ``subtract_symmetry_point`` the point where the mean UP and DOWN steps are equal.
    """

    name: ClassVar[str] = "PowStepReference"
    parameters_class: ClassVar[type[Any]] = PowStepReferenceResistiveDeviceParameters

    params: PowStepReferenceResistiveDeviceParameters

    def validate(self) -> None:
        """Check the parameters (docs/physics/devices.md#base-parameters, #power-step)."""
        check_number(self.params, "reference_mean")
        check_number(self.params, "reference_std", 0.0)
        check_bool(self.params, "subtract_symmetry_point")
        steps = self.params.n_estimation_steps
        if isinstance(steps, bool) or steps != -1:
            invalid(
                self.params,
                "n_estimation_steps",
                steps,
                "-1 (the symmetry point is solved for exactly, not estimated by pulsing)",
            )
        super().validate()

    def _extra_arrays(
        self, base: dict[str, torch.Tensor], shape: tuple[int, int], generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        p = self.params
        gammas = super()._extra_arrays(base, shape, generator)
        ref = p.reference_mean + p.reference_std * torch.randn(
            shape, generator=generator, dtype=torch.float64
        )
        if p.subtract_symmetry_point:
            ref = ref + _pow_symmetry_point(base, gammas)
        base["w_min"] = base["w_min"] - ref
        base["w_max"] = base["w_max"] - ref
        return gammas


def _pow_symmetry_point(
    base: dict[str, torch.Tensor], gammas: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Where ``dw_up ((b_max - w)/R)^g_up = dw_down ((w - b_min)/R)^g_down`` (bisection).

    The left side falls and the right side rises with ``w``, so the root in
    ``[b_min, b_max]`` is unique when both steps are positive.
    """
    lo, hi = base["w_min"].clone(), base["w_max"].clone()
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        up = base["dw_up"] * ((base["w_max"] - mid) / span).clamp(min=0) ** gammas["gamma_up"]
        down = base["dw_down"] * ((mid - base["w_min"]) / span).clamp(min=0) ** gammas["gamma_down"]
        higher = up > down
        lo = torch.where(higher, mid, lo)
        hi = torch.where(higher, hi, mid)
    return (lo + hi) * 0.5


#: The reference toolkit's names.
PowStepDevice = PowStepResistiveDevice
PowStepReferenceDevice = PowStepReferenceResistiveDevice

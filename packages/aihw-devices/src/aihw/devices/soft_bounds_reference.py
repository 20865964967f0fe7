"""Soft bounds read against a fixed reference conductance
(docs/physics/devices.md#soft-bounds-reference).

One pulse moves ``v = w + ref`` by the soft-bounds step, clips ``v`` to the device's
bounds and reads ``w = v - ref``. Written out for UP, with ``m = -dw_up / b_max`` and
``f = 1 + dw_min_std xi``::

    mult_noise:     w' = clip(w + (dw_up + m v) f,  b_min - ref, b_max - ref)
    additive noise: w' = clip(w + m v + dw_up f,    b_min - ref, b_max - ref)

DOWN is alike with ``m = -dw_down / b_min``. That is the law ``soft_bounds_reference``:
``linear_step`` with its slope term evaluated at ``v = w + ref``, the bounds of the read
weight ``w`` in ``w_min``, ``w_max``. (Multiplicative noise alone would fit ``linear_step``
with the step ``dw_up + m ref``, but additive noise must stay ``dw_up s xi``, not
``(dw_up + m ref) s xi``; one law serves both.)
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from ._pulsed import PulsedDevice
from .linear_step import linear_law_scalars
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_bool, check_number

__all__ = [
    "SoftBoundsReferenceDevice",
    "SoftBoundsReferenceResistiveDevice",
    "SoftBoundsReferenceResistiveDeviceParameters",
    "soft_bounds_symmetry_point",
]


@dataclasses.dataclass
class SoftBoundsReferenceResistiveDeviceParameters(PulsedResistiveDeviceParameters):
    """Parameters of the soft-bounds reference device
    (docs/physics/devices.md#base-parameters, #soft-bounds-reference), reference defaults.

    Examples:
        >>> SoftBoundsReferenceResistiveDeviceParameters().mult_noise
        False
    """

    mult_noise: bool = False
    """Cycle-to-cycle noise multiplies the whole step (else it is added, scaled by the
    device's step ``dw_up``/``dw_down``)."""
    slope_up_dtod: float = 0.0
    """Relative device-to-device spread of the UP slope ``dw_up / b_max`` (>= 0)."""
    slope_down_dtod: float = 0.0
    """Relative device-to-device spread of the DOWN slope ``-dw_down / b_min`` (>= 0)."""
    reference_mean: float = 0.0
    """Mean of the per-device reference weight subtracted at read-out."""
    reference_std: float = 0.0
    """Device-to-device spread of the reference weight (absolute, >= 0)."""
    subtract_symmetry_point: bool = False
    """Add each device's soft-bounds symmetry point to its reference, so that the read
    weight of a device driven by alternating UP and DOWN pulses settles near 0."""
    write_noise_std: float = 0.0
    """Write noise in units of ``dw_min``: the visible weight is the hidden persistent one
    plus ``write_noise_std * dw_min * xi``, redrawn after pulses and device operations
    (docs/physics/device-operations.md#write-noise, engine contract §10); 0 is off."""
    apply_write_noise_on_set: bool = True
    """Setting the weights also draws write noise on the visible weights
    (docs/physics/device-operations.md#write-noise)."""


class SoftBoundsReferenceResistiveDevice(PulsedDevice):
    """Soft bounds read as ``w = v - ref`` against a fixed per-device reference
    (docs/physics/devices.md#soft-bounds-reference).

    The device weight ``v`` follows the soft-bounds step of docs/physics/devices.md#soft-bounds, UP
    ``v += dw_up (1 - v / b_max)(1 + s xi)``, DOWN ``v -= dw_down (1 - v / b_min)(1 + s xi)``,
    clipped to ``[b_min, b_max]``; the tile sees ``w = v - ref``, a differential read
    against a reference conductance. ``ref = reference_mean + reference_std xi``, plus,
    with ``subtract_symmetry_point``, the point where UP and DOWN steps are equal (so
    ``w`` drifts towards 0 under random updates). With ``slope_up_dtod`` or
    ``slope_down_dtod`` each device's slopes get a further factor ``|1 + dtod xi|``
    (its bounds are rescaled; only for devices with ``b_min < 0 < b_max``).

    It runs on the law ``soft_bounds_reference`` (see the module). This is
    the reference toolkit's ``SoftBoundsReferenceDevice`` (aihwkit); the symmetry-point
    reference is the one of Rasch et al., "Fast and robust analog in-memory deep neural
    network training", Nat. Commun. 15, 7133 (2024).

    Args:
        params: a :class:`SoftBoundsReferenceResistiveDeviceParameters` (default: the
            defaults).
        params_devices: the v0.1 keyword for ``params``.
        **overrides: fields of the parameters to replace.

    Raises:
        ValueError: a parameter is invalid (the message names it and the allowed range).

    Examples:
        >>> SoftBoundsReferenceResistiveDevice(reference_mean=0.1).law
        'soft_bounds_reference'
    """

    name: ClassVar[str] = "SoftBoundsReference"
    law: ClassVar[str | None] = "soft_bounds_reference"
    parameters_class: ClassVar[type[Any]] = SoftBoundsReferenceResistiveDeviceParameters

    params: SoftBoundsReferenceResistiveDeviceParameters

    def validate(self) -> None:
        """Check the parameters (docs/physics/devices.md#base-parameters, #soft-bounds-reference);
        see the class for the errors."""
        check_bool(self.params, "mult_noise")
        check_bool(self.params, "subtract_symmetry_point")
        for name in ("slope_up_dtod", "slope_down_dtod", "reference_std", "write_noise_std"):
            check_number(self.params, name, 0.0)
        check_number(self.params, "reference_mean")
        super().validate()

    def law_scalars(self) -> dict[str, Any]:
        """``dw_min_std`` and ``mult_noise`` (1.0 or 0.0)."""
        return linear_law_scalars(self.params.dw_min_std, self.params.mult_noise)

    def _extra_arrays(
        self, base: dict[str, torch.Tensor], shape: tuple[int, int], generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        p = self.params

        def normal() -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=torch.float64)

        # Drawn always, in this order, so the draws do not depend on the parameters.
        xi_down, xi_up, xi_ref = normal(), normal(), normal()
        dw_up, dw_down = base["dw_up"], base["dw_down"]
        b_min, b_max = base["w_min"], base["w_max"]

        # A slope dw / b scales by a factor when its bound scales by the inverse.
        straddles = (b_min < 0) & (b_max > 0)
        b_max = torch.where(straddles, b_max / (1.0 + p.slope_up_dtod * xi_up).abs(), b_max)
        b_min = torch.where(straddles, b_min / (1.0 + p.slope_down_dtod * xi_down).abs(), b_min)

        # A bound on the wrong side of 0 gives no slope (the step is then constant).
        slope_up = -dw_up / torch.where(b_max > 0, b_max, torch.inf)
        slope_down = -dw_down / torch.where(b_min < 0, b_min, -torch.inf)

        ref = p.reference_mean + p.reference_std * xi_ref
        if p.subtract_symmetry_point:
            ref = ref + torch.where(
                straddles, soft_bounds_symmetry_point(dw_up, dw_down, b_min, b_max), 0.0
            )

        # The law steps v = w + ref; its bounds are those of the read weight w.
        base["w_min"] = b_min - ref
        base["w_max"] = b_max - ref
        return {"slope_up": slope_up, "slope_down": slope_down, "reference": ref}


def soft_bounds_symmetry_point(
    dw_up: torch.Tensor, dw_down: torch.Tensor, b_min: torch.Tensor, b_max: torch.Tensor
) -> torch.Tensor:
    """The weight where the soft-bounds UP and DOWN steps are equal
    (docs/physics/devices.md#soft-bounds).

    ``dw_up (1 - w / b_max) = dw_down (1 - w / b_min)`` gives
    ``w* = (dw_up - dw_down) / (dw_up / b_max - dw_down / b_min)``, for devices with
    ``b_min < 0 < b_max``; 0 where both steps vanish (a stuck device).
    """
    rate = dw_up / b_max - dw_down / b_min
    safe = torch.where(rate > 0, rate, torch.ones_like(rate))
    return torch.where(rate > 0, (dw_up - dw_down) / safe, torch.zeros_like(rate))


#: The reference toolkit's name for the same device.
SoftBoundsReferenceDevice = SoftBoundsReferenceResistiveDevice

"""The piecewise-step device (docs/physics/devices.md#piecewise-step): user tables of the step along
the range."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from ._pulsed import PulsedDevice
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_number, invalid, is_real

__all__ = [
    "PiecewiseStepDevice",
    "PiecewiseStepResistiveDevice",
    "PiecewiseStepResistiveDeviceParameters",
    "MAX_PIECEWISE_NODES",
]

#: Most nodes a table may have (the reference's GPU limit is below 64).
MAX_PIECEWISE_NODES = 63


@dataclasses.dataclass
class PiecewiseStepResistiveDeviceParameters(PulsedResistiveDeviceParameters):
    """Parameters of the piecewise-step device (docs/physics/devices.md#piecewise-step), with the
    reference defaults.

    Examples:
        >>> PiecewiseStepResistiveDeviceParameters(piecewise_up=(0.5, 1.0, 0.5)).piecewise_up
        (0.5, 1.0, 0.5)
    """

    piecewise_up: tuple[float, ...] = (1.0,)
    """Relative UP step at equally spaced nodes from ``b_min`` to ``b_max`` (>= 0 each);
    interpolated linearly in between."""
    piecewise_down: tuple[float, ...] = (1.0,)
    """Relative DOWN step at the same nodes (same length as ``piecewise_up``)."""
    write_noise_std: float = 0.0
    """Write noise in units of ``dw_min``: the visible weight is the hidden persistent one
    plus ``write_noise_std * dw_min * xi``, redrawn after pulses and device operations
    (docs/physics/device-operations.md#write-noise, engine contract §10); 0 is off."""
    apply_write_noise_on_set: bool = True
    """Setting the weights also draws write noise on the visible weights
    (docs/physics/device-operations.md#write-noise)."""


class PiecewiseStepResistiveDevice(PulsedDevice):
    """Steps interpolated from user tables along the range (docs/physics/devices.md#piecewise-step,
    ``piecewise_step``).

    With ``n = len(piecewise_up) - 1`` and ``s = (w - b_min)/(b_max - b_min) n``, the step
    is ``dw ((1 - t) v[k] + t v[k+1])`` with ``k = min(floor(s), n - 1)`` and ``t = s - k``;
    a single node gives the constant step ``v[0] dw``. The tables are law scalars
    (sequences), the same for every device.

    Examples:
        >>> PiecewiseStepResistiveDevice(piecewise_up=[1, 0.5], piecewise_down=[0.5, 1]).granularity()
        0.0005
    """

    name: ClassVar[str] = "PiecewiseStep"
    law: ClassVar[str | None] = "piecewise_step"
    parameters_class: ClassVar[type[Any]] = PiecewiseStepResistiveDeviceParameters

    params: PiecewiseStepResistiveDeviceParameters

    def validate(self) -> None:
        """Check the tables: equal length in 1..63, finite values ``>= 0``, and a positive
        value at the middle node of ``piecewise_up`` (it sets the granularity)."""
        p = self.params
        for name in ("piecewise_up", "piecewise_down"):
            table = getattr(p, name)
            allowed = f"a sequence of 1 to {MAX_PIECEWISE_NODES} finite numbers >= 0"
            if isinstance(table, (str, bytes)) or not isinstance(table, (list, tuple)):
                invalid(p, name, table, allowed)
            if not 1 <= len(table) <= MAX_PIECEWISE_NODES:
                invalid(p, name, table, allowed)
            if not all(is_real(v) and math.isfinite(v) and v >= 0 for v in table):
                invalid(p, name, table, allowed)
            setattr(p, name, tuple(float(v) for v in table))
        if len(p.piecewise_up) != len(p.piecewise_down):
            invalid(
                p,
                "piecewise_down",
                p.piecewise_down,
                f"the same length as piecewise_up ({len(p.piecewise_up)})",
            )
        middle = p.piecewise_up[len(p.piecewise_up) // 2]
        if middle <= 0:
            invalid(
                p,
                "piecewise_up",
                p.piecewise_up,
                f"a value > 0 at the middle node {len(p.piecewise_up) // 2} (the granularity)",
            )
        check_number(p, "write_noise_std", 0.0)
        super().validate()

    def granularity(self) -> float:
        """``dw_min piecewise_up[len // 2]`` (docs/physics/pulsed-update.md#granularity)."""
        p = self.params
        return float(p.dw_min * p.piecewise_up[len(p.piecewise_up) // 2])

    def law_scalars(self) -> dict[str, Any]:
        """``dw_min_std`` and the two tables (tuples)."""
        p = self.params
        return {
            "dw_min_std": float(p.dw_min_std),
            "piecewise_up": tuple(p.piecewise_up),
            "piecewise_down": tuple(p.piecewise_down),
        }


#: The reference toolkit's name.
PiecewiseStepDevice = PiecewiseStepResistiveDevice

"""The exponential-step device (docs/physics/devices.md#exponential-step)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

from ._pulsed import PulsedDevice
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_number

__all__ = ["ExpStepDevice", "ExpStepResistiveDevice", "ExpStepResistiveDeviceParameters"]


@dataclasses.dataclass
class ExpStepResistiveDeviceParameters(PulsedResistiveDeviceParameters):
    """Parameters of the exponential-step device (docs/physics/devices.md#exponential-step), with
    the reference defaults.

    These have no device-to-device spread.
    """

    A_up: float = 0.00081
    """Amplitude of the UP step's exponential decrease."""
    A_down: float = 0.36833
    """Amplitude of the DOWN step's exponential decrease."""
    gamma_up: float = 12.44625
    """Rate of the UP step's exponential decrease."""
    gamma_down: float = 12.78785
    """Rate of the DOWN step's exponential decrease."""
    a: float = 0.244
    """Scale of the normalised weight ``z = 2 a w / (b_max - b_min) + b``."""
    b: float = 0.2425
    """Offset of the normalised weight."""
    dw_min_std_add: float = 0.0
    """Additive part of the complex cycle-to-cycle noise (weight units, >= 0)."""
    dw_min_std_slope: float = 0.0
    """Part of the complex noise proportional to ``|w|`` (>= 0)."""
    write_noise_std: float = 0.0
    """Write noise in units of ``dw_min``: the visible weight is the hidden persistent one
    plus ``write_noise_std * dw_min * xi``, redrawn after pulses and device operations
    (docs/physics/device-operations.md#write-noise, engine contract §10); 0 is off."""
    apply_write_noise_on_set: bool = True
    """Setting the weights also draws write noise on the visible weights
    (docs/physics/device-operations.md#write-noise)."""


class ExpStepResistiveDevice(PulsedDevice):
    """Steps that fall off exponentially towards the bounds
    (docs/physics/devices.md#exponential-step, law ``exp_step``).

    With ``z = 2 a w / (b_max - b_min) + b``:
    UP ``w += max(1 - A_up e^(gamma_up z), 0) dw_up (1 + dw_min_std xi)``, DOWN
    ``w -= max(1 - A_down e^(-gamma_down z), 0) dw_down (1 + dw_min_std xi)``. When
    ``dw_min_std_add`` or ``dw_min_std_slope`` is set the noise is
    ``dw_min_std (|dw| + dw_min_std_add + dw_min_std_slope |w|) xi`` instead.

    Examples:
        >>> round(ExpStepResistiveDevice().granularity() / 0.001, 4)
        0.9834
    """

    name: ClassVar[str] = "ExpStep"
    law: ClassVar[str | None] = "exp_step"
    parameters_class: ClassVar[type[Any]] = ExpStepResistiveDeviceParameters

    params: ExpStepResistiveDeviceParameters

    _SCALARS = ("A_up", "A_down", "gamma_up", "gamma_down", "a", "b")

    def validate(self) -> None:
        """Check the parameters (docs/physics/devices.md#base-parameters, #exponential-step): finite
        numbers, spreads ``>= 0``."""
        for name in self._SCALARS:
            check_number(self.params, name)
        for name in ("dw_min_std_add", "dw_min_std_slope", "write_noise_std"):
            check_number(self.params, name, 0.0)
        super().validate()

    def granularity(self) -> float:
        """The mean of the UP and DOWN steps at ``w = 0``
        (docs/physics/pulsed-update.md#granularity).

        The reference averages the DOWN factor with itself (a typo,
        docs/physics/pulsed-update.md#granularity); we average the UP and DOWN factors, each with
        its ``up_down`` bias, which is the same at the defaults. Falls back to ``dw_min`` when that
        is not positive.
        """
        p = self.params
        up = max(1.0 - p.A_up * math.exp(p.gamma_up * p.b), 0.0) * (1.0 + min(p.up_down, 0.0))
        down = max(1.0 - p.A_down * math.exp(-p.gamma_down * p.b), 0.0) * (
            1.0 - max(p.up_down, 0.0)
        )
        g = 0.5 * (up + down) * p.dw_min
        return float(g) if g > 0 and math.isfinite(g) else float(p.dw_min)

    def law_scalars(self) -> dict[str, Any]:
        """``dw_min_std``, then ``A_up``, ``A_down``, ``gamma_up``, ``gamma_down``, ``a``,
        ``b``, ``dw_min_std_add``, ``dw_min_std_slope``."""
        p = self.params
        out: dict[str, Any] = {"dw_min_std": float(p.dw_min_std)}
        for name in self._SCALARS + ("dw_min_std_add", "dw_min_std_slope"):
            out[name] = float(getattr(p, name))
        return out


#: The reference toolkit's name.
ExpStepDevice = ExpStepResistiveDevice

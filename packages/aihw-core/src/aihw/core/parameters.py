"""Update parameters of pulsed tiles (spec B.1), with the reference toolkit's defaults."""

from __future__ import annotations

import dataclasses
import enum
import math

__all__ = ["PulseType", "UpdateParameters"]


class PulseType(str, enum.Enum):
    """How an update is turned into pulses (spec B.4)."""

    NONE = "None"
    """Exact floating-point SGD; no device model acts."""
    STOCHASTIC_COMPRESSED = "StochasticCompressed"
    """Stochastic pulse trains of length BL, coincidences give pulses (the default)."""


#: Pulse types the engine executes today; the others of spec B.4 are planned.
SUPPORTED_PULSE_TYPES = (PulseType.NONE, PulseType.STOCHASTIC_COMPRESSED)


@dataclasses.dataclass
class UpdateParameters:
    """How a pulsed tile turns ``-lr * d x^T`` into pulses (spec B.1-B.4).

    Args:
        desired_bl: pulse-train length BL (the maximum when ``update_bl_management``).
        fixed_bl: always use ``desired_bl`` slots.
        pulse_type: see :class:`PulseType`.
        res: bin width of the firing probabilities (0: no quantisation).
        sto_round: stochastic rounding of the probabilities when ``res > 0``.
        update_bl_management: shorten BL to what the largest update needs.
        update_management: balance the firing probabilities of x and d.
        um_grad_scale: scale of the error's maximum in update management.
    """

    desired_bl: int = 31
    fixed_bl: bool = True
    pulse_type: PulseType | str = PulseType.STOCHASTIC_COMPRESSED
    res: float = 0.0
    sto_round: bool = False
    update_bl_management: bool = True
    update_management: bool = True
    um_grad_scale: float = 1.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field, its value and what is allowed."""
        try:
            self.pulse_type = PulseType(self.pulse_type)
        except ValueError:
            allowed = ", ".join(repr(p.value) for p in PulseType)
            raise ValueError(
                f"UpdateParameters.pulse_type={self.pulse_type!r} is not a pulse type; "
                f"allowed: {allowed}"
            ) from None
        if self.pulse_type not in SUPPORTED_PULSE_TYPES:  # pragma: no cover - all listed today
            raise NotImplementedError(f"pulse_type={self.pulse_type.value!r} is not supported yet")
        if isinstance(self.desired_bl, bool) or not isinstance(self.desired_bl, int):
            raise ValueError(
                f"UpdateParameters.desired_bl={self.desired_bl!r} must be an integer in [1, 2**20]"
            )
        if not 1 <= self.desired_bl <= 2**20:
            raise ValueError(
                f"UpdateParameters.desired_bl={self.desired_bl} is out of range; allowed: 1 to 2**20"
            )
        for name in ("res", "um_grad_scale"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"UpdateParameters.{name}={value!r} must be a finite number")
        if not 0.0 <= self.res <= 1.0:
            raise ValueError(
                f"UpdateParameters.res={self.res} is out of range; allowed: 0 (off) "
                "or a bin width in (0, 1]"
            )
        if self.um_grad_scale <= 0.0:
            raise ValueError(
                f"UpdateParameters.um_grad_scale={self.um_grad_scale} must be > 0"
            )
        for name in ("fixed_bl", "sto_round", "update_bl_management", "update_management"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"UpdateParameters.{name}={getattr(self, name)!r} must be True or False"
                )

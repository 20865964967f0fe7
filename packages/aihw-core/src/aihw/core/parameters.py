"""Update parameters of pulsed tiles (docs/physics/pulsed-update.md#update-parameters), with the
reference toolkit's defaults."""

from __future__ import annotations

import dataclasses
import enum
import math

__all__ = ["PulseType", "UpdateParameters"]


class PulseType(str, enum.Enum):
    """How an update is turned into pulses (docs/physics/pulsed-update.md#pulse-types)."""

    NONE = "None"
    """Exact floating-point SGD, ``W <- W - lr d^T x``; no device model acts (no bounds)."""
    NONE_WITH_DEVICE = "NoneWithDevice"
    """Exact floating-point SGD, then the weights are clipped to the per-device bounds."""
    STOCHASTIC_COMPRESSED = "StochasticCompressed"
    """Stochastic pulse trains of length BL, coincidences give pulses (the default)."""
    STOCHASTIC = "Stochastic"
    """The reference's uncompressed stochastic trains: the same statistics as
    ``StochasticCompressed``. The reference toolkit only orders its random numbers
    differently; our numbers are addressed by counters (engine contract §2), so this type
    draws exactly the same numbers and gives exactly the same result as
    ``StochasticCompressed``."""
    DETERMINISTIC_IMPLICIT = "DeterministicImplicit"
    """Deterministic counts ``n_ij = rint(BL q_d,i q_x,j)`` from the quantised,
    clamped probabilities (docs/physics/pulsed-update.md#pulse-types; contract §6)."""
    MEAN_COUNT = "MeanCount"
    """Deterministic counts ``n_ij = rint(c_d,i c_x,j / BL)`` from the mean pulse counts
    ``c = clamp(rint(BL p), 0, BL)`` (docs/physics/pulsed-update.md#pulse-types; contract §6)."""


#: Pulse types that send pulses through the step law (the others are exact updates).
PULSED_TYPES = (
    PulseType.STOCHASTIC_COMPRESSED,
    PulseType.STOCHASTIC,
    PulseType.DETERMINISTIC_IMPLICIT,
    PulseType.MEAN_COUNT,
)


@dataclasses.dataclass
class UpdateParameters:
    """How a pulsed tile turns ``-lr * d x^T`` into pulses (docs/physics/pulsed-update.md).

    Args:
        desired_bl: pulse-train length BL (the maximum when ``update_bl_management``).
        fixed_bl: always use ``desired_bl`` slots.
        pulse_type: see :class:`PulseType`.
        res: bin width of the firing probabilities (0: no quantisation).
        sto_round: stochastic rounding of the probabilities when ``res > 0`` (and of the
            implicit probabilities when ``x_res_implicit`` / ``d_res_implicit > 0``).
        x_res_implicit: bin width of the x probabilities of ``DeterministicImplicit``
            (0: no quantisation), in [0, 1].
        d_res_implicit: bin width of the d probabilities of ``DeterministicImplicit``
            (0: no quantisation), in [0, 1].
        d_sparsity: the reference's statistics of the error sparsity; stored, only
            ``False`` is supported.
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
    x_res_implicit: float = 0.0
    d_res_implicit: float = 0.0
    d_sparsity: bool = False

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
        if isinstance(self.desired_bl, bool) or not isinstance(self.desired_bl, int):
            raise ValueError(
                f"UpdateParameters.desired_bl={self.desired_bl!r} must be an integer in [1, 2**20]"
            )
        if not 1 <= self.desired_bl <= 2**20:
            raise ValueError(
                f"UpdateParameters.desired_bl={self.desired_bl} is out of range; allowed: 1 to 2**20"
            )
        for name in ("res", "um_grad_scale", "x_res_implicit", "d_res_implicit"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"UpdateParameters.{name}={value!r} must be a finite number")
        if not 0.0 <= self.res <= 1.0:
            raise ValueError(
                f"UpdateParameters.res={self.res} is out of range; allowed: 0 (off) "
                "or a bin width in (0, 1]"
            )
        for name in ("x_res_implicit", "d_res_implicit"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"UpdateParameters.{name}={getattr(self, name)} is out of range; allowed: "
                    "0 (off) or a bin width in (0, 1]"
                )
        if self.um_grad_scale <= 0.0:
            raise ValueError(f"UpdateParameters.um_grad_scale={self.um_grad_scale} must be > 0")
        for name in (
            "fixed_bl",
            "sto_round",
            "update_bl_management",
            "update_management",
            "d_sparsity",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"UpdateParameters.{name}={getattr(self, name)!r} must be True or False"
                )
        if self.d_sparsity:
            raise NotImplementedError(
                "UpdateParameters.d_sparsity=True is not supported (the error-sparsity "
                "statistics are not collected); allowed: False"
            )

"""Parameter dataclasses of the built-in devices (docs/physics/devices.md#base-parameters), with the
reference defaults.

The defaults are the reference toolkit's *Python* defaults, which are the ones its users
see (docs/physics/index.md#defaults: "the Python defaults win"). The names are the historical v0.1
names (docs/physics/index.md#historical-names): ``PulsedResistiveDeviceParameters``, its alias
``ConstantStepResistiveDeviceParameters`` and ``FloatingPointTileParameters``.

The dataclasses are plain mutable records; :meth:`PulsedResistiveDeviceParameters.validate`
checks them and is called by every device that holds them, at construction and before
sampling.
"""

from __future__ import annotations

import dataclasses
import math

from .validation import invalid, is_real

__all__ = [
    "ConstantStepResistiveDeviceParameters",
    "FloatingPointTileParameters",
    "PulsedResistiveDeviceParameters",
]

# Fields that must be >= 0 (relative or absolute spreads, rates and ranges).
_NON_NEGATIVE = (
    "dw_min_dtod",
    "dw_min_std",
    "up_down_dtod",
    "w_max_dtod",
    "w_min_dtod",
    "reset_dtod",
    "reset_std",
    "lifetime",
    "lifetime_dtod",
    "diffusion",
    "diffusion_dtod",
    "corrupt_devices_range",
)
_BOOLEAN = ("dw_min_dtod_log_normal", "enforce_consistency", "perfect_bias")


@dataclasses.dataclass
class PulsedResistiveDeviceParameters:
    """Parameters shared by all pulsed resistive devices (docs/physics/devices.md#base-parameters).

    Relative spreads (``*_dtod``, ``dw_min_std``) are fractions of the mean they refer
    to; device-to-device (``dtod``) spreads are drawn once per cross-point when a tile is
    built (docs/physics/devices.md#device-to-device-sampling), cycle-to-cycle ones at every pulse
    (docs/physics/devices.md#constant-step).

    Examples:
        >>> params = PulsedResistiveDeviceParameters(w_min=-0.4)
        >>> params.w_max, params.dw_min
        (0.6, 0.001)
    """

    dw_min: float = 0.001
    """Mean weight change of one pulse (> 0); also the granularity of the update."""
    dw_min_dtod: float = 0.3
    """Relative device-to-device spread of the step size (>= 0)."""
    dw_min_dtod_log_normal: bool = False
    """Draw the step-size factor log-normally, ``exp(dw_min_dtod * xi)``, instead of
    ``1 + dw_min_dtod * xi``."""
    dw_min_std: float = 0.3
    """Relative cycle-to-cycle spread of every pulse (>= 0)."""
    up_down: float = 0.0
    """Systematic up/down asymmetry in units of ``dw_min``: ``up_down > 0`` shrinks the DOWN
    steps by that amount, ``up_down < 0`` the UP steps
    (docs/physics/devices.md#device-to-device-sampling)."""
    up_down_dtod: float = 0.01
    """Device-to-device spread of the asymmetry, in units of ``dw_min`` (>= 0)."""
    w_max: float = 0.6
    """Mean upper bound of the weight (>= 0)."""
    w_max_dtod: float = 0.3
    """Relative device-to-device spread of the upper bound (>= 0)."""
    w_min: float = -0.6
    """Mean lower bound of the weight (<= 0, < ``w_max``)."""
    w_min_dtod: float = 0.3
    """Relative device-to-device spread of the lower bound (>= 0)."""
    reset: float = 0.0
    """Target of an explicit reset (``reset_columns``), and the point decay moves toward."""
    reset_dtod: float = 0.0
    """Additive device-to-device spread of the reset target (>= 0)."""
    reset_std: float = 0.01
    """Cycle-to-cycle spread of a reset (>= 0)."""
    lifetime: float = 0.0
    """Weight decay lifetime in mini-batches (>= 0); 0 turns decay off. After every
    mini-batch a weight keeps ``1 - 1/lifetime`` of its distance to the reset bias
    (docs/physics/device-operations.md#decay); a sampled lifetime of 1 or less forgets it at
    once."""
    lifetime_dtod: float = 0.0
    """Relative device-to-device spread of the lifetime (>= 0)."""
    diffusion: float = 0.0
    """Std of the random walk applied after each mini-batch (>= 0); 0 turns it off."""
    diffusion_dtod: float = 0.0
    """Relative device-to-device spread of the diffusion (>= 0)."""
    corrupt_devices_prob: float = 0.0
    """Probability that a device is stuck at a random weight (in [0, 1])."""
    corrupt_devices_range: float = 0.1
    """Stuck weights are drawn uniformly within ``[-range, range]`` clipped to the device's
    bounds (>= 0)."""
    enforce_consistency: bool = True
    """Make every sampled device consistent: positive step magnitudes and
    ``w_min <= 0 <= w_max``. Otherwise a device whose sampled bounds cross is dead (both
    bounds at their midpoint) and its steps keep their sampled sign."""
    perfect_bias: bool = False
    """Give a tile's analog bias column (the last column, when the tile has one) the
    mean step ``dw_min`` in both directions and the bounds ``100 w_min``, ``100 w_max``."""
    construction_seed: int = 0
    """If not 0, seeds the device-to-device sampling instead of the tile's generator, so
    that tiles with different seeds share the same devices."""

    def validate(self) -> None:
        """Check every field.

        Raises:
            ValueError: naming the first invalid field, its value and what is allowed.
        """
        # Only the base fields here: device families check their own in their validate().
        for field in dataclasses.fields(PulsedResistiveDeviceParameters):
            value = getattr(self, field.name)
            if field.name in _BOOLEAN:
                if not isinstance(value, bool):
                    invalid(self, field.name, value, "True or False")
            elif field.name == "construction_seed":
                if isinstance(value, bool) or not isinstance(value, int):
                    invalid(self, field.name, value, "an integer in [0, 2**64)")
                if not 0 <= value < 2**64:
                    invalid(self, field.name, value, "0 <= construction_seed < 2**64")
            elif not is_real(value) or not math.isfinite(value):
                invalid(self, field.name, value, "a finite number")

        if self.dw_min <= 0:
            invalid(self, "dw_min", self.dw_min, "dw_min > 0")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                invalid(self, name, getattr(self, name), f"{name} >= 0")
        if not 0 <= self.corrupt_devices_prob <= 1:
            invalid(
                self,
                "corrupt_devices_prob",
                self.corrupt_devices_prob,
                "0 <= corrupt_devices_prob <= 1",
            )
        if self.w_min > 0:
            invalid(
                self, "w_min", self.w_min, "w_min <= 0 (the range [w_min, w_max] must contain 0)"
            )
        if self.w_max < 0:
            invalid(
                self, "w_max", self.w_max, "w_max >= 0 (the range [w_min, w_max] must contain 0)"
            )
        if self.w_min >= self.w_max:
            raise ValueError(
                f"{type(self).__name__}.w_min={self.w_min!r} and w_max={self.w_max!r} are invalid; "
                "allowed: w_min < w_max"
            )


#: The v0.1 name of the constant-step device's parameters: the same class.
ConstantStepResistiveDeviceParameters = PulsedResistiveDeviceParameters


@dataclasses.dataclass
class FloatingPointTileParameters:
    """Parameters of the floating-point (exact) device; it has none yet.

    The reference's floating-point device also knows decay, diffusion and a simple drift
    (docs/physics/devices.md#floating-point-devices); they will be added here when the tiles apply
    them.
    """

    def validate(self) -> None:
        """Nothing to check; present so that every parameters class can be validated."""

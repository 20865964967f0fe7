"""The three example devices."""

from __future__ import annotations

import dataclasses

import torch

from aihw.core.device_model import DeviceModel
from aihw.core.laws import register_python_law
from aihw.devices.tabulate import tabulated_device_class

# -- 1. a built-in law with new parameters and its own sampling ---------------------------


# [way-1-start]
@dataclasses.dataclass
class LogNormalStepParameters:
    """A constant-step device whose step sizes vary log-normally from device to device."""

    dw_min: float = 0.002
    """Median step of one pulse (> 0)."""
    dw_min_log_std: float = 0.4
    """Standard deviation of the log of the step (device to device, >= 0)."""
    up_down_ratio: float = 1.1
    """Median ratio of the UP to the DOWN step (> 0)."""
    dw_min_std: float = 0.1
    """Cycle-to-cycle spread of a step (relative, >= 0)."""
    w_bound: float = 0.8
    """Median bound: devices span about [-w_bound, w_bound] (> 0)."""
    w_bound_dtod: float = 0.1
    """Relative device-to-device spread of the bounds (>= 0)."""


class LogNormalStepDevice(DeviceModel):
    """The built-in ``constant_step`` law with log-normal device-to-device steps."""

    name = "LogNormalStep"
    api_version = 1
    law = "constant_step"
    parameters_class = LogNormalStepParameters

    def validate(self) -> None:
        p = self.params
        for field in ("dw_min", "up_down_ratio", "w_bound"):
            if not getattr(p, field) > 0:
                raise ValueError(f"{field}={getattr(p, field)!r} is invalid; allowed: > 0")
        for field in ("dw_min_log_std", "dw_min_std", "w_bound_dtod"):
            if not getattr(p, field) >= 0:
                raise ValueError(f"{field}={getattr(p, field)!r} is invalid; allowed: >= 0")

    def granularity(self) -> float:
        return self.params.dw_min

    def law_scalars(self) -> dict[str, float]:
        return {"dw_min_std": self.params.dw_min_std}

    def sample(self, d_size, x_size, generator):
        # Every random number comes from `generator`: a tile's devices follow its seed.
        p = self.params
        shape = (d_size, x_size)

        def normal():
            return torch.randn(shape, generator=generator, dtype=torch.float64)

        step = p.dw_min * torch.exp(p.dw_min_log_std * normal())
        ratio = p.up_down_ratio**0.5
        w_max = p.w_bound * (1 + p.w_bound_dtod * normal()).abs()
        w_min = -p.w_bound * (1 + p.w_bound_dtod * normal()).abs()
        arrays = {"dw_up": step * ratio, "dw_down": step / ratio, "w_min": w_min, "w_max": w_max}
        return {k: v.to(torch.float32).contiguous() for k, v in arrays.items()}


# [way-1-end]

# -- 2. a new step law written in Python/torch -------------------------------------------


# [way-2-start]
def saturating_step(w, up, arrays, scalars, xi):
    """One pulse of the saturating law: the step shrinks as a power of the distance to the
    bound it moves towards, and equals ``dw_up`` / ``dw_down`` in the middle of the range.

    Returns the new weight before the clip (aihw clips to ``[w_min, w_max]``).
    """
    w_min, w_max = arrays["w_min"], arrays["w_max"]
    span = w_max - w_min
    gamma = scalars["gamma"]
    room_up = torch.clamp((w_max - w) / span, min=0.0)  # 1 at w_min, 0 at w_max
    room_down = torch.clamp((w - w_min) / span, min=0.0)
    step = torch.where(
        up,
        arrays["dw_up"] * (2 * room_up) ** gamma,
        -arrays["dw_down"] * (2 * room_down) ** gamma,
    )
    if xi is not None:  # cycle-to-cycle noise; xi is None when dw_min_std == 0
        step = step * (1 + scalars["dw_min_std"] * xi)
    return w + step


# The law reads dw_up, dw_down, w_min, w_max and dw_min_std first, then "gamma".
register_python_law("saturating_step", saturating_step, scalars=("gamma",))


@dataclasses.dataclass
class SaturatingParameters:
    """A device whose step saturates towards its bounds (law ``saturating_step``)."""

    dw_min: float = 0.002
    """Step in the middle of the range (> 0)."""
    dw_min_dtod: float = 0.2
    """Relative device-to-device spread of the step (>= 0)."""
    dw_min_std: float = 0.05
    """Cycle-to-cycle spread of a step (relative, >= 0)."""
    gamma: float = 1.5
    """How sharply the step saturates (>= 0; 0 is a constant step)."""
    w_bound: float = 0.8
    """Bounds [-w_bound, w_bound] (> 0)."""
    w_bound_dtod: float = 0.1
    """Relative device-to-device spread of the bounds (>= 0)."""


class SaturatingDevice(DeviceModel):
    """The saturating law, defined in Python: runs on the reference path (CPU or GPU)."""

    name = "Saturating"
    api_version = 1
    law = "saturating_step"
    parameters_class = SaturatingParameters

    def validate(self) -> None:
        p = self.params
        for field in ("dw_min", "w_bound"):
            if not getattr(p, field) > 0:
                raise ValueError(f"{field}={getattr(p, field)!r} is invalid; allowed: > 0")
        for field in ("dw_min_dtod", "dw_min_std", "gamma", "w_bound_dtod"):
            if not getattr(p, field) >= 0:
                raise ValueError(f"{field}={getattr(p, field)!r} is invalid; allowed: >= 0")

    def granularity(self) -> float:
        return self.params.dw_min

    def law_scalars(self) -> dict[str, float]:
        return {"dw_min_std": self.params.dw_min_std, "gamma": self.params.gamma}

    def sample(self, d_size, x_size, generator):
        p = self.params
        shape = (d_size, x_size)

        def normal():
            return torch.randn(shape, generator=generator, dtype=torch.float64)

        step = p.dw_min * (1 + p.dw_min_dtod * normal()).abs()
        w_max = p.w_bound * (1 + p.w_bound_dtod * normal()).abs()
        w_min = -p.w_bound * (1 + p.w_bound_dtod * normal()).abs()
        arrays = {"dw_up": step, "dw_down": step.clone(), "w_min": w_min, "w_max": w_max}
        return {k: v.to(torch.float32).contiguous() for k, v in arrays.items()}


# [way-2-end]

# -- 3. the same law tabulated into the native piecewise law -----------------------------

# [way-3-start]
#: ``SaturatingDevice`` as a ``piecewise_step`` device: 32 nodes per table; building an
#: instance raises ``TabulationError`` if the error exceeds 2 % of a step.
SaturatingTabulatedDevice = tabulated_device_class(
    SaturatingDevice, name="SaturatingTabulated", n_nodes=32, tolerance=0.02
)
# [way-3-end]

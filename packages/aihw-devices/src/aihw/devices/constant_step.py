"""The constant-step resistive device (spec C.2 sampling, C.4 pulse rule)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from aihw.core.device_model import DeviceModel

from ._legacy import resolve_params
from .parameters import PulsedResistiveDeviceParameters

__all__ = ["ConstantStepDevice", "ConstantStepResistiveDevice"]

# Parameters stored for features the tiles do not execute yet, with their "off" value.
_NOT_SUPPORTED_YET = {
    "lifetime": (0.0, "weight decay needs a post-update step that the tiles do not run yet"),
    "diffusion": (0.0, "diffusion needs a post-update step that the tiles do not run yet"),
    "perfect_bias": (
        False,
        "the tiles do not give the analog bias column its own device parameters yet",
    ),
}


class ConstantStepResistiveDevice(DeviceModel):
    """A pulsed device whose every pulse changes the weight by a constant step.

    Each cross-point gets its own UP and DOWN step and its own bounds, drawn once when a
    tile is built (:meth:`sample`, spec C.2). A pulse then moves the weight by its step
    times ``1 + dw_min_std * xi`` and clips it to the device's bounds (spec C.4, law
    ``constant_step``).

    Args:
        params: a :class:`~aihw.devices.PulsedResistiveDeviceParameters` (default: the
            defaults).
        params_devices: the v0.1 keyword for ``params``.
        **overrides: fields of the parameters to replace, e.g. ``w_min=-0.4``.

    Raises:
        TypeError: ``params`` is of another class, or an unknown keyword was given.
        ValueError: a parameter is invalid (the message names it).
        NotImplementedError: a parameter asks for a feature the tiles do not run yet
            (``lifetime``, ``diffusion``, ``perfect_bias``).

    Examples:
        >>> from aihw.devices import PulsedResistiveDeviceParameters
        >>> device = ConstantStepResistiveDevice(PulsedResistiveDeviceParameters(w_min=-0.4))
        >>> device.params.w_min
        -0.4
        >>> ConstantStepResistiveDevice(w_min=-0.4) == device
        True
    """

    name: ClassVar[str] = "ConstantStep"
    api_version: ClassVar[int] = 1
    law: ClassVar[str | None] = "constant_step"
    parameters_class: ClassVar[type[Any]] = PulsedResistiveDeviceParameters

    params: PulsedResistiveDeviceParameters

    def __init__(
        self,
        params: PulsedResistiveDeviceParameters | None = None,
        /,
        *,
        params_devices: PulsedResistiveDeviceParameters | None = None,
        **overrides: Any,
    ) -> None:
        params = resolve_params(type(self).__name__, params, params_devices, overrides)
        super().__init__(params, **overrides)

    def validate(self) -> None:
        """Check the parameters (spec C.1) and that the tiles can run them.

        Raises:
            ValueError: a parameter is invalid.
            NotImplementedError: ``lifetime``, ``diffusion`` or ``perfect_bias`` is set.
        """
        self.params.validate()
        for field, (off, why) in _NOT_SUPPORTED_YET.items():
            value = getattr(self.params, field)
            if value != off:
                raise NotImplementedError(
                    f"{type(self.params).__name__}.{field}={value!r} is not supported yet "
                    f"({why}); use {field}={off!r}"
                )

    def granularity(self) -> float:
        """The mean step ``dw_min`` (spec B.7)."""
        return float(self.params.dw_min)

    def law_scalars(self) -> dict[str, float]:
        """``{"dw_min_std": ...}``, the cycle-to-cycle spread the law reads."""
        return {"dw_min_std": float(self.params.dw_min_std)}

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Draw the steps and bounds of every cross-point (spec C.2).

        The draws are made in float64 and rounded to float32. With
        ``construction_seed != 0`` a generator seeded with it is used instead of
        ``generator``.

        Args:
            d_size: number of rows (outputs) of the tile, >= 1.
            x_size: number of columns (inputs) of the tile, >= 1.
            generator: a CPU ``torch.Generator``, advanced by the draws.

        Returns:
            float32 ``[d_size, x_size]`` contiguous CPU tensors ``dw_up``, ``dw_down``
            (step magnitudes), ``w_min`` and ``w_max`` (bounds).
        """
        self.validate()
        _check_size("d_size", d_size)
        _check_size("x_size", x_size)
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            raise TypeError(
                f"{type(self).__name__}.sample(generator=...) takes a CPU torch.Generator, "
                f"got {generator!r}"
            )
        p = self.params
        if p.construction_seed:
            generator = torch.Generator().manual_seed(p.construction_seed)
        shape = (d_size, x_size)

        def normal() -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=torch.float64)

        b_max = p.w_max * (1.0 + p.w_max_dtod * normal())
        b_min = p.w_min * (1.0 + p.w_min_dtod * normal())
        xi = normal()
        gain = (
            torch.exp(p.dw_min_dtod * xi) if p.dw_min_dtod_log_normal else 1.0 + p.dw_min_dtod * xi
        )
        asym = p.up_down_dtod * normal()
        beta_up = min(p.up_down, 0.0)
        beta_down = -max(p.up_down, 0.0)
        dw_up = (beta_up + gain + asym) * p.dw_min
        dw_down = (beta_down + gain - asym) * p.dw_min

        if p.enforce_consistency:
            dw_up, dw_down = dw_up.abs(), dw_down.abs()
            b_min, b_max = torch.minimum(b_min, b_max), torch.maximum(b_min, b_max)
            b_min, b_max = -b_min.abs(), b_max.abs()
        else:
            crossed = b_min > b_max
            middle = 0.5 * (b_min + b_max)
            b_min = torch.where(crossed, middle, b_min)
            b_max = torch.where(crossed, middle, b_max)

        if p.corrupt_devices_prob > 0:
            corrupt = (
                torch.rand(shape, generator=generator, dtype=torch.float64) < p.corrupt_devices_prob
            )
            low = torch.clamp(torch.minimum(b_min, b_max), min=-p.corrupt_devices_range)
            high = torch.clamp(torch.maximum(b_min, b_max), max=p.corrupt_devices_range)
            stuck = low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)
            b_min = torch.where(corrupt, stuck, b_min)
            b_max = torch.where(corrupt, stuck, b_max)
            dw_up = torch.where(corrupt, 0.0, dw_up)
            dw_down = torch.where(corrupt, 0.0, dw_down)

        arrays = {"dw_up": dw_up, "dw_down": dw_down, "w_min": b_min, "w_max": b_max}
        return {key: value.to(torch.float32).contiguous() for key, value in arrays.items()}


#: The reference toolkit's name for the same device (spec E).
ConstantStepDevice = ConstantStepResistiveDevice


def _check_size(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"sample({name}={value!r}) is invalid; allowed: an integer >= 1")

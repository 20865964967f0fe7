"""Shared machinery of the pulsed single devices (docs/physics/devices.md,
docs/physics/device-operations.md).

:class:`PulsedDevice` holds what every single pulsed device does alike: the v0.1
constructor keywords, the checks of the base parameters (write noise included), and the
construction-time sampling of steps and bounds (docs/physics/devices.md#device-to-device-sampling).
Each family adds its own arrays in :meth:`PulsedDevice._extra_arrays`, drawn after the base arrays
from the same generator.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from aihw.core.device_model import DeviceModel
from aihw.core.device_ops import DECAY_SCALE, DIFFUSION_RATE, RESET_BIAS

from ._legacy import resolve_params
from .parameters import PulsedResistiveDeviceParameters
from .validation import check_bool, check_number

__all__ = ["PulsedDevice", "check_size"]


class PulsedDevice(DeviceModel):
    """Base class of the pulsed single devices (not registered itself).

    Subclasses set ``name``, ``law`` and ``parameters_class`` and implement
    :meth:`law_scalars` and, when their law reads more than the base arrays,
    :meth:`_extra_arrays`.
    """

    name: ClassVar[str] = ""
    api_version: ClassVar[int] = 1
    law: ClassVar[str | None] = None
    parameters_class: ClassVar[type[Any]] = PulsedResistiveDeviceParameters

    def __init__(
        self,
        params: Any = None,
        /,
        *,
        params_devices: Any = None,
        **overrides: Any,
    ) -> None:
        params = resolve_params(type(self).__name__, params, params_devices, overrides)
        super().__init__(params, **overrides)

    # -- checks ------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the parameters.

        Raises:
            ValueError: a parameter is invalid (the message names it and the allowed range).
        """
        self.params.validate()
        if hasattr(self.params, "write_noise_std"):
            check_number(self.params, "write_noise_std", 0.0)
            check_bool(self.params, "apply_write_noise_on_set")

    # -- what the tiles read -----------------------------------------------------------
    def effective_params(self) -> Any:
        """The parameters the sampling uses (a reparametrised device overrides this)."""
        return self.params

    def granularity(self) -> float:
        """The mean step ``dw_min`` (docs/physics/pulsed-update.md#granularity)."""
        return float(self.effective_params().dw_min)

    def law_scalars(self) -> dict[str, Any]:
        """``{"dw_min_std": ...}``, the cycle-to-cycle spread every law reads first."""
        return {"dw_min_std": float(self.effective_params().dw_min_std)}

    def reset_std(self) -> float:
        """The cycle-to-cycle spread of a reset, ``reset_std``
        (docs/physics/device-operations.md#reset)."""
        return float(self.effective_params().reset_std)

    def write_noise_scale(self) -> float:
        """``write_noise_std * dw_min``, the std of the write noise in weight units
        (docs/physics/device-operations.md#write-noise); 0 for a family without write noise."""
        p = self.effective_params()
        return float(getattr(p, "write_noise_std", 0.0)) * float(p.dw_min)

    def apply_write_noise_on_set(self) -> bool:
        """``apply_write_noise_on_set`` (True for a family without the field)."""
        return bool(getattr(self.effective_params(), "apply_write_noise_on_set", True))

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator, *, bias_column: bool = False
    ) -> dict[str, torch.Tensor]:
        """Draw the per-cross-point arrays of a tile
        (docs/physics/devices.md#device-to-device-sampling, then the family's own).

        The draws are made in float64 and rounded to float32. With
        ``construction_seed != 0`` a generator seeded with it is used instead of
        ``generator``.

        Args:
            d_size: number of rows (outputs) of the tile, >= 1.
            x_size: number of columns (inputs) of the tile, >= 1.
            generator: a CPU ``torch.Generator``, advanced by the draws.
            bias_column: the last column is the tile's analog bias column; with
                ``perfect_bias`` its steps become ``dw_min`` and its bounds
                ``100 w_min``, ``100 w_max`` (docs/physics/devices.md#device-to-device-sampling),
                before the family's own arrays are derived from them. The draws, and so the other
                columns, are the same.

        Returns:
            float32 ``[d_size, x_size]`` contiguous CPU tensors: ``dw_up``, ``dw_down``
            (step magnitudes), ``w_min`` and ``w_max`` (bounds), the family's arrays and,
            only for the features that are on, ``diffusion_rate``, ``reset_bias`` and
            ``decay_scale`` (drawn last, so the other arrays do not depend on them).
        """
        self.validate()
        check_size("d_size", d_size)
        check_size("x_size", x_size)
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            raise TypeError(
                f"{type(self).__name__}.sample(generator=...) takes a CPU torch.Generator, "
                f"got {generator!r}"
            )
        p = self.effective_params()
        if p.construction_seed:
            generator = torch.Generator().manual_seed(p.construction_seed)
        shape = (d_size, x_size)
        arrays = sample_base(p, shape, generator)
        if bias_column and p.perfect_bias:
            make_bias_column_perfect(arrays, p)
        arrays.update(self._extra_arrays(arrays, shape, generator))
        arrays.update(sample_device_op_arrays(p, shape, generator))
        return {key: value.to(torch.float32).contiguous() for key, value in arrays.items()}

    def sample_tile(
        self, d_size: int, x_size: int, generator: torch.Generator, *, bias_column: bool = False
    ) -> dict[str, torch.Tensor]:
        """:meth:`sample`, told whether the last column is the bias column."""
        return self.sample(d_size, x_size, generator, bias_column=bias_column)

    def _extra_arrays(
        self, base: dict[str, torch.Tensor], shape: tuple[int, int], generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """The family's own float64 arrays, drawn after the base ones (default: none)."""
        return {}


def sample_base(
    p: PulsedResistiveDeviceParameters, shape: tuple[int, int], generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """The float64 steps and bounds of docs/physics/devices.md#device-to-device-sampling, in the
    draw order of the constant step."""

    def normal() -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=torch.float64)

    b_max = p.w_max * (1.0 + p.w_max_dtod * normal())
    b_min = p.w_min * (1.0 + p.w_min_dtod * normal())
    xi = normal()
    gain = torch.exp(p.dw_min_dtod * xi) if p.dw_min_dtod_log_normal else 1.0 + p.dw_min_dtod * xi
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
    return {"dw_up": dw_up, "dw_down": dw_down, "w_min": b_min, "w_max": b_max}


def make_bias_column_perfect(
    arrays: dict[str, torch.Tensor], p: PulsedResistiveDeviceParameters
) -> None:
    """Give the last column (the analog bias) the mean step and 100x the mean bounds.

    docs/physics/devices.md#device-to-device-sampling ``perfect_bias``: the bias column then steps
    like an ideal constant-step device over a range it never reaches in practice. In place, on the
    float64 arrays.
    """
    arrays["dw_up"][:, -1] = p.dw_min
    arrays["dw_down"][:, -1] = p.dw_min
    arrays["w_min"][:, -1] = 100.0 * p.w_min
    arrays["w_max"][:, -1] = 100.0 * p.w_max


def sample_device_op_arrays(
    p: PulsedResistiveDeviceParameters, shape: tuple[int, int], generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """The float64 diffusion rates, reset biases and decay factors of
    docs/physics/devices.md#device-to-device-sampling.

    An array is made only when its feature is on (``diffusion > 0``; ``reset != 0`` or
    ``reset_dtod > 0``; ``lifetime > 0``) and a normal is drawn only for a non-zero
    spread, so that devices without these features draw exactly what they drew before.
    """

    def spread(dtod: float) -> torch.Tensor | float:
        if dtod == 0:
            return 0.0
        return dtod * torch.randn(shape, generator=generator, dtype=torch.float64)

    out: dict[str, torch.Tensor] = {}
    if p.diffusion > 0:
        rate = (p.diffusion * (1.0 + spread(p.diffusion_dtod))) * torch.ones(
            shape, dtype=torch.float64
        )
        out[DIFFUSION_RATE] = rate.abs()
    if p.reset != 0 or p.reset_dtod > 0:
        out[RESET_BIAS] = (p.reset + spread(p.reset_dtod)) * torch.ones(shape, dtype=torch.float64)
    if p.lifetime > 0:
        life = (p.lifetime * (1.0 + spread(p.lifetime_dtod))) * torch.ones(
            shape, dtype=torch.float64
        )
        # kappa = 1 - 1/L; a lifetime of one mini-batch or less forgets everything at once.
        out[DECAY_SCALE] = torch.where(life > 1.0, 1.0 - 1.0 / life, 0.0)
    return out


def check_size(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"sample({name}={value!r}) is invalid; allowed: an integer >= 1")

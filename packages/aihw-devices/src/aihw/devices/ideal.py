"""The ideal device (docs/physics/devices.md#floating-point-devices): exact floating-point updates,
no bounds."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch

from aihw.core.device_model import DeviceModel
from aihw.core.device_ops import DECAY_SCALE, DIFFUSION_RATE

from ._legacy import resolve_params
from .validation import is_real

__all__ = ["IdealDevice", "IdealResistiveDevice", "IdealResistiveDeviceParameters"]


@dataclasses.dataclass
class IdealResistiveDeviceParameters:
    """Parameters of the ideal device (docs/physics/devices.md#floating-point-devices), with the
    reference defaults."""

    construction_seed: int = 0
    """Seed of the device-to-device draws (the ideal device has none)."""
    diffusion: float = 0.0
    """Std of a random walk after each mini-batch (>= 0); 0 turns it off."""
    lifetime: float = 0.0
    """Decay lifetime in mini-batches (>= 0): after each mini-batch ``w <- w (1 - 1/lifetime)``;
    decay runs only for ``lifetime > 1``."""
    reset_std: float = 0.01
    """Spread of an explicit reset, ``w <- reset_std xi`` (>= 0)."""

    def validate(self) -> None:
        """Raise ``ValueError`` naming an invalid field and its allowed range."""
        name = type(self).__name__
        seed = self.construction_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(
                f"{name}.construction_seed={seed!r} is invalid; allowed: 0 to 2**64 - 1"
            )
        for field in ("diffusion", "lifetime", "reset_std"):
            value = getattr(self, field)
            if not is_real(value) or not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"{name}.{field}={value!r} is invalid; allowed: a finite number >= 0"
                )


class IdealResistiveDevice(DeviceModel):
    """The ideal device: a floating-point device (``law = None``), exact and unbounded.

    A tile built for it (:func:`aihw.core.tiles.create_tile`) is a
    :class:`~aihw.core.tiles.FloatingPointTile`. Decay (``lifetime > 1``) and diffusion
    (``diffusion > 0``) run after every update, without bounds, and ``reset_columns``
    sets weights to ``reset_std * xi`` (docs/physics/devices.md#floating-point-devices).

    Examples:
        >>> IdealResistiveDevice().is_floating_point
        True
    """

    name: ClassVar[str] = "Ideal"
    api_version: ClassVar[int] = 1
    law: ClassVar[str | None] = None
    parameters_class: ClassVar[type[Any]] = IdealResistiveDeviceParameters

    params: IdealResistiveDeviceParameters

    def __init__(
        self,
        params: IdealResistiveDeviceParameters | None = None,
        /,
        *,
        params_devices: IdealResistiveDeviceParameters | None = None,
        **overrides: Any,
    ) -> None:
        params = resolve_params(type(self).__name__, params, params_devices, overrides)
        super().__init__(params, **overrides)

    def validate(self) -> None:
        """Check the parameters (``ValueError`` naming the field and its allowed range)."""
        self.params.validate()

    def reset_std(self) -> float:
        """The spread of a reset, ``reset_std``."""
        return float(self.params.reset_std)

    def granularity(self) -> float:
        """An ideal device sends no pulses: ``ValueError``."""
        raise ValueError(f"{type(self).__name__} is a floating-point device; it has no granularity")

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """The constant decay and diffusion arrays of the features that are on (no
        device-to-device spread; ``{}`` by default). Draws nothing from ``generator``."""
        p = self.params
        shape = (d_size, x_size)
        arrays: dict[str, torch.Tensor] = {}
        if p.lifetime > 1:
            # 1 + alpha (kappa - 1) = 1 - alpha / lifetime, the ideal device's decay
            arrays[DECAY_SCALE] = torch.full(shape, 1.0 - 1.0 / p.lifetime, dtype=torch.float64)
        if p.diffusion > 0:
            arrays[DIFFUSION_RATE] = torch.full(shape, float(p.diffusion), dtype=torch.float64)
        return {k: v.to(torch.float32) for k, v in arrays.items()}


#: The reference toolkit's name.
IdealDevice = IdealResistiveDevice

"""The ideal device (spec C.11): exact floating-point updates, no bounds."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch

from aihw.core.device_model import DeviceModel

from ._legacy import resolve_params
from .parameters import _is_real

__all__ = ["IdealDevice", "IdealResistiveDevice", "IdealResistiveDeviceParameters"]


@dataclasses.dataclass
class IdealResistiveDeviceParameters:
    """Parameters of the ideal device (spec C.11), with the reference defaults."""

    construction_seed: int = 0
    """Seed of the device-to-device draws (the ideal device has none)."""
    diffusion: float = 0.0
    """Std of a random walk after each mini-batch; only 0 is supported yet."""
    lifetime: float = 0.0
    """Decay lifetime in mini-batches; only 0 is supported yet."""
    reset_std: float = 0.01
    """Spread of an explicit reset (>= 0)."""

    def validate(self) -> None:
        """Raise ``ValueError`` naming an invalid field and its allowed range."""
        name = type(self).__name__
        seed = self.construction_seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"{name}.construction_seed={seed!r} is invalid; allowed: 0 to 2**64 - 1")
        for field in ("diffusion", "lifetime", "reset_std"):
            value = getattr(self, field)
            if not _is_real(value) or not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"{name}.{field}={value!r} is invalid; allowed: a finite number >= 0"
                )


class IdealResistiveDevice(DeviceModel):
    """The ideal device: a floating-point device (``law = None``), exact and unbounded.

    A tile built for it (:func:`aihw.core.tiles.create_tile`) is a
    :class:`~aihw.core.tiles.FloatingPointTile`. The reference's ideal device also knows
    decay and diffusion (spec C.11); the tiles do not run them yet, so only
    ``lifetime = diffusion = 0`` is accepted.

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
        """Check the parameters; ``NotImplementedError`` for decay or diffusion."""
        self.params.validate()
        for field in ("lifetime", "diffusion"):
            value = getattr(self.params, field)
            if value != 0:
                raise NotImplementedError(
                    f"{type(self.params).__name__}.{field}={value!r} is not supported yet "
                    f"(the tiles run no post-update step); use {field}=0.0"
                )

    def granularity(self) -> float:
        """An ideal device sends no pulses: ``ValueError``."""
        raise ValueError(f"{type(self).__name__} is a floating-point device; it has no granularity")

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """No per-device arrays: returns ``{}``."""
        return {}


#: The reference toolkit's name.
IdealDevice = IdealResistiveDevice

"""The floating-point device: exact weights, no pulses
(docs/physics/devices.md#floating-point-devices)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from aihw.core.device_model import DeviceModel

from ._legacy import resolve_params
from .parameters import FloatingPointTileParameters

__all__ = ["FloatingPointDevice", "FloatingPointResistiveDevice"]


class FloatingPointResistiveDevice(DeviceModel):
    """An ideal device: a tile built for it computes and updates exactly (``law = None``).

    Args:
        params: a :class:`~aihw.devices.FloatingPointTileParameters` (default: the
            defaults).
        params_devices: the v0.1 keyword for ``params``.

    Examples:
        >>> FloatingPointResistiveDevice().is_floating_point
        True
    """

    name: ClassVar[str] = "FloatingPoint"
    api_version: ClassVar[int] = 1
    law: ClassVar[str | None] = None
    parameters_class: ClassVar[type[Any]] = FloatingPointTileParameters

    params: FloatingPointTileParameters

    def __init__(
        self,
        params: FloatingPointTileParameters | None = None,
        /,
        *,
        params_devices: FloatingPointTileParameters | None = None,
        **overrides: Any,
    ) -> None:
        params = resolve_params(type(self).__name__, params, params_devices, overrides)
        super().__init__(params, **overrides)

    def validate(self) -> None:
        """Check the parameters (there are none yet)."""
        self.params.validate()

    def granularity(self) -> float:
        """A floating-point device sends no pulses, so it has no granularity.

        Raises:
            ValueError: always, like :meth:`~aihw.core.device_model.DeviceModel.step_law`.
        """
        raise ValueError(
            f"{type(self).__name__} is a floating-point device; it sends no pulses and has "
            "no granularity"
        )

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """No per-device arrays: returns ``{}``."""
        return {}


#: The reference toolkit's name for the same device (docs/physics/index.md#historical-names).
FloatingPointDevice = FloatingPointResistiveDevice

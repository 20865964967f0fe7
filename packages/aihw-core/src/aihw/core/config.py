"""``TileConfig``: everything a tile is built from (the reference toolkit's ``rpu_config``).

A tile configuration bundles the device model, the forward and backward periphery
(:class:`~aihw.core.io_parameters.IOParameters`) and the update parameters. Presets for
the common configurations live next to the devices, in :mod:`aihw.devices`
(``SingleRPUConfig``, ``FloatingPointRPUConfig``, ``InferenceRPUConfig``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .device_model import DeviceModel
from .io_parameters import IOParameters
from .mapping import MappingParameters
from .parameters import UpdateParameters
from .runtime import RuntimeParameters

__all__ = ["TileConfig"]


@dataclasses.dataclass
class TileConfig:
    """Device, forward and backward periphery, and update parameters of a tile.

    Args:
        device: the device model of the cross-points; ``None`` or a floating-point device
            gives exact weights and an exact (floating-point SGD) update.
        forward: the forward pass's periphery (docs/physics/periphery.md#io-parameters defaults).
        backward: the backward pass's periphery (bound management is always off there).
        update: how the update is done on a pulsed device
            (docs/physics/pulsed-update.md#update-parameters defaults).
        mapping: how a layer built from this configuration lays its weight out on tiles
            (:class:`~aihw.core.mapping.MappingParameters`: tile sizes, weight scaling,
            digital bias). A layer's own ``mapping=`` argument is used instead only while
            this one is the default; when both differ from the default and from each
            other, the layer refuses them. A tile built directly is one tile and does not
            read it.
        runtime: the precision at the layer's boundary and the tiles' back-end
            (:class:`~aihw.core.runtime.RuntimeParameters`).

    Examples:
        >>> from aihw.core.config import TileConfig
        >>> from aihw.core.io_parameters import IOParameters
        >>> config = TileConfig(forward=IOParameters(out_noise=0.0))
        >>> config.backward.out_noise
        0.06
    """

    device: DeviceModel | None = None
    forward: IOParameters = dataclasses.field(default_factory=IOParameters)
    backward: IOParameters = dataclasses.field(default_factory=IOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=UpdateParameters)
    mapping: MappingParameters = dataclasses.field(default_factory=MappingParameters)
    runtime: RuntimeParameters = dataclasses.field(default_factory=RuntimeParameters)

    def __post_init__(self) -> None:
        self.validate()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A configuration pickled (e.g. in a whole model) before ``mapping`` and
        # ``runtime`` existed gets their defaults.
        self.__dict__.update(state)
        self.__dict__.setdefault("mapping", MappingParameters())
        self.__dict__.setdefault("runtime", RuntimeParameters())

    def validate(self) -> None:
        """Raise ``TypeError`` for a field of the wrong type; validate every part."""
        name = type(self).__name__
        if self.device is not None and not isinstance(self.device, DeviceModel):
            raise TypeError(
                f"{name}.device must be None or a device model instance; "
                f"got {type(self.device).__name__}"
            )
        for field, kind in (
            ("forward", IOParameters),
            ("backward", IOParameters),
            ("update", UpdateParameters),
            ("mapping", MappingParameters),
            ("runtime", RuntimeParameters),
        ):
            value = getattr(self, field)
            if not isinstance(value, kind):
                raise TypeError(
                    f"{name}.{field} must be {kind.__name__}; got {type(value).__name__}"
                )
            value.validate()

    @property
    def is_floating_point(self) -> bool:
        """Whether the device gives exact weights (``None`` or a floating-point device)."""
        return self.device is None or self.device.is_floating_point

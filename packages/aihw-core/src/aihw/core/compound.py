"""The compound-device protocol: several ordinary devices behind every cross-point.

A compound device (a unit cell such as ``VectorUnitCell``, or a transfer compound such as
``TransferCompound``) is a :class:`~aihw.core.device_model.DeviceModel` whose parameters
name ordinary devices (``unit_cell_devices``). A tile built for it
(:class:`~aihw.core.tiles.compound.CompoundTile`) holds one ordinary pulsed tile per
device, each with its own device-to-device sample and random streams, seeded from the
compound tile's seed; the weight the periphery reads is ``sum_k gamma_k w_k``
(docs/physics/compounds.md). The device classes with their parameters live in
``aihw.devices.compounds``; what a tile does with them is chosen by ``compound_kind``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .device_model import DeviceModel
from .laws import StepLaw

__all__ = ["COMPOUND_KINDS", "CompoundDevice", "unit_seed"]

#: What a compound tile can do with its devices.
COMPOUND_KINDS = (
    "vector",
    "one_sided",
    "transfer",
    "chopped_transfer",
    "dynamic_transfer",
    "mixed_precision",
)

#: Device ``k`` of a compound tile with seed ``s`` gets ``s + (k + 1) * _UNIT_SEED_STEP``
#: (an odd constant other than the grid's, so the seeds of a grid's tiles and of their
#: devices do not meet for any practical grid).
_UNIT_SEED_STEP = 0xD1B54A32D192ED03


def unit_seed(seed: int, index: int) -> int:
    """The seed of device ``index`` of a compound tile whose seed is ``seed``."""
    return (seed + (index + 1) * _UNIT_SEED_STEP) % 2**64


class CompoundDevice(DeviceModel):
    """Base of the compound devices: a list of ordinary devices and how they combine.

    Subclasses set ``compound_kind`` (one of ``COMPOUND_KINDS``) and
    ``parameters_class`` (a dataclass with a ``unit_cell_devices`` list of pulsed device
    models), and implement :meth:`unit_devices` and :meth:`gamma_weights`.
    """

    law: ClassVar[str | None] = None
    compound_kind: ClassVar[str] = ""
    #: Fields of ``parameters_class`` that hold lists of device models (stored by name
    #: and parameters in checkpoints).
    device_list_fields: ClassVar[tuple[str, ...]] = ("unit_cell_devices",)
    #: Fields that hold one device model (stored the same way).
    device_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def is_floating_point(self) -> bool:
        return False

    @property
    def is_compound(self) -> bool:
        return True

    def step_law(self) -> StepLaw:
        raise ValueError(
            f"{type(self).__name__} is a compound device: each of its unit_cell_devices "
            "has its own step law"
        )

    def unit_devices(self) -> list[DeviceModel]:
        """The ordinary devices of one cross-point, in the order the tile builds them."""
        raise NotImplementedError

    def gamma_weights(self) -> list[float]:
        """``gamma_k`` of the visible weight ``sum_k gamma_k w_k``, one per device."""
        raise NotImplementedError

    def granularity(self) -> float:
        """The smallest granularity of the devices (a compound has no pulse of its own)."""
        return min(device.granularity() for device in self.unit_devices())

    def sample(self, d_size: int, x_size: int, generator: Any) -> dict[str, Any]:
        """A compound has no arrays of its own: its devices' tiles sample theirs."""
        return {}

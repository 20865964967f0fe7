"""Tile configurations of compound devices: :class:`UnitCellRPUConfig`, the Tiki-Taka
presets and :func:`build_config`.

Examples:
    >>> from aihw.devices import TikiTakaReRamSBPreset, build_config
    >>> TikiTakaReRamSBPreset().device.params.transfer_every
    1.0
    >>> type(build_config("tiki-taka", "ReRamSBPreset").device).__name__
    'TransferCompound'
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

from aihw.core.compound import CompoundDevice
from aihw.core.config import TileConfig
from aihw.core.device_model import DeviceModel
from aihw.core.io_parameters import IOParameters
from aihw.core.parameters import UpdateParameters

from .compounds import (
    OneSidedUnitCell,
    OneSidedUnitCellParameters,
    TransferCompound,
    VectorUnitCell,
)
from .configs import SingleRPUConfig
from .digital_compounds import (
    ChoppedTransferCompound,
    DynamicTransferCompound,
    MixedPrecisionCompound,
)
from .presets import (
    CapacitorPresetDevice,
    EcRamMOPresetDevice,
    EcRamPresetDevice,
    PCMPresetDevice,
    PresetIOParameters,
    PresetUpdateParameters,
    ReRamSBPresetDevice,
)

__all__ = [
    "AGAD_CHOP_PROB",
    "ALGORITHMS",
    "BUILD_CONFIG_READS",
    "CTTV2_CHOP_PROB",
    "DigitalRankUpdateRPUConfig",
    "MixedPrecisionEcRamMOPreset",
    "MixedPrecisionReRamSBPreset",
    "PCMPresetUnitCell",
    "PCMPresetUnitCellParameters",
    "ChoppedTTv2ReRamSBPreset",
    "TTv2ReRamSBPreset",
    "TikiTakaCapacitorPreset",
    "TikiTakaEcRamPreset",
    "TikiTakaReRamSBPreset",
    "UnitCellRPUConfig",
    "build_config",
]


@dataclasses.dataclass
class UnitCellRPUConfig(TileConfig):
    """A tile configuration whose device is a unit cell or compound
    (``aihw.devices.compounds``), with the default periphery both ways and the default
    update (of the device that takes the gradient).

    ``device`` defaults to a :class:`~aihw.devices.VectorUnitCell` (of two constant-step
    devices).
    """

    device: DeviceModel | None = dataclasses.field(default_factory=VectorUnitCell)

    def validate(self) -> None:
        """As :meth:`TileConfig.validate`; the device must be a compound."""
        super().validate()
        if not isinstance(self.device, CompoundDevice):
            raise TypeError(
                f"{type(self).__name__}.device must be a unit cell or compound device "
                "(VectorUnitCell, ReferenceUnitCell, OneSidedUnitCell, TransferCompound); "
                f"got {type(self.device).__name__}"
            )


@dataclasses.dataclass
class PCMPresetUnitCellParameters(OneSidedUnitCellParameters):
    """:class:`PCMPresetUnitCell`'s defaults: two PCM preset devices, a refresh check after
    every mini-batch through :class:`~aihw.devices.PresetIOParameters`, refresh writes with
    :class:`~aihw.devices.PresetUpdateParameters`."""

    unit_cell_devices: list[Any] = dataclasses.field(
        default_factory=lambda: [PCMPresetDevice(), PCMPresetDevice()]
    )
    refresh_every: int = 1
    units_in_mbatch: bool = True
    refresh_forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    refresh_update: UpdateParameters = dataclasses.field(
        default_factory=lambda: PresetUpdateParameters(desired_bl=31)
    )


class PCMPresetUnitCell(OneSidedUnitCell):
    """Two phase-change memory devices of opposite sign
    (:class:`~aihw.devices.PCMPresetDevice`, Nandakumar et al., Front. Neurosci. 14, 406
    (2020)) in a one-sided unit cell that checks for refresh after every mini-batch
    (docs/physics/compounds.md#one-sided-unit-cell)."""

    name: ClassVar[str] = "PCMPresetUnitCell"
    parameters_class: ClassVar[type[Any]] = PCMPresetUnitCellParameters


#: Columns ``build_config("tiki-taka", ...)`` transfers per mini-batch
#: (docs/physics/compounds.md#build_config).
BUILD_CONFIG_READS = 8


def _tiki_taka(device: DeviceModel, n_reads: int = 1) -> TransferCompound:
    """Tiki-Taka on two copies of ``device`` with the preset periphery and update for the
    transfers, one transfer of ``n_reads`` columns per mini-batch."""
    return TransferCompound(
        unit_cell_devices=[copy.deepcopy(device), copy.deepcopy(device)],
        transfer_forward=PresetIOParameters(),
        transfer_update=PresetUpdateParameters(),
        transfer_every=1.0,
        n_reads_per_transfer=n_reads,
        units_in_mbatch=True,
    )


#: The input choppers' flip probability per read of c-TTv2 in :func:`build_config` and
#: :class:`ChoppedTTv2ReRamSBPreset` (docs/physics/compounds.md#choice-of-the-chopper-rates).
CTTV2_CHOP_PROB = 0.005
#: AGAD's chopper rate in :func:`build_config`: a flip after every 50 reads of a column.
AGAD_CHOP_PROB = 0.02


def _chopped(
    device: DeviceModel,
    n_reads: int = 1,
    in_chop_prob: float = CTTV2_CHOP_PROB,
    cls: type[ChoppedTransferCompound] = ChoppedTransferCompound,
) -> TransferCompound:
    """Tiki-Taka version 2 (``in_chop_prob=0``), c-TTv2 or (``cls``) AGAD on two copies of
    ``device``, the transfers as in :func:`_tiki_taka`."""
    return cls(
        unit_cell_devices=[copy.deepcopy(device), copy.deepcopy(device)],
        transfer_forward=PresetIOParameters(),
        transfer_update=PresetUpdateParameters(),
        transfer_every=1.0,
        n_reads_per_transfer=n_reads,
        units_in_mbatch=True,
        in_chop_prob=in_chop_prob,
    )


@dataclasses.dataclass
class TikiTakaReRamSBPreset(UnitCellRPUConfig):
    """Tiki-Taka (Gokmen & Haensch, "Algorithm for training neural networks on resistive
    device arrays", Front. Neurosci. 14, 103 (2020), https://doi.org/10.3389/fnins.2020.00103)
    on two :class:`~aihw.devices.ReRamSBPresetDevice` (Gong et al., Nat. Commun. 9, 2102
    (2018)), with :class:`~aihw.devices.PresetIOParameters` and
    :class:`~aihw.devices.PresetUpdateParameters` for the passes, the update and the
    transfers; one column is transferred per mini-batch."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: _tiki_taka(ReRamSBPresetDevice())
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


@dataclasses.dataclass
class TikiTakaEcRamPreset(UnitCellRPUConfig):
    """Tiki-Taka (Gokmen & Haensch 2020) on two :class:`~aihw.devices.EcRamPresetDevice`
    (Tang et al., IEDM 2018, https://doi.org/10.1109/IEDM.2018.8614551), otherwise as
    :class:`TikiTakaReRamSBPreset`."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: _tiki_taka(EcRamPresetDevice())
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


@dataclasses.dataclass
class TikiTakaCapacitorPreset(UnitCellRPUConfig):
    """Tiki-Taka (Gokmen & Haensch 2020) on two :class:`~aihw.devices.CapacitorPresetDevice`
    (Li et al., Symp. VLSI Technology 2018, https://doi.org/10.1109/VLSIT.2018.8510648),
    otherwise as :class:`TikiTakaReRamSBPreset`."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: _tiki_taka(CapacitorPresetDevice())
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


@dataclasses.dataclass
class TTv2ReRamSBPreset(UnitCellRPUConfig):
    """Tiki-Taka version 2 (Gokmen, "Enabling training of neural networks on noisy
    hardware", Front. Artif. Intell. 4, 699148 (2021), https://doi.org/10.3389/frai.2021.699148):
    a :class:`~aihw.devices.ChoppedTransferCompound` without choppers
    (``in_chop_prob=0``) on two :class:`~aihw.devices.ReRamSBPresetDevice`, otherwise as
    :class:`TikiTakaReRamSBPreset`."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: _chopped(ReRamSBPresetDevice(), in_chop_prob=0.0)
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


@dataclasses.dataclass
class ChoppedTTv2ReRamSBPreset(UnitCellRPUConfig):
    """Chopped Tiki-Taka version 2 (c-TTv2; Rasch et al., "Fast and robust analog in-memory
    deep neural network training", Nat. Commun. 15, 7133 (2024),
    https://doi.org/10.1038/s41467-024-51221-z): a :class:`~aihw.devices.ChoppedTransferCompound`
    (input choppers flipping with probability ``CTTV2_CHOP_PROB`` = 0.005 per read; the
    reference toolkit's 0.1 does not train on this device: docs/physics/compounds.md) on two
    :class:`~aihw.devices.ReRamSBPresetDevice`, otherwise as :class:`TikiTakaReRamSBPreset`."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: _chopped(ReRamSBPresetDevice())
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


@dataclasses.dataclass
class DigitalRankUpdateRPUConfig(TileConfig):
    """A tile configuration whose update is accumulated digitally: the device is a
    :class:`~aihw.devices.MixedPrecisionCompound` (default: of a constant-step device),
    with the default periphery both ways."""

    device: DeviceModel | None = dataclasses.field(default_factory=MixedPrecisionCompound)

    def validate(self) -> None:
        """As :meth:`TileConfig.validate`; the device must be a mixed-precision compound."""
        super().validate()
        if not isinstance(self.device, MixedPrecisionCompound):
            raise TypeError(
                f"{type(self).__name__}.device must be a MixedPrecisionCompound; got "
                f"{type(self.device).__name__}"
            )


@dataclasses.dataclass
class MixedPrecisionReRamSBPreset(DigitalRankUpdateRPUConfig):
    """Mixed precision (Nandakumar et al., Front. Neurosci. 14, 406 (2020),
    https://doi.org/10.3389/fnins.2020.00406) on a :class:`~aihw.devices.ReRamSBPresetDevice`,
    with :class:`~aihw.devices.PresetIOParameters` forward and backward."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: MixedPrecisionCompound(device=ReRamSBPresetDevice())
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


@dataclasses.dataclass
class MixedPrecisionEcRamMOPreset(DigitalRankUpdateRPUConfig):
    """Mixed precision (Nandakumar et al. 2020) on an
    :class:`~aihw.devices.EcRamMOPresetDevice` (Kim et al., IEDM 2019), otherwise as
    :class:`MixedPrecisionReRamSBPreset`."""

    device: DeviceModel | None = dataclasses.field(
        default_factory=lambda: MixedPrecisionCompound(device=EcRamMOPresetDevice())
    )
    forward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    backward: IOParameters = dataclasses.field(default_factory=PresetIOParameters)
    update: UpdateParameters = dataclasses.field(default_factory=PresetUpdateParameters)


#: What :func:`build_config` builds.
ALGORITHMS = ("sgd", "tiki-taka", "ttv2", "c-ttv2", "agad", "mp")
#: Names of the reference toolkit's other algorithms, not available in aihw yet.
_NOT_YET: tuple[str, ...] = ()


def build_config(algorithm: str, device: DeviceModel | str) -> TileConfig:
    """A tile configuration training ``device`` with ``algorithm``, with the preset
    periphery and update (:class:`~aihw.devices.PresetIOParameters`,
    :class:`~aihw.devices.PresetUpdateParameters`).

    Args:
        algorithm: ``"sgd"`` (one device per cross-point, a
            :class:`~aihw.devices.SingleRPUConfig`) or ``"tiki-taka"`` (a
            :class:`UnitCellRPUConfig` with a :class:`~aihw.devices.TransferCompound` of
            two copies of ``device``; each mini-batch transfers 8 columns
            (``BUILD_CONFIG_READS``; the presets transfer one), the rest as in
            :class:`TikiTakaReRamSBPreset`); ``"ttv2"`` and ``"c-ttv2"`` (a
            :class:`~aihw.devices.ChoppedTransferCompound` without and with input
            choppers, ``CTTV2_CHOP_PROB``, the transfers as for ``"tiki-taka"``);
            ``"agad"`` (a :class:`~aihw.devices.DynamicTransferCompound` with
            ``AGAD_CHOP_PROB``, the transfers as for ``"tiki-taka"``); ``"mp"`` (a
            :class:`DigitalRankUpdateRPUConfig` with a
            :class:`~aihw.devices.MixedPrecisionCompound` of the device).
        device: a pulsed device model, or a registered device name.

    Raises:
        ValueError: an algorithm that is not supported (the message lists the supported
            ones), or a device name that is not registered.
        TypeError: ``device`` is not a pulsed device model.
    """
    if algorithm not in ALGORITHMS:
        later = (
            f" ({algorithm!r} is one of the reference toolkit's algorithms that aihw does "
            "not provide yet)"
            if algorithm in _NOT_YET
            else ""
        )
        raise ValueError(
            f"build_config: algorithm={algorithm!r} is not supported{later}; supported: "
            + ", ".join(repr(a) for a in ALGORITHMS)
        )
    if isinstance(device, str):
        from .compounds import _device_by_name

        device = _device_by_name("build_config: device", device)
    if not isinstance(device, DeviceModel):
        raise TypeError(
            "build_config: device must be a pulsed device model or a registered device name; "
            f"got {type(device).__name__}"
        )
    if isinstance(device, CompoundDevice) or device.is_floating_point:
        raise TypeError(
            f"build_config: device={type(device).__name__}() is not a pulsed device; allowed: "
            "a device with a step law, e.g. ReRamSBPresetDevice()"
        )
    if algorithm == "sgd":
        return SingleRPUConfig(
            device=copy.deepcopy(device),
            forward=PresetIOParameters(),
            backward=PresetIOParameters(),
            update=PresetUpdateParameters(),
        )
    if algorithm == "mp":
        return DigitalRankUpdateRPUConfig(
            device=MixedPrecisionCompound(device=copy.deepcopy(device)),
            forward=PresetIOParameters(),
            backward=PresetIOParameters(),
            update=PresetUpdateParameters(),
        )
    if algorithm == "tiki-taka":
        compound = _tiki_taka(device, BUILD_CONFIG_READS)
    elif algorithm == "agad":
        compound = _chopped(device, BUILD_CONFIG_READS, AGAD_CHOP_PROB, DynamicTransferCompound)
    else:
        prob = 0.0 if algorithm == "ttv2" else CTTV2_CHOP_PROB
        compound = _chopped(device, BUILD_CONFIG_READS, prob)
    return UnitCellRPUConfig(
        device=compound,
        forward=PresetIOParameters(),
        backward=PresetIOParameters(),
        update=PresetUpdateParameters(),
    )

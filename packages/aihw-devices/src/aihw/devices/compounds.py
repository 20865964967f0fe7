"""Unit cells and compound devices: several devices behind every cross-point.

The reference toolkit's names and defaults (docs/physics/compounds.md):

- :class:`VectorUnitCell`: ``n`` devices, visible weight ``sum_k gamma_k w_k``, updated as
  :class:`VectorUnitCellUpdatePolicy` says;
- :class:`ReferenceUnitCell`: ``w_0 - w_1`` with the reference ``w_1`` left alone;
- :class:`OneSidedUnitCell`: ``g+ - g-`` from two potentiation-only devices, with refresh;
- :class:`TransferCompound`: Tiki-Taka (a fast device takes the gradient, transfers move
  it onto slower devices).

Their devices (``unit_cell_devices``) are any pulsed devices of the registry, built-in or
from a plugin, given as instances or by registered name. Compounds are registered like
devices (``python -m aihw.devices list`` shows them) and go wherever a device goes:
``resistive_device=``, ``TileConfig(device=...)``, :class:`~aihw.devices.UnitCellRPUConfig`.

Examples:
    >>> from aihw.devices import SoftBoundsDevice, TransferCompound
    >>> compound = TransferCompound(unit_cell_devices=[SoftBoundsDevice(), "SoftBounds"])
    >>> compound.gamma_weights()
    [0.0, 1.0]
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, ClassVar

from aihw.core.compound import CompoundDevice
from aihw.core.device_model import DeviceModel
from aihw.core.io_parameters import IOParameters
from aihw.core.parameters import UpdateParameters

__all__ = [
    "OneSidedUnitCell",
    "OneSidedUnitCellParameters",
    "ReferenceUnitCell",
    "ReferenceUnitCellParameters",
    "TransferCompound",
    "TransferCompoundParameters",
    "UnitCell",
    "VectorUnitCell",
    "VectorUnitCellParameters",
    "VectorUnitCellUpdatePolicy",
    "COMPOUNDS",
]


class VectorUnitCellUpdatePolicy(str, enum.Enum):
    """Which devices of a :class:`VectorUnitCell` an update goes to (chosen per update
    call, i.e. per mini-batch)."""

    ALL = "All"
    """Every device takes every update."""
    SINGLE_FIXED = "SingleFixed"
    """Only device ``first_update_idx`` (or the one the tile's hidden update index names)."""
    SINGLE_SEQUENTIAL = "SingleSequential"
    """One device per update, round-robin from ``first_update_idx``."""
    SINGLE_RANDOM = "SingleRandom"
    """One device per update, drawn uniformly."""


def _policy(value: Any) -> VectorUnitCellUpdatePolicy:
    try:
        return VectorUnitCellUpdatePolicy(value)
    except ValueError:
        allowed = ", ".join(repr(p.value) for p in VectorUnitCellUpdatePolicy)
        raise ValueError(f"update_policy={value!r} is not allowed; allowed: {allowed}") from None


def _default_devices() -> list[Any]:
    """Two constant-step devices: the default of ``unit_cell_devices``, so that every
    registered device builds with its defaults (the reference toolkit's default, an empty
    list, makes no tile; an empty list given is refused)."""
    from .constant_step import ConstantStepDevice

    return [ConstantStepDevice(), ConstantStepDevice()]


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


# -- parameters ---------------------------------------------------------------------------
@dataclasses.dataclass
class VectorUnitCellParameters:
    """Parameters of :class:`VectorUnitCell` (the reference toolkit's defaults).

    Attributes:
        unit_cell_devices: the devices of one cross-point (instances or registered names;
            default: two constant-step devices).
        update_policy: a :class:`VectorUnitCellUpdatePolicy` (or its string).
        first_update_idx: the device single-device policies start with.
        gamma_vec: ``gamma_k`` of the visible weight; ``[]``: ``1/n`` each.
    """

    unit_cell_devices: list[Any] = dataclasses.field(default_factory=_default_devices)
    update_policy: VectorUnitCellUpdatePolicy | str = VectorUnitCellUpdatePolicy.ALL
    first_update_idx: int = 0
    gamma_vec: list[float] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.update_policy = _policy(self.update_policy)


@dataclasses.dataclass
class ReferenceUnitCellParameters(VectorUnitCellParameters):
    """Parameters of :class:`ReferenceUnitCell`: two devices (one given is duplicated),
    ``gamma_vec = [1, -1]``, updates to device 0 only."""

    update_policy: VectorUnitCellUpdatePolicy | str = VectorUnitCellUpdatePolicy.SINGLE_FIXED
    gamma_vec: list[float] = dataclasses.field(default_factory=lambda: [1.0, -1.0])


@dataclasses.dataclass
class OneSidedUnitCellParameters:
    """Parameters of :class:`OneSidedUnitCell` (the reference toolkit's defaults).

    Attributes:
        unit_cell_devices: one device (used for both sides) or two (``g-``, ``g+``).
        refresh_every: refresh after every this many updates (``units_in_mbatch``) or
            vectors; 0: never.
        units_in_mbatch: count ``refresh_every`` in update calls (mini-batches), not vectors.
        refresh_upper_thres: a pair is refreshed when its larger side, read and divided by
            the device's ``|w_max|``, is above this...
        refresh_lower_thres: ...and its smaller side above this.
        refresh_forward: the periphery of the refresh reads.
        refresh_update: the update parameters of the refresh writes.
        copy_inverted: ``g+`` is ``g-``'s devices with up and down steps swapped and the
            bounds mirrored.
    """

    unit_cell_devices: list[Any] = dataclasses.field(default_factory=_default_devices)
    refresh_every: int = 0
    units_in_mbatch: bool = True
    refresh_upper_thres: float = 0.75
    refresh_lower_thres: float = 0.25
    refresh_forward: IOParameters = dataclasses.field(default_factory=IOParameters)
    refresh_update: UpdateParameters = dataclasses.field(default_factory=UpdateParameters)
    copy_inverted: bool = False


@dataclasses.dataclass
class TransferCompoundParameters:
    """Parameters of :class:`TransferCompound` (Tiki-Taka; the reference toolkit's
    defaults; docs/physics/compounds.md#transfer-compound).

    Attributes:
        unit_cell_devices: ``[fast, slow, ...]``, at least two.
        gamma: the default ``gamma_k = gamma^(n-1-k)``.
        gamma_vec: ``gamma_k`` given one per device (``[]``: from ``gamma``).
        transfer_every: device 0 transfers every this many update calls (or vectors).
        no_self_transfer: the last device does not transfer (else onto itself).
        transfer_every_vec: the period of each device (``[]``: ``transfer_every`` times
            ``(vectors / n_reads_per_transfer)^k``).
        units_in_mbatch: count periods in update calls (mini-batches), not vectors.
        n_reads_per_transfer: columns (or rows) read per transfer.
        transfer_columns: read columns (forward); ``False``: rows (backward).
        with_reset_prob: reset each transferred column with this probability.
        random_selection: start each transfer at a random column, not the next one.
        fast_lr: the fast device's learning rate (times the SGD rate if ``scale_fast_lr``);
            ``<= 0``: the SGD rate.
        scale_fast_lr: see ``fast_lr``.
        transfer_lr: the transfer's learning rate (times the SGD rate if
            ``scale_transfer_lr``).
        transfer_lr_vec: ``transfer_lr`` per source device (``[]``: the same for all).
        scale_transfer_lr: see ``transfer_lr``.
        transfer_forward: the periphery of the transfer reads (noise and bound management
            are turned off for them).
        transfer_update: the update parameters of the transfer writes.
    """

    unit_cell_devices: list[Any] = dataclasses.field(default_factory=_default_devices)
    gamma: float = 0.0
    gamma_vec: list[float] = dataclasses.field(default_factory=list)
    transfer_every: float = 1.0
    no_self_transfer: bool = True
    transfer_every_vec: list[float] = dataclasses.field(default_factory=list)
    units_in_mbatch: bool = True
    n_reads_per_transfer: int = 1
    transfer_columns: bool = True
    with_reset_prob: float = 0.0
    random_selection: bool = False
    fast_lr: float = 1.0
    scale_fast_lr: bool = True
    transfer_lr: float = 1.0
    transfer_lr_vec: list[float] = dataclasses.field(default_factory=list)
    scale_transfer_lr: bool = True
    transfer_forward: IOParameters = dataclasses.field(default_factory=IOParameters)
    transfer_update: UpdateParameters = dataclasses.field(default_factory=UpdateParameters)


# -- devices --------------------------------------------------------------------------------
class UnitCell(CompoundDevice):
    """Base of the compound devices here: resolves device names, checks the devices."""

    #: How many devices the compound takes: ``(least, most)``; ``None``: no upper limit.
    device_count: ClassVar[tuple[int, int | None]] = (1, None)

    def __init__(self, params: Any = None, /, **overrides: Any) -> None:
        devices = overrides.get("unit_cell_devices")
        if devices is not None:
            overrides["unit_cell_devices"] = self._resolve_devices(devices)
        elif params is not None and isinstance(params, self.parameters_class):
            params = dataclasses.replace(
                params, unit_cell_devices=self._resolve_devices(params.unit_cell_devices)
            )
        super().__init__(params, **overrides)

    @classmethod
    def _resolve_devices(cls, devices: Any) -> list[Any]:
        where = f"{cls.__name__}.unit_cell_devices"
        if isinstance(devices, (str, DeviceModel)) or not isinstance(devices, (list, tuple)):
            raise TypeError(
                f"{where} must be a list of device models or registered device names; got "
                f"{type(devices).__name__}"
            )
        out = []
        for index, device in enumerate(devices):
            if isinstance(device, str):
                device = _device_by_name(f"{where}[{index}]", device)
            out.append(device)
        return out

    def validate(self) -> None:
        name = type(self).__name__
        devices = self.params.unit_cell_devices
        least, most = self.device_count
        count = "at least" if most is None else ("exactly" if least == most else "from")
        span = f"{least}" if most is None or least == most else f"{least} to {most}"
        if not isinstance(devices, list) or not (
            least <= len(devices) and (most is None or len(devices) <= most)
        ):
            got = len(devices) if isinstance(devices, list) else type(devices).__name__
            raise ValueError(
                f"{name}.unit_cell_devices has {got} devices; allowed: {count} {span} pulsed "
                "device models (e.g. [SoftBoundsDevice(), SoftBoundsDevice()])"
            )
        for index, device in enumerate(devices):
            if not isinstance(device, DeviceModel):
                raise TypeError(
                    f"{name}.unit_cell_devices[{index}] must be a device model or a registered "
                    f"device name; got {type(device).__name__}"
                )
            if isinstance(device, CompoundDevice) or device.is_floating_point:
                kind = "compound" if isinstance(device, CompoundDevice) else "floating-point"
                raise ValueError(
                    f"{name}.unit_cell_devices[{index}]={type(device).__name__}() is a {kind} "
                    "device; allowed: pulsed devices (a step law), e.g. SoftBoundsDevice()"
                )

    def _check_vector(self, field: str, length: int, *, nonnegative: bool = False) -> None:
        """Raise unless ``params.<field>`` is ``[]`` or ``length`` finite numbers."""
        value = getattr(self.params, field)
        name = type(self).__name__
        ok = isinstance(value, (list, tuple)) and (
            not value
            or (
                len(value) == length
                and all(_finite(v) and (not nonnegative or v >= 0) for v in value)
            )
        )
        if not ok:
            sign = " >= 0" if nonnegative else ""
            raise ValueError(
                f"{name}.{field}={value!r}; allowed: [] (the default) or {length} finite "
                f"numbers{sign}, one per device"
            )

    def _check_number(
        self,
        field: str,
        low: float | None = None,
        *,
        strict: bool = False,
        high: float | None = None,
    ) -> None:
        value = getattr(self.params, field)
        name = type(self).__name__
        ok = _finite(value)
        if ok and low is not None:
            ok = value > low if strict else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
            if high is not None:
                bound = f" in [{low:g}, {high:g}]"
            raise ValueError(f"{name}.{field}={value!r} must be a finite number{bound}")

    def _check_bool(self, *fields: str) -> None:
        for field in fields:
            value = getattr(self.params, field)
            if not isinstance(value, bool):
                raise TypeError(f"{type(self).__name__}.{field}={value!r} must be True or False")

    def _check_io(self, field: str, kind: type[Any]) -> None:
        value = getattr(self.params, field)
        if not isinstance(value, kind):
            raise TypeError(
                f"{type(self).__name__}.{field} must be {kind.__name__}; got {type(value).__name__}"
            )
        value.validate()

    def unit_devices(self) -> list[DeviceModel]:
        return list(self.params.unit_cell_devices)


def _device_by_name(where: str, name: str) -> DeviceModel:
    from .errors import UnknownDeviceError
    from .registry import get_device

    try:
        return get_device(name)
    except UnknownDeviceError as error:
        hint = ""
        if error.suggestions:
            hint = "; did you mean " + " or ".join(repr(s) for s in error.suggestions) + "?"
        raise ValueError(
            f"{where}={name!r} is not a registered device{hint} (allowed: a device model "
            "instance or a registered device name; `python -m aihw.devices list` lists them)"
        ) from None


class VectorUnitCell(UnitCell):
    """``n`` devices per cross-point; the visible weight is ``sum_k gamma_k w_k``
    (``gamma_k = 1/n`` by default); updates go to the devices as ``update_policy`` says
    (docs/physics/compounds.md#vector-unit-cell). Setting the weights writes the same value to
    every device (SingleFixed: to the selected one only)."""

    name: ClassVar[str] = "VectorUnitCell"
    compound_kind: ClassVar[str] = "vector"
    parameters_class: ClassVar[type[Any]] = VectorUnitCellParameters

    def validate(self) -> None:
        super().validate()
        n = len(self.unit_devices())
        self._check_vector("gamma_vec", n)
        index = self.params.first_update_idx
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ValueError(
                f"{type(self).__name__}.first_update_idx={index!r}; allowed: an int in [0, {n})"
            )
        self.params.update_policy = _policy(self.params.update_policy)

    def gamma_weights(self) -> list[float]:
        n = len(self.unit_devices())
        gammas = self.params.gamma_vec
        return [float(g) for g in gammas] if gammas else [1.0 / n] * n


class ReferenceUnitCell(VectorUnitCell):
    """Two devices, ``W = w_0 - w_1``: updates go to device 0 only, the reference device
    ``w_1`` keeps its value (0 unless written by hand: ``set_hidden_update_index(1)`` then
    ``set_weights``). One device given is used for both."""

    name: ClassVar[str] = "ReferenceUnitCell"
    parameters_class: ClassVar[type[Any]] = ReferenceUnitCellParameters
    device_count: ClassVar[tuple[int, int | None]] = (1, 2)

    def unit_devices(self) -> list[DeviceModel]:
        devices = list(self.params.unit_cell_devices)
        return devices * 2 if len(devices) == 1 else devices


class OneSidedUnitCell(UnitCell):
    """Two potentiation-only devices, ``W = g+ - g-`` (``g-`` device 0, ``g+`` device 1),
    with an optional refresh of the pairs near saturation
    (docs/physics/compounds.md#one-sided-unit-cell). One device given is used for both."""

    name: ClassVar[str] = "OneSidedUnitCell"
    compound_kind: ClassVar[str] = "one_sided"
    parameters_class: ClassVar[type[Any]] = OneSidedUnitCellParameters
    device_count: ClassVar[tuple[int, int | None]] = (1, 2)

    def validate(self) -> None:
        super().validate()
        every = self.params.refresh_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValueError(
                f"OneSidedUnitCell.refresh_every={every!r}; allowed: an int >= 0 (0: no refresh)"
            )
        self._check_number("refresh_upper_thres", 0.0)
        self._check_number("refresh_lower_thres", 0.0)
        if self.params.refresh_lower_thres > self.params.refresh_upper_thres:
            raise ValueError(
                f"OneSidedUnitCell.refresh_lower_thres={self.params.refresh_lower_thres!r} is "
                f"above refresh_upper_thres={self.params.refresh_upper_thres!r}; allowed: "
                "lower <= upper"
            )
        self._check_bool("units_in_mbatch", "copy_inverted")
        self._check_io("refresh_forward", IOParameters)
        self._check_io("refresh_update", UpdateParameters)

    def unit_devices(self) -> list[DeviceModel]:
        devices = list(self.params.unit_cell_devices)
        return devices * 2 if len(devices) == 1 else devices

    def gamma_weights(self) -> list[float]:
        return [-1.0, 1.0]


class TransferCompound(UnitCell):
    """Tiki-Taka (Gokmen & Haensch 2020): the gradient goes to a fast device, whose
    columns are read and written onto slower devices on a schedule
    (docs/physics/compounds.md#transfer-compound)."""

    name: ClassVar[str] = "TransferCompound"
    compound_kind: ClassVar[str] = "transfer"
    parameters_class: ClassVar[type[Any]] = TransferCompoundParameters
    device_count: ClassVar[tuple[int, int | None]] = (2, None)

    def validate(self) -> None:
        super().validate()
        params = self.params
        n = len(self.unit_devices())
        self._check_number("gamma")
        self._check_vector("gamma_vec", n)
        self._check_number("transfer_every", 0.0, strict=True)
        self._check_vector("transfer_every_vec", n, nonnegative=True)
        reads = params.n_reads_per_transfer
        if isinstance(reads, bool) or not isinstance(reads, int) or reads < 1:
            raise ValueError(
                f"TransferCompound.n_reads_per_transfer={reads!r}; allowed: an int >= 1"
            )
        self._check_number("with_reset_prob", 0.0, high=1.0)
        self._check_number("fast_lr")
        self._check_number("transfer_lr", 0.0)
        self._check_vector("transfer_lr_vec", n, nonnegative=True)
        self._check_bool(
            "no_self_transfer",
            "units_in_mbatch",
            "transfer_columns",
            "random_selection",
            "scale_fast_lr",
            "scale_transfer_lr",
        )
        self._check_io("transfer_forward", IOParameters)
        self._check_io("transfer_update", UpdateParameters)
        if params.with_reset_prob > 0 and not params.transfer_columns:
            raise ValueError(
                f"TransferCompound.with_reset_prob={params.with_reset_prob!r} needs "
                "transfer_columns=True (devices are reset by columns); allowed with "
                "transfer_columns=False: with_reset_prob=0"
            )
        if self.gamma_weights()[-1] == 0:
            raise ValueError(
                f"TransferCompound.gamma_vec={params.gamma_vec!r}: the last device's gamma "
                "must not be 0 (it holds the weight); allowed: a non-zero last entry"
            )

    def gamma_weights(self) -> list[float]:
        n = len(self.unit_devices())
        if self.params.gamma_vec:
            return [float(g) for g in self.params.gamma_vec]
        gamma = float(self.params.gamma)
        return [gamma ** (n - 1 - k) for k in range(n)]


#: The compounds of this module (``aihw.devices.digital_compounds`` has the others).
COMPOUNDS: tuple[type[UnitCell], ...] = (
    VectorUnitCell,
    ReferenceUnitCell,
    OneSidedUnitCell,
    TransferCompound,
)

"""Compound devices with a digital buffer: Tiki-Taka version 2 and its chopped variant
(:class:`ChoppedTransferCompound`), and mixed precision (:class:`MixedPrecisionCompound`)
(docs/physics/compounds.md).

Examples:
    >>> from aihw.devices import ChoppedTransferCompound, MixedPrecisionCompound
    >>> ChoppedTransferCompound(unit_cell_devices=["SoftBounds", "SoftBounds"]).params.in_chop_prob
    0.1
    >>> MixedPrecisionCompound(device="SoftBounds").unit_devices()[0].name
    'SoftBounds'
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from aihw.core.compound import CompoundDevice
from aihw.core.device_model import DeviceModel
from aihw.core.parameters import UpdateParameters

from .compounds import (
    TransferCompound,
    TransferCompoundParameters,
    UnitCell,
    _device_by_name,
    _finite,
)

__all__ = [
    "BufferedTransferCompound",
    "BufferedTransferCompoundParameters",
    "ChoppedTransferCompound",
    "ChoppedTransferCompoundParameters",
    "DIGITAL_COMPOUNDS",
    "DynamicTransferCompound",
    "DynamicTransferCompoundParameters",
    "MixedPrecisionCompound",
    "MixedPrecisionCompoundParameters",
]


@dataclasses.dataclass
class ChoppedTransferCompoundParameters(TransferCompoundParameters):
    """Parameters of :class:`ChoppedTransferCompound`: those of
    :class:`TransferCompoundParameters` (two devices, columns only, the slow device does
    not transfer) and

    Attributes:
        in_chop_prob: probability that a column's input chopper flips after the column is
            read (0: no input chopper, Tiki-Taka version 2).
        in_chop_random: flip at random; ``False``: every ``round(1 / in_chop_prob)`` reads
            of the column.
        out_chop_prob: probability that each output chopper flips after a full sweep of
            the columns (0: none).
        buffer_granularity: the buffer's threshold, in units of the slow device's
            granularity (one pulse).
        forget_buffer: after a write, the buffer keeps ``momentum`` times its value;
            ``False``: it keeps what was not written (times ``1 - momentum``).
        momentum: see ``forget_buffer``.
        auto_granularity: if ``> 0``, the buffer's threshold is also multiplied by
            ``auto_granularity / (columns * transfer_every)``.
        auto_scale: the fast device's learning rate becomes
            ``fast_lr * desired_bl * granularity / (m_x m_d)`` with ``m_x``, ``m_d`` running
            averages of the largest ``|x|`` and ``|d|`` of each update vector.
        auto_momentum: the momentum of those running averages, in ``[0, 1)``.
        correct_gradient_magnitudes: divide the transfer rate by the fast device's
            learning rate, so that the slow device moves by the gradient's own size.
        no_buffer: start every read from an empty buffer (Tiki-Taka with whole pulses).
        step: what one buffer unit writes, in pulses (only 1 is available).
        construction_seed: the reference toolkit's seed of the device-to-device samples
            (only 0 is available: they come from the tile seed).

    ``transfer_update.desired_bl`` caps the pulses one transfer gives one device
    (docs/physics/compounds.md#chopped-transfer-compound).
    """

    in_chop_prob: float = 0.1
    in_chop_random: bool = True
    out_chop_prob: float = 0.0
    buffer_granularity: float = 1.0
    forget_buffer: bool = True
    momentum: float = 0.0
    auto_granularity: float = 0.0
    auto_scale: bool = False
    auto_momentum: float = 0.99
    correct_gradient_magnitudes: bool = False
    no_buffer: bool = False
    step: float = 1.0
    construction_seed: int = 0


def _transfer_update() -> UpdateParameters:
    """One pulse at most per element and transfer, no update management (the reference
    toolkit's transfer update of the buffered compounds)."""
    return UpdateParameters(desired_bl=1, update_bl_management=False, update_management=False)


@dataclasses.dataclass
class BufferedTransferCompoundParameters(ChoppedTransferCompoundParameters):
    """Parameters of :class:`BufferedTransferCompound` (the reference toolkit's defaults):
    those of :class:`ChoppedTransferCompoundParameters` without choppers, and

    Attributes:
        thres_scale: the buffer's threshold in units of the slow device's granularity
            (times ``buffer_granularity``).
    """

    in_chop_prob: float = 0.0
    momentum: float = 0.1
    thres_scale: float = 1.0
    transfer_update: UpdateParameters = dataclasses.field(default_factory=_transfer_update)


@dataclasses.dataclass
class DynamicTransferCompoundParameters(ChoppedTransferCompoundParameters):
    """Parameters of :class:`DynamicTransferCompound` (AGAD; the reference toolkit's
    defaults): those of :class:`ChoppedTransferCompoundParameters` and

    Attributes:
        in_chop_prob: a column's input chopper flips after every ``max(ceil(1 /
            in_chop_prob), 2)`` reads of it (``> 0``).
        in_chop_random: also flip at random with probability ``in_chop_prob`` per read.
        tail_weightening: the running mean of a column's reads weighs each new read by
            ``min(tail_weightening / n_samples, 1)``, with ``n_samples`` the reads of a
            chopper period.
        buffer_cap: without ``forget_buffer``, the buffer is clipped to ``buffer_cap``
            times ``transfer_update.desired_bl`` thresholds (0: no clipping).
        experimental_correct_accumulation: the reference toolkit's experimental option
            (only ``False`` is available).
    """

    in_chop_prob: float = 0.1
    in_chop_random: bool = False
    tail_weightening: float = 5.0
    buffer_cap: float = 0.0
    experimental_correct_accumulation: bool = False
    transfer_update: UpdateParameters = dataclasses.field(default_factory=_transfer_update)


def _default_device() -> Any:
    from .constant_step import ConstantStepDevice

    return ConstantStepDevice()


@dataclasses.dataclass
class MixedPrecisionCompoundParameters:
    """Parameters of :class:`MixedPrecisionCompound` (the reference toolkit's defaults).

    Attributes:
        device: the analog device (an instance or a registered name; default: constant
            step).
        transfer_every: transfer after every this many update calls (mini-batches).
        n_rows_per_transfer: rows written per transfer (-1: all).
        random_row: start each transfer at a random row, not the next one.
        granularity: the weight change one pulse stands for (0: the device's granularity).
        transfer_lr: scales what a transfer writes: ``trunc(transfer_lr chi / granularity)``
            pulses.
        n_x_bins: quantise each input vector on this many levels of its max (0: exact).
        n_d_bins: the same for the error vectors.
        stoc_round_x: round the inputs' levels stochastically (else to nearest).
        stoc_round_d: the same for the errors.
    """

    device: Any = dataclasses.field(default_factory=_default_device)
    transfer_every: int = 1
    n_rows_per_transfer: int = -1
    random_row: bool = False
    granularity: float = 0.0
    transfer_lr: float = 1.0
    n_x_bins: int = 0
    n_d_bins: int = 0
    stoc_round_x: bool = True
    stoc_round_d: bool = True


class ChoppedTransferCompound(TransferCompound):
    """Tiki-Taka version 2 (Gokmen, "Enabling training of neural networks on noisy
    hardware", Front. Artif. Intell. 4, 699148 (2021)) with choppers (c-TTv2: Rasch et al.,
    "Fast and robust analog in-memory deep neural network training", Nat. Commun. 15,
    7133 (2024)): transfers accumulate in a digital buffer that writes whole pulses onto
    the slow device; choppers flip the sign of the fast device's inputs so that its
    offsets cancel (docs/physics/compounds.md#chopped-transfer-compound). With
    ``in_chop_prob=0`` it is Tiki-Taka version 2 without choppers."""

    name: ClassVar[str] = "ChoppedTransferCompound"
    compound_kind: ClassVar[str] = "chopped_transfer"
    parameters_class: ClassVar[type[Any]] = ChoppedTransferCompoundParameters
    device_count: ClassVar[tuple[int, int | None]] = (2, 2)

    def validate(self) -> None:
        super().validate()
        params = self.params
        if not params.transfer_columns:
            raise ValueError(
                f"{type(self).__name__}.transfer_columns=False is not available; allowed: "
                "True (columns are read and chopped)"
            )
        if not params.no_self_transfer:
            raise ValueError(
                f"{type(self).__name__}.no_self_transfer=False is not available; allowed: "
                "True (the slow device does not transfer)"
            )
        self._check_number("in_chop_prob", 0.0, high=1.0)
        self._check_number("out_chop_prob", 0.0, high=1.0)
        self._check_number("buffer_granularity", 0.0, strict=True)
        self._check_number("momentum", 0.0, high=1.0)
        self._check_number("auto_granularity", 0.0)
        self._check_bool(
            "in_chop_random", "forget_buffer", "auto_scale", "correct_gradient_magnitudes",
            "no_buffer",
        )  # fmt: skip
        name = type(self).__name__
        momentum = params.auto_momentum
        if not _finite(momentum) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"{name}.auto_momentum={momentum!r} must be a finite number in [0, 1)")
        if params.step != 1.0:
            raise ValueError(
                f"{name}.step={params.step!r} is not available; allowed: 1.0 (one buffer "
                "unit is one pulse)"
            )
        seed = params.construction_seed
        if seed != 0 or isinstance(seed, bool):
            raise ValueError(
                f"{name}.construction_seed={seed!r} is not available; allowed: 0 (the "
                "device-to-device samples come from the tile seed)"
            )


class BufferedTransferCompound(ChoppedTransferCompound):
    """Tiki-Taka version 2 with its digital buffer (Gokmen, "Enabling training of neural
    networks on noisy hardware", Front. Artif. Intell. 4, 699148 (2021)) under the
    reference toolkit's name and defaults: a :class:`ChoppedTransferCompound` without
    choppers, a buffer momentum of 0.1 and one pulse at most per transfer
    (docs/physics/compounds.md#buffered-transfer-compound)."""

    name: ClassVar[str] = "BufferedTransferCompound"
    parameters_class: ClassVar[type[Any]] = BufferedTransferCompoundParameters

    def validate(self) -> None:
        super().validate()
        name = type(self).__name__
        for field in ("in_chop_prob", "out_chop_prob"):
            value = getattr(self.params, field)
            if value != 0:
                raise ValueError(
                    f"{name}.{field}={value!r} is not available; allowed: 0 (no choppers; "
                    "ChoppedTransferCompound has them)"
                )
        self._check_number("thres_scale", 0.0, strict=True)


class DynamicTransferCompound(ChoppedTransferCompound):
    """Analog gradient accumulation with a dynamic reference (AGAD; Rasch et al., "Fast and
    robust analog in-memory deep neural network training", Nat. Commun. 15, 7133 (2024)):
    a chopped transfer whose reads are taken relative to the running mean of the fast
    device during the previous chopper period, so that the fast device's offsets cancel
    without a programmed reference (docs/physics/compounds.md#dynamic-transfer-compound)."""

    name: ClassVar[str] = "DynamicTransferCompound"
    compound_kind: ClassVar[str] = "dynamic_transfer"
    parameters_class: ClassVar[type[Any]] = DynamicTransferCompoundParameters

    def validate(self) -> None:
        super().validate()
        params = self.params
        name = type(self).__name__
        if not (_finite(params.in_chop_prob) and 0 < params.in_chop_prob <= 1):
            raise ValueError(
                f"{name}.in_chop_prob={params.in_chop_prob!r} must be a finite number in "
                "(0, 1] (the dynamic reference needs chopper periods)"
            )
        if params.out_chop_prob != 0:
            raise ValueError(
                f"{name}.out_chop_prob={params.out_chop_prob!r} is not available; allowed: 0 "
                "(the output choppers do not flip)"
            )
        self._check_number("tail_weightening", 0.0, strict=True)
        self._check_number("buffer_cap", 0.0)
        self._check_bool("experimental_correct_accumulation")
        if params.experimental_correct_accumulation:
            raise ValueError(
                f"{name}.experimental_correct_accumulation=True is not available; allowed: False"
            )


class MixedPrecisionCompound(UnitCell):
    """Mixed-precision training (Nandakumar et al., "Mixed-precision deep learning based on
    computational memory", Front. Neurosci. 14, 406 (2020)): the rank-one updates
    accumulate in a digital matrix ``chi``; on a schedule, whole multiples of the
    granularity are written onto one analog device as pulses
    (docs/physics/compounds.md#mixed-precision-compound)."""

    name: ClassVar[str] = "MixedPrecisionCompound"
    compound_kind: ClassVar[str] = "mixed_precision"
    parameters_class: ClassVar[type[Any]] = MixedPrecisionCompoundParameters
    device_list_fields: ClassVar[tuple[str, ...]] = ()
    device_fields: ClassVar[tuple[str, ...]] = ("device",)

    def __init__(self, params: Any = None, /, **overrides: Any) -> None:
        where = "MixedPrecisionCompound.device"
        if isinstance(overrides.get("device"), str):
            overrides["device"] = _device_by_name(where, overrides["device"])
        elif isinstance(params, self.parameters_class) and isinstance(params.device, str):
            params = dataclasses.replace(params, device=_device_by_name(where, params.device))
        DeviceModel.__init__(self, params, **overrides)

    def validate(self) -> None:
        params = self.params
        device = params.device
        if not isinstance(device, DeviceModel):
            raise TypeError(
                "MixedPrecisionCompound.device must be a device model or a registered device "
                f"name; got {type(device).__name__}"
            )
        if isinstance(device, CompoundDevice) or device.is_floating_point:
            raise ValueError(
                f"MixedPrecisionCompound.device={type(device).__name__}() is not a pulsed "
                "device; allowed: a device with a step law, e.g. SoftBoundsDevice()"
            )
        for field, low in (("transfer_every", 1), ("n_x_bins", 0), ("n_d_bins", 0)):
            value = getattr(params, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(
                    f"MixedPrecisionCompound.{field}={value!r}; allowed: an int >= {low}"
                )
        rows = params.n_rows_per_transfer
        if isinstance(rows, bool) or not isinstance(rows, int) or rows == 0 or rows < -1:
            raise ValueError(
                f"MixedPrecisionCompound.n_rows_per_transfer={rows!r}; allowed: -1 (all rows) "
                "or an int >= 1"
            )
        self._check_number("granularity", 0.0)
        self._check_number("transfer_lr", 0.0, strict=True)
        self._check_bool("random_row", "stoc_round_x", "stoc_round_d")

    def unit_devices(self) -> list[DeviceModel]:
        return [self.params.device]

    def gamma_weights(self) -> list[float]:
        return [1.0]


#: The compounds of this module, registered by the built-in plugin.
DIGITAL_COMPOUNDS: tuple[type[UnitCell], ...] = (
    ChoppedTransferCompound,
    BufferedTransferCompound,
    DynamicTransferCompound,
    MixedPrecisionCompound,
)

"""``IOParametersIRDropT``: the forward periphery with the time-dependent IR drop of a
crossbar read by pulse-width-modulated inputs (docs/physics/periphery.md#time-dependent-ir-drop).

The reference toolkit's names and defaults: ``ir_drop`` (1.0, the scale of the wire
resistance), ``ir_drop_rs`` (0.15 ohm per row), ``ir_drop_segments`` (8),
``ir_drop_time_step_resolution_scale`` (1.0), ``ir_drop_v_read`` (0.4005 V) and
``split_mode_bit_shift`` (3).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from .io_parameters import AnalogMVType, IOParameters, WeightNoiseType

__all__ = ["IOParametersIRDropT", "V_READ_RANGE", "input_levels", "pulse_bits"]

#: The open range of ``ir_drop_v_read``: between the lowest (0.2 V) and the highest
#: (0.6 V) source voltage of a cross-point.
V_READ_RANGE = (0.2, 0.6)

#: Modes of the time-dependent IR drop (the reference's; the pos/neg passes are not).
_MODES = (AnalogMVType.ONE_PASS, AnalogMVType.SPLIT_MODE, AnalogMVType.BIT_WISE)

#: Most bits of a bit-wise input (the ADC counters keep 5 bits for the bit).
MAX_BITS = 32


def input_levels(io: IOParameters) -> float:
    """``L = inp_bound / Δ_in = 1 / (2 res)``: the DAC levels on each side of zero."""
    res = float(io.inp_res)
    res = res if res <= 1.0 else 1.0 / res
    return 1.0 / (2.0 * res)


def pulse_bits(io: IOParameters) -> int:
    """The bits of the largest integer level ``floor(L)`` (the passes of ``BitWise``)."""
    return int(math.floor(input_levels(io) + 1e-9)).bit_length()


def _is_integer(value: float) -> bool:
    return abs(value - round(value)) <= 1e-9 * max(1.0, abs(value))


@dataclasses.dataclass
class IOParametersIRDropT(IOParameters):
    """Forward IO parameters with the time-dependent IR drop
    (docs/physics/periphery.md#time-dependent-ir-drop), the reference toolkit's
    ``IOParametersIRDropT``.

    The inputs are pulse-width modulated: input ``v`` drives its row for a time
    proportional to ``|v|``, in time slots of the DAC step. In eval mode of an inference
    tile (``TorchInferenceRPUConfigIRDropT``), each column is solved as a chain of
    ``ir_drop_segments`` Thevenin sources joined by wire resistance, slot by slot; in
    training the MAC is the exact product. ``ir_drop`` here scales the wire resistance
    (the static ``ir_drop`` model of :class:`IOParameters` does not apply).

    Args:
        ir_drop: scale of the wire resistance (``>= 0``; 0 turns the IR drop off; default
            1.0).
        ir_drop_rs: wire resistance from one row to the next, in ohm (``>= 0``; 0.15).
        ir_drop_segments: rows are lumped into this many segments (``>= 1``; must divide
            the physical rows of the tile; 8).
        ir_drop_time_step_resolution_scale: fraction of the DAC's time slots simulated
            (``> 0``; 1.0 = one slot per DAC step; ignored by ``BitWise``).
        ir_drop_v_read: the voltage the ADC holds the column at, in volt (between 0.2 and
            0.6; 0.4005).
        split_mode_bit_shift: the low bits of the first ``SplitMode`` pass (an integer,
            ``1 <= shift < log2(1 / inp_res)``; 3).

    Other fields as :class:`IOParameters`. ``mv_type`` may be ``OnePass``, ``SplitMode``
    or ``BitWise``; weight noise, voltage offsets, the output non-linearity and the
    pos/neg passes are refused (as in the reference).

    Raises:
        ValueError: a field is out of range or the combination is not supported; the
            message names the field, its value and what is allowed.
    """

    PULSE_PASSES: ClassVar[bool] = True

    ir_drop: float = 1.0
    ir_drop_rs: float = 0.15
    ir_drop_segments: int = 8
    ir_drop_time_step_resolution_scale: float = 1.0
    ir_drop_v_read: float = 0.4005
    split_mode_bit_shift: int = 3

    def _validate(self) -> None:
        super()._validate()
        name = type(self).__name__
        segments = self.ir_drop_segments
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise ValueError(f"{name}.ir_drop_segments={segments!r} must be an integer >= 1")
        if self.ir_drop_rs < 0:
            raise ValueError(f"{name}.ir_drop_rs={self.ir_drop_rs} must be >= 0 (ohm)")
        scale = self.ir_drop_time_step_resolution_scale
        if scale <= 0:
            raise ValueError(f"{name}.ir_drop_time_step_resolution_scale={scale} must be > 0")
        low, high = V_READ_RANGE
        if not low < self.ir_drop_v_read < high:
            raise ValueError(
                f"{name}.ir_drop_v_read={self.ir_drop_v_read} is out of range; allowed: "
                f"{low} < v_read < {high} (volt, between the lowest and highest source voltage)"
            )
        shift = self.split_mode_bit_shift
        if isinstance(shift, bool) or not isinstance(shift, int):
            raise ValueError(f"{name}.split_mode_bit_shift={shift!r} must be an integer")
        if self.exact:
            return
        mode = AnalogMVType(self.mv_type)
        if mode not in _MODES:
            allowed = ", ".join(repr(m.value) for m in (*_MODES, AnalogMVType.IDEAL))
            raise ValueError(
                f"{name}.mv_type={mode.value!r} is not supported with the time-dependent IR "
                f"drop; allowed: {allowed}"
            )
        refused = (
            ("w_noise", self.w_noise > 0 or self.w_noise_type != WeightNoiseType.NONE),
            ("v_offset_std", self.v_offset_std > 0),
            ("out_nonlinearity", self.out_nonlinearity > 0),
            ("slope_calibration", self.slope_calibration > 0),
        )
        for field, on in refused:
            if on:
                raise ValueError(
                    f"{name}.{field}={getattr(self, field)!r} is not supported with the "
                    f"time-dependent IR drop; allowed: 0 (and w_noise_type='None')"
                )
        self._validate_time_slots(name, mode)

    def _validate_time_slots(self, name: str, mode: AnalogMVType) -> None:
        """The DAC resolution must give time slots, and each pass at least one."""
        if self.inp_res <= 0:
            if mode == AnalogMVType.ONE_PASS and self.ir_drop == 0:
                return  # no pulse counts needed: the exact product
            raise ValueError(
                f"{name}.inp_res={self.inp_res} must be > 0 with the time-dependent IR drop "
                f"(mv_type={mode.value!r}, ir_drop={self.ir_drop}): the pulse widths are "
                "counted in DAC steps"
            )
        levels = input_levels(self)
        if mode == AnalogMVType.SPLIT_MODE:
            n_bits = math.log2(2.0 * levels)
            if not _is_integer(n_bits):
                raise ValueError(
                    f"{name}.inp_res={self.inp_res} is not allowed with mv_type='SplitMode'; "
                    "allowed: 1/2**n or 2**n (a power of two number of steps)"
                )
            n = round(n_bits)
            shift = self.split_mode_bit_shift
            if not 1 <= shift < n:
                raise ValueError(
                    f"{name}.split_mode_bit_shift={shift} is out of range for inp_res="
                    f"{self.inp_res} ({n} bits); allowed: 1 to {n - 1}"
                )
            slots = [2**shift, 2 ** (n - 1 - shift)]
        elif mode == AnalogMVType.BIT_WISE:
            if not _is_integer(levels):
                raise ValueError(
                    f"{name}.inp_res={self.inp_res} is not allowed with mv_type='BitWise': "
                    "1 / (2 inp_res) must be an integer (integer input levels)"
                )
            for field in ("inp_noise", "inp_asymmetry"):
                if getattr(self, field) != 0:
                    raise ValueError(
                        f"{name}.{field}={getattr(self, field)} is not supported with "
                        "mv_type='BitWise' (its bits need integer input levels); allowed: 0"
                    )
            if pulse_bits(self) > MAX_BITS:
                raise ValueError(
                    f"{name}.inp_res={self.inp_res} gives {pulse_bits(self)} bits with "
                    f"mv_type='BitWise'; allowed: at most {MAX_BITS} bits"
                )
            return  # two slots per bit, whatever the resolution scale
        else:
            slots = [math.floor(levels + 1e-9) + 1]
        scale = float(self.ir_drop_time_step_resolution_scale)
        for full in slots:
            if int(full * scale) < 1:
                raise ValueError(
                    f"{name}.ir_drop_time_step_resolution_scale={scale} leaves a pass of "
                    f"{full} slots with none (int({full} * {scale}) = 0); allowed: "
                    f">= {1.0 / full}"
                )

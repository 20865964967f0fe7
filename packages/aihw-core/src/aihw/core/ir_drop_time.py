"""The time-dependent IR drop (docs/physics/periphery.md#time-dependent-ir-drop).

The inputs are pulse-width modulated. In each time slot every cross-point of a column is
a Thevenin source: a device whose pulse is on connects to 0.6 V or 0.2 V (by the input's
sign and the device's side of the pair), one whose pulse is off to 0.4 V. Rows are lumped
into segments joined by wire resistance; the ADC holds the column at ``v_read``. Even
columns are read at the last row (south), odd ones at the first (north).

Every device conducts in every slot, so a segment's conductance is the same in all slots
and only its source voltage moves; the column's Thevenin voltage is linear in the
segments' source currents. The sum over the slots is therefore one matrix product of the
pulse counts with an effective weight, less a leak term: exactly what the slot-by-slot
solution gives, at the cost of one product (:func:`column_model`, :func:`pass_output`).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor

from .inference.converters import ZERO_CLIP, SinglePairConductanceConverter
from .io_parameters import AnalogMVType
from .io_parameters_irdrop import IOParametersIRDropT, input_levels, pulse_bits

__all__ = [
    "ColumnModel",
    "PulsePass",
    "check_geometry",
    "column_model",
    "default_converter",
    "pass_output",
    "pulse_counts",
    "pulse_passes",
]

#: Source voltages relative to the idle level 0.4 V: an on device adds +-0.2 V.
V_IDLE = 0.4
V_SWING = 0.2
#: The reference's regularisation of a segment's conductance, in microsiemens.
G_FLOOR = 1e-12
#: Ohm to megaohm (conductances are in microsiemens).
OHM = 1e-6
#: A pulse reaches into slot ``k`` when ``|v| > k d``; values on the DAC grid sit on slot
#: edges, so the comparison allows this fraction of a slot for rounding.
EDGE_TOLERANCE = 1e-3
#: Counter room for the bit of a ``BitWise`` pass (``sub = pass << 5 | bit``).
BIT_SHIFT = 5


@dataclasses.dataclass(frozen=True)
class PulsePass:
    """One pass of pulse-width-modulated inputs through the crossbar.

    Attributes:
        v: ``[N, in]`` the pass's inputs (in input units, like the DAC's output).
        slot: the slot width ``d`` (input units).
        slots: the number of slots ``T``.
        weight: the pass's digital weight in the sum of the passes.
        part: its index (the ADC's counter part).
    """

    v: Tensor
    slot: float
    slots: int
    weight: float
    part: int


def _levels(v: Tensor, step: float) -> Tensor:
    """``v / step``, snapped to the nearest integer where it is one up to rounding."""
    m = v / step
    mr = torch.round(m)
    return torch.where((m - mr).abs() <= 1e-4, mr, m)


def _pass(v: Tensor, step: float, full: int, scale: float, weight: float, part: int) -> PulsePass:
    """A pass whose window is ``full`` DAC steps, cut into ``int(full * scale)`` slots."""
    slots = max(1, int(full * scale))
    return PulsePass(v, step * full / slots, slots, weight, part)


def pulse_passes(io: IOParametersIRDropT, v: Tensor) -> list[PulsePass]:
    """The passes of ``io.mv_type`` for the DAC outputs ``v``
    (docs/physics/periphery.md#split-and-bit-wise-passes)."""
    mode = AnalogMVType(io.mv_type)
    scale = float(io.ir_drop_time_step_resolution_scale)
    step = float(io.inp_step)
    if mode == AnalogMVType.ONE_PASS:  # (validated: a DAC grid, step > 0)
        full = math.floor(input_levels(io) + 1e-9) + 1
        return [_pass(v, step, full, scale, 1.0, 0)]
    m = _levels(v, step)
    if mode == AnalogMVType.SPLIT_MODE:
        shift = int(io.split_mode_bit_shift)
        n = round(math.log2(2.0 * input_levels(io)))
        high = torch.sign(m) * torch.floor(m.abs() / 2**shift)
        low = m - high * 2**shift
        return [
            _pass(low * step, step, 2**shift, scale, 1.0, 0),
            _pass(high * step, step, 2 ** (n - 1 - shift), scale, float(2**shift), 1),
        ]
    # BitWise: integer levels, one pass per bit (sign kept), two slots each.
    passes = []
    for bit in range(pulse_bits(io)):
        low = torch.fmod(m, 2.0)
        m = torch.sign(m) * torch.floor(m.abs() / 2.0)
        passes.append(PulsePass(low * step, step, 2, float(2**bit), bit))
    return passes


def pulse_counts(v: Tensor, slot: float, slots: int) -> Tensor:
    """``sign(v)`` times the slots ``k = 0 .. slots-1`` with ``|v| > k slot``."""
    count = torch.ceil(v.abs() / slot - EDGE_TOLERANCE).clamp_(0.0, float(slots))
    return torch.sign(v) * count


@dataclasses.dataclass(frozen=True)
class ColumnModel:
    """The crossbar's columns reduced to ``y = (q d) @ weight - (T d) leak``.

    Attributes:
        weight: ``[in, out]`` float32, the effective weight (in weight units) of a pulse
            count times the slot width.
        leak: ``[out]`` float32, the output per unit of read time from ``v_read - 0.4``.
    """

    weight: Tensor
    leak: Tensor


def check_geometry(io: IOParametersIRDropT, rows: int, phys_rows: int) -> int:
    """The physical rows (``phys_rows``, or ``rows`` when 0), checked against the tile's
    ``rows`` and ``io.ir_drop_segments``."""
    phys = phys_rows or rows
    if rows > phys:
        raise ValueError(
            f"the tile has {rows} rows, more than the {phys} physical rows of the IR drop; "
            "allowed: at most mapping.max_input_size rows per tile"
        )
    segments = int(io.ir_drop_segments)
    if phys % segments:
        raise ValueError(
            f"{type(io).__name__}.ir_drop_segments={segments} does not divide the {phys} "
            f"physical rows of the tile; allowed: a divisor of {phys} (or set "
            "mapping.max_input_size to a multiple of ir_drop_segments)"
        )
    return phys


def _factors(converter: object, n_pairs: int) -> tuple[float, ...]:
    factors = getattr(converter, "f_lst", None)
    if factors is None:
        factors = (1.0,) if n_pairs == 1 else ()
    if len(factors) != n_pairs:
        raise ValueError(
            f"g_converter={type(converter).__name__} has {len(factors)} factors (f_lst) for "
            f"{n_pairs} device pairs; allowed: one factor per pair"
        )
    return tuple(float(f) for f in factors)


def _pair_terms(
    converter: object, matrix: Tensor, phys: int, segments: int, top: int
) -> tuple[list[tuple[Tensor, Tensor, float]], Tensor]:
    """Per device pair ``k``: its segments' conductance ``[S, out]`` (float64, uS), its
    share ``f_k (g+_k - g-_k) / scale`` of the weight ``[in, out]`` and ``f_k``; and the
    converter's ``scale``. The tile's rows sit at ``top`` of ``phys`` rows, the others hold
    the converter's zero weight."""
    rows, cols = matrix.shape
    per_segment = phys // segments
    if type(converter) is SinglePairConductanceConverter:
        # One pair: g+ - g- = scale W and g+ + g- = scale |W| + 2 g_min, no matrices needed.
        magnitude = matrix.abs()
        peak = magnitude.max().clamp(min=ZERO_CLIP)  # as the converter's scale
        scale = ((converter.g_max - converter.g_min) / peak).to(torch.float32)
        segment = (torch.arange(rows, device=matrix.device) + top) // per_segment
        g_abs = torch.zeros(segments, cols, dtype=torch.float32, device=matrix.device)
        g_abs.index_add_(0, segment, magnitude)
        g_seg = g_abs.to(torch.float64) * float(scale) + 2.0 * converter.g_min * per_segment
        return [(g_seg, matrix, 1.0)], scale
    padded = torch.zeros(phys, cols, dtype=torch.float32, device=matrix.device)
    padded[top : top + rows] = matrix
    conductances, scale = converter.to_conductances(padded)  # type: ignore[attr-defined]
    if len(conductances) % 2:
        raise ValueError(
            f"g_converter={type(converter).__name__} gives {len(conductances)} conductance "
            "matrices; the time-dependent IR drop needs device pairs (allowed: "
            "SinglePair, DualPair, NPair or CustomPair converters)"
        )
    terms = []
    for k, factor in enumerate(_factors(converter, len(conductances) // 2)):
        g_plus, g_minus = conductances[2 * k], conductances[2 * k + 1]
        total = (g_plus + g_minus).reshape(segments, per_segment, cols).sum(1)
        share = (g_plus - g_minus)[top : top + rows] * (factor / scale)
        terms.append((total.to(torch.float64), share, factor))
    return terms, scale


def _chain(g_seg: Tensor, r_wire: float) -> tuple[Tensor, Tensor]:
    """Thevenin chain of segment conductances ``g_seg`` ``[S, out]`` (float64), ordered
    from the far end to the ADC: the weights ``c_s`` of the segments' source currents in
    the column's Thevenin voltage, and its resistance ``r_th`` (megaohm)."""
    segments = g_seg.shape[0]
    r = 1.0 / g_seg[0]
    rs = [r]
    ratios = []
    for s in range(1, segments):
        r1 = r + r_wire
        r2 = 1.0 / g_seg[s]
        r = r1 * r2 / (r1 + r2)  # the chain so far in parallel with segment s
        ratios.append(r / r1)
        rs.append(r)
    c = torch.stack(rs)
    if ratios:
        # c_s = r_s prod_{s' > s} r_s' / (r_s'-1 + r_wire): the later segments' division.
        tail = torch.stack(ratios).flip(0).cumprod(0).flip(0)
        c[:-1] = c[:-1] * tail
    return c, r + 0.5 * r_wire


def column_model(
    io: IOParametersIRDropT, matrix: Tensor, phys_rows: int, converter: object
) -> ColumnModel:
    """The effective weight and leak of ``matrix`` ``[in, out]`` on a tile of
    ``phys_rows`` rows (the inputs padded symmetrically) with ``io``'s wire resistance,
    segments and read voltage; conductances by ``converter``."""
    rows, cols = matrix.shape
    phys = check_geometry(io, rows, phys_rows)
    segments = int(io.ir_drop_segments)
    per_segment = phys // segments
    top = (phys - rows) // 2
    weights = matrix.detach().to(torch.float32).contiguous()  # row-wise work below
    terms, scale = _pair_terms(converter, weights, phys, segments, top)
    r_wire = OHM * float(io.ir_drop) * float(io.ir_drop_rs) * per_segment
    v_leak = float(io.ir_drop_v_read) - V_IDLE
    odd = torch.arange(cols, device=matrix.device) % 2 == 1
    segment = (torch.arange(rows, device=matrix.device) + top) // per_segment
    weight: Tensor | None = None
    leak = torch.zeros(cols, dtype=torch.float64, device=matrix.device)
    for g_seg, share, factor in terms:
        # The chain in float64 per segment and column; odd columns are read at row 0, so
        # their chain runs the other way.
        c, r_th = _chain(torch.where(odd, g_seg.flip(0), g_seg) + G_FLOOR, r_wire)
        c = torch.where(odd, c.flip(0), c) / r_th
        part = share * torch.index_select(c.to(torch.float32), 0, segment)
        weight = part if weight is None else weight + part
        leak += factor * v_leak / (V_SWING * r_th * float(scale))
    assert weight is not None
    return ColumnModel(weight, leak.to(torch.float32))


def pass_output(p: PulsePass, model: ColumnModel) -> Tensor:
    """One pass's MAC: ``(q d) @ weight - T d leak`` with the pass's pulse counts ``q``."""
    q = pulse_counts(p.v, p.slot, p.slots)
    y = torch.mm(q * p.slot, model.weight)
    return y - (p.slots * p.slot) * model.leak


def default_converter() -> object:
    """The converter of a tile that names none: one pair per weight, 0 to 25 uS."""
    return SinglePairConductanceConverter()

"""The time-dependent IR drop solved slot by slot, the way docs/physics/periphery.md
states it (independent of ``aihw.core.ir_drop_time``, which sums the slots in closed
form): per slot, every cross-point a Thevenin source, each segment their parallel
combination, the segments chained through the wire from the far end to the ADC."""

from __future__ import annotations

import torch


def single_pair(w: torch.Tensor, g_max: float = 25.0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(g+, g-, scale)`` of one pair per weight, ``max|W|`` at ``g_max`` (g_min = 0)."""
    scale = g_max / float(w.abs().max())
    return (w * scale).clamp(min=0.0), (-w * scale).clamp(min=0.0), scale


def column_slot_current(
    v: torch.Tensor,
    gp: torch.Tensor,
    gm: torch.Tensor,
    t: float,
    segments: int,
    r_wire: float,
    v_read: float,
) -> float:
    """The current (uA) into the ADC of one column in the slot starting at ``t``: rows
    ``v``, ``gp``, ``gm`` ordered from the far end to the ADC."""
    rows = v.shape[0]
    per = rows // segments
    v_th = r_th = 0.0
    for s in range(segments):
        g_total = 1e-12
        source = 0.0  # sum of g * V over the segment's devices
        for j in range(s * per, (s + 1) * per):
            x, g_plus, g_minus = float(v[j]), float(gp[j]), float(gm[j])
            if abs(x) > t + 1e-6:  # float32 inputs on a slot edge are not on
                high, low = (g_plus, g_minus) if x > 0 else (g_minus, g_plus)
                source += 0.6 * high + 0.2 * low
            else:
                source += 0.4 * (g_plus + g_minus)
            g_total += g_plus + g_minus
        if s == 0:
            v_th, r_th = source / g_total, 1.0 / g_total
            continue
        r1 = r_th + r_wire  # the chain so far, through the wire to this segment
        r2 = 1.0 / g_total
        r = r1 * r2 / (r1 + r2)
        v_th = (v_th / r1 + (source / g_total) / r2) * r
        r_th = r
    r_th += 0.5 * r_wire
    return (v_th - v_read) / r_th


def slot_by_slot(
    v: torch.Tensor,
    w: torch.Tensor,
    *,
    slot: float,
    slots: int,
    segments: int,
    phys_rows: int,
    r_wire_ohm_per_row: float,
    v_read: float,
    g_max: float = 25.0,
) -> torch.Tensor:
    """``[N, out]``: the pass of inputs ``v`` ``[N, in]`` through ``w`` ``[in, out]``,
    ``slots`` slots of width ``slot``, normalised to weight units."""
    v, w = v.double(), w.double()
    n, m = w.shape
    top = (phys_rows - n) // 2
    wp = torch.zeros(phys_rows, m, dtype=torch.float64)
    wp[top : top + n] = w
    vp = torch.zeros(v.shape[0], phys_rows, dtype=torch.float64)
    vp[:, top : top + n] = v
    gp, gm, scale = single_pair(wp, g_max)
    r_wire = 1e-6 * r_wire_ohm_per_row * (phys_rows // segments)
    out = torch.zeros(v.shape[0], m, dtype=torch.float64)
    for b in range(v.shape[0]):
        for c in range(m):
            # even columns: the ADC at the last row (south); odd: at the first (north)
            xs, gps, gms = vp[b], gp[:, c], gm[:, c]
            if c % 2:
                xs, gps, gms = xs.flip(0), gps.flip(0), gms.flip(0)
            total = sum(
                column_slot_current(xs, gps, gms, k * slot, segments, r_wire, v_read)
                for k in range(slots)
            )
            out[b, c] = total * slot / (0.2 * scale)
    return out

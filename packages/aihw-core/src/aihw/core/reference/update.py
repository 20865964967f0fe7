"""Plain-torch pulsed update (engine contract §3-§6): the twin of
:func:`aihw.core.engine.pulsed_update`.

Everything here follows the engine contract rule by rule, on CPU or CUDA tensors, so that
tests can compare the compiled engine against it for the same seed. It is also the update
path of devices whose step law exists only in Python, so it is generic in the law: the
law's ``reference_step`` does every pulse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from ..laws import StepLaw
from ..parameters import PulseType, UpdateParameters
from .philox import (
    MASK32,
    key_from_seed,
    periphery_normals_from_words,
    philox_words,
    uniform_from_words,
)

__all__ = [
    "pulse_scales",
    "pulse_coincidences",
    "deterministic_counts",
    "pulse_counts",
    "pulsed_update",
    "STREAM_X",
    "STREAM_D",
    "STREAM_C2C",
    "STREAM_ROUND_X",
    "STREAM_ROUND_D",
    "SEQUENCE_NORMALS",
    "sequence_columns",
]

#: Streams live in the top 4 bits of the counter's last word (contract §2).
STREAM_X, STREAM_D, STREAM_C2C, STREAM_ROUND_X, STREAM_ROUND_D = 1, 2, 3, 4, 5


def pulse_scales(
    x_max: float, d_max: float, lr: float, granularity: float, update: UpdateParameters
) -> tuple[int, float, float] | None:
    """Pulse-train length and scales ``(BL, A, B)`` of one sample (contract §3, steps 1-3).

    Args:
        x_max: ``max_j |x_j|`` of the sample.
        d_max: ``max_i |d_i|`` of the sample.
        lr: the learning rate (> 0).
        granularity: the device granularity ``g``.
        update: the update parameters.

    Returns:
        ``(BL, A, B)``, or ``None`` when the sample does nothing (``x_max`` or ``d_max`` 0).
    """
    if x_max == 0.0 or d_max == 0.0:
        return None
    ublm = update.update_bl_management
    um = update.update_management or ublm
    desired = update.desired_bl
    g = granularity
    if update.fixed_bl or ublm or not g * desired < lr:
        bl = desired
        a = b = math.sqrt(lr / (g * bl))
    else:
        bl = max(math.ceil(lr / g), 1)
        a = b = 1.0
    if um:
        dv = update.um_grad_scale * d_max
        k = lr * x_max * dv / g
        if ublm:
            # min(ceil(k), desired) without ceil of a huge (or infinite) k
            bl = desired if k >= desired else max(math.ceil(k), 1)
            a = b = math.sqrt(lr / (g * bl))
        if k > desired:
            dv = dv * desired / k
        a = a * math.sqrt(x_max / dv)
        b = b * math.sqrt(dv / x_max)
    return bl, a, b


def _probabilities(
    values: torch.Tensor,
    scale: torch.Tensor,
    update: UpdateParameters,
    stream: int,
    samples: torch.Tensor,
    update_index: int,
    key: tuple[int, int],
    res: float | None = None,
) -> torch.Tensor:
    """``Q(|v| * scale)`` per element (contract §3 step 4), float64 ``[n, size]``.

    ``values`` is ``[n, size]``, ``scale`` float64 ``[n, 1]``, ``samples`` int64 ``[n, 1]``.
    ``res`` is the bin width (default: ``update.res``).
    """
    v = values.abs().to(torch.float64) * scale
    res = update.res if res is None else res
    if res <= 0:
        return v
    if update.sto_round:
        idx = torch.arange(values.shape[1], dtype=torch.int64, device=values.device)
        words = philox_words(idx.unsqueeze(0), samples, update_index, stream << 28, *key)[0]
        return res * torch.round(v / res + (uniform_from_words(words) - 0.5))
    return res * torch.round(v / res)


def _fired(
    values: torch.Tensor,
    prob: torch.Tensor,
    bl: torch.Tensor,
    bl_max: int,
    stream: int,
    samples: torch.Tensor,
    update_index: int,
    key: tuple[int, int],
) -> torch.Tensor:
    """Boolean ``[n, size, bl_max]``: slot ``t`` of element ``j`` fires (contract §3 step 5).

    Slot ``t`` of element ``j`` of a sample with train length ``BL`` (``bl`` int64
    ``[n, 1]``) reads word ``L % 4`` of train block ``L // 4``, ``L = j * BL + t``; slots
    ``t >= BL`` never fire.
    """
    n, size = values.shape
    dev = values.device
    start = torch.arange(size, dtype=torch.int64, device=dev).view(1, size, 1) * bl.view(n, 1, 1)
    # the blocks from element j's first one: enough for BL slots at any offset in a block
    blocks = (bl_max + 3) // 4 + 1
    q = (start >> 2) + torch.arange(blocks, dtype=torch.int64, device=dev).view(1, 1, blocks)
    c3 = (stream << 28) | (q >> 32)
    words = torch.stack(
        philox_words(q & MASK32, samples.view(n, 1, 1), update_index, c3, *key), dim=-1
    ).reshape(n, size, blocks * 4)
    slots = torch.arange(bl_max, device=dev).view(1, 1, bl_max)
    u = uniform_from_words(torch.gather(words, 2, (start & 3) + slots))
    fired = u < prob.unsqueeze(2)
    fired &= (values != 0).unsqueeze(2)  # an element with value 0 never fires
    fired &= slots < bl.view(n, 1, 1)
    return fired


def pulse_coincidences(
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    granularity: float,
    update: UpdateParameters,
    seed: int,
    update_index: int,
    first_sample: int = 0,
) -> torch.Tensor:
    """Coincidence counts ``n_ij`` of each sample (contract §3 steps 1-6).

    Args:
        x: float32 ``[batch, x_size]``, the inputs.
        d: float32 ``[batch, d_size]``, the errors.
        lr, granularity, update: as in :func:`pulsed_update_reference`.
        seed: the tile seed (Philox key).
        update_index: the tile's update counter (32 bits).
        first_sample: the sample index ``b`` of the first row (rows count on from it).

    Returns:
        int64 ``[batch, d_size, x_size]``; zeros for samples that do nothing.
    """
    key = key_from_seed(seed)
    update_index &= MASK32
    batch, d_size, x_size = x.shape[0], d.shape[1], x.shape[1]
    counts = torch.zeros(batch, d_size, x_size, dtype=torch.int64, device=x.device)
    rows, scales = _scaled_samples(x, d, lr, granularity, update)
    if not rows:
        return counts
    # Chunks of samples keep the pulse trains and counts to a few million elements.
    bl_all = max(s[0] for s in scales)
    chunk = max(1, (1 << 22) // max((x_size + d_size) * bl_all, d_size * x_size))
    for lo in range(0, len(rows), chunk):
        part = rows[lo : lo + chunk]
        sc = scales[lo : lo + chunk]
        dev = x.device
        sel = torch.tensor(part, dtype=torch.int64, device=dev)
        samples = (sel + first_sample).unsqueeze(1)
        bl = torch.tensor([s[0] for s in sc], dtype=torch.int64, device=dev).unsqueeze(1)
        a = torch.tensor([s[1] for s in sc], dtype=torch.float64, device=dev).unsqueeze(1)
        b_scale = torch.tensor([s[2] for s in sc], dtype=torch.float64, device=dev).unsqueeze(1)
        bl_max = max(s[0] for s in sc)
        xs, ds = x[sel], d[sel]
        p_x = _probabilities(xs, b_scale, update, STREAM_ROUND_X, samples, update_index, key)
        p_d = _probabilities(ds, a, update, STREAM_ROUND_D, samples, update_index, key)
        fx = _fired(xs, p_x, bl, bl_max, STREAM_X, samples, update_index, key)
        fd = _fired(ds, p_d, bl, bl_max, STREAM_D, samples, update_index, key)
        # Counts are sums of 0/1 products: exact in float64.
        n = torch.bmm(fd.to(torch.float64), fx.to(torch.float64).transpose(1, 2))
        counts[sel] = n.to(torch.int64)
    return counts


def _scaled_samples(
    x: torch.Tensor, d: torch.Tensor, lr: float, granularity: float, update: UpdateParameters
) -> tuple[list[int], list[tuple[int, float, float]]]:
    """Per-sample ``(rows, BL, A, B)`` of the samples that do something (contract §3 1-3)."""
    batch, d_size, x_size = x.shape[0], d.shape[1], x.shape[1]
    x_max = x.abs().amax(dim=1).tolist() if x_size else [0.0] * batch
    d_max = d.abs().amax(dim=1).tolist() if d_size else [0.0] * batch
    rows, scales = [], []
    for b in range(batch):
        found = pulse_scales(x_max[b], d_max[b], lr, granularity, update)
        if found is not None:
            rows.append(b)
            scales.append(found)
    return rows, scales


def deterministic_counts(
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    granularity: float,
    update: UpdateParameters,
    seed: int,
    update_index: int,
    first_sample: int = 0,
) -> torch.Tensor:
    """Pulse counts ``|n_ij|`` of ``DeterministicImplicit`` and ``MeanCount`` (contract §6).

    Arguments and result as in :func:`pulse_coincidences`; the directions follow the signs
    of ``x`` and ``d`` exactly as for the stochastic types.
    """
    key = key_from_seed(seed)
    update_index &= MASK32
    batch, d_size, x_size = x.shape[0], d.shape[1], x.shape[1]
    counts = torch.zeros(batch, d_size, x_size, dtype=torch.int64, device=x.device)
    rows, scales = _scaled_samples(x, d, lr, granularity, update)
    if not rows:
        return counts
    dev = x.device
    sel = torch.tensor(rows, dtype=torch.int64, device=dev)
    samples = (sel + first_sample).unsqueeze(1)
    bl = torch.tensor([s[0] for s in scales], dtype=torch.float64, device=dev).unsqueeze(1)
    a = torch.tensor([s[1] for s in scales], dtype=torch.float64, device=dev).unsqueeze(1)
    b_scale = torch.tensor([s[2] for s in scales], dtype=torch.float64, device=dev).unsqueeze(1)
    xs, ds = x[sel], d[sel]
    if update.pulse_type == PulseType.DETERMINISTIC_IMPLICIT:
        q_x = _probabilities(
            xs, b_scale, update, STREAM_ROUND_X, samples, update_index, key, update.x_res_implicit
        ).clamp(0.0, 1.0)
        q_d = _probabilities(
            ds, a, update, STREAM_ROUND_D, samples, update_index, key, update.d_res_implicit
        ).clamp(0.0, 1.0)
        # n = rint((BL * q_d) * q_x), in double
        n = torch.round((bl * q_d).unsqueeze(2) * q_x.unsqueeze(1))
    elif update.pulse_type == PulseType.MEAN_COUNT:
        p_x = _probabilities(xs, b_scale, update, STREAM_ROUND_X, samples, update_index, key)
        p_d = _probabilities(ds, a, update, STREAM_ROUND_D, samples, update_index, key)
        c_x = torch.minimum(torch.round(bl * p_x).clamp(min=0.0), bl)
        c_d = torch.minimum(torch.round(bl * p_d).clamp(min=0.0), bl)
        # n = rint((c_d * c_x) / BL), in double (the products are exact integers)
        n = torch.round((c_d.unsqueeze(2) * c_x.unsqueeze(1)) / bl.unsqueeze(2))
    else:
        raise ValueError(
            f"deterministic_counts: pulse_type={update.pulse_type!r} is not deterministic"
        )
    n = n * ((xs != 0).unsqueeze(1) & (ds != 0).unsqueeze(2))
    counts[sel] = n.to(torch.int64)
    return counts


def pulse_counts(
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    granularity: float,
    update: UpdateParameters,
    seed: int,
    update_index: int,
    first_sample: int = 0,
) -> torch.Tensor:
    """Pulse counts ``|n_ij|`` of each sample for the update's pulse type.

    ``StochasticCompressed`` and ``Stochastic`` give :func:`pulse_coincidences` (the same
    numbers for both), ``DeterministicImplicit`` and ``MeanCount``
    :func:`deterministic_counts`. Arguments and result as in :func:`pulse_coincidences`.
    """
    if update.pulse_type in (PulseType.DETERMINISTIC_IMPLICIT, PulseType.MEAN_COUNT):
        return deterministic_counts(x, d, lr, granularity, update, seed, update_index, first_sample)
    if update.pulse_type in (PulseType.STOCHASTIC_COMPRESSED, PulseType.STOCHASTIC):
        return pulse_coincidences(x, d, lr, granularity, update, seed, update_index, first_sample)
    raise ValueError(
        f"pulse_counts: pulse_type={PulseType(update.pulse_type).value!r} sends no pulses (an exact update)"
    )


def pulsed_update(
    weights: torch.Tensor,
    x: torch.Tensor,
    d: torch.Tensor,
    law: StepLaw,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    lr: float,
    granularity: float,
    update: UpdateParameters,
    seed: int,
    update_index: int,
    pulsed_mask: torch.Tensor | None = None,
    num_threads: int = 0,
) -> int:
    """The pulsed update of contract §3-§4 (§6 for the deterministic pulse types), in
    place on ``weights``.

    Args:
        weights: float32 ``[d_size, x_size]``, updated in place.
        x: float32 ``[batch, x_size]``, the inputs (bias column included).
        d: float32 ``[batch, d_size]``, the errors dL/dy.
        law: the step law applying each pulse.
        arrays: the law's per-cross-point float32 ``[d_size, x_size]`` arrays.
        scalars: the law's scalar parameters.
        lr: the learning rate, ``>= 0`` (0 does nothing).
        granularity: the device granularity ``g`` (> 0).
        update: the update parameters.
        seed: the tile seed, ``0 <= seed < 2**64``.
        update_index: the tile's update counter.
        pulsed_mask: optional bool ``[d_size, x_size]``, overwritten: true for every
            cross-point that received at least one pulse (contract §10).
        num_threads: unused (the compiled twin's thread count; results never depend on it).

    Returns:
        The number of pulses applied (each coincidence counts one).
    """
    d_size, x_size = weights.shape
    if x.dim() != 2 or x.shape[1] != x_size or d.dim() != 2 or d.shape != (x.shape[0], d_size):
        raise ValueError(
            f"pulsed_update: x {tuple(x.shape)} and d {tuple(d.shape)} do not fit "
            f"weights {tuple(weights.shape)}"
        )
    if pulsed_mask is not None:
        pulsed_mask.fill_(False)
    if lr == 0.0:
        return 0
    update_index &= MASK32
    key = key_from_seed(seed)
    noisy = bool(law.noise_scalar) and float(scalars.get(law.noise_scalar, 0.0)) != 0.0
    # Work on flat contiguous views; copied back at the end if weights are strided.
    w_flat = weights.contiguous().view(-1)
    flat_arrays = {name: arrays[name].reshape(-1) for name in law.arrays}
    total = 0
    # Counts are computed for chunks of samples, then their pulses applied in order.
    chunk = max(1, (1 << 22) // (d_size * x_size))
    for lo in range(0, x.shape[0], chunk):
        xs, ds = x[lo : lo + chunk], d[lo : lo + chunk]
        counts = pulse_counts(
            xs, ds, lr, granularity, update, seed, update_index, first_sample=lo
        ).view(xs.shape[0], -1)
        if pulsed_mask is not None:
            pulsed_mask.view(-1).logical_or_(counts.any(dim=0))
        # s = sign(x) sign(d) > 0 is a DOWN pulse; s < 0 an UP pulse.
        up = ((torch.sign(ds).unsqueeze(2) * torch.sign(xs).unsqueeze(1)) < 0).view(xs.shape[0], -1)
        # The columns sharing a sequence of normals, per sample (contract §2).
        columns = _sequence_columns(xs, ds, lr, granularity, update)
        per_sample = counts.sum(dim=1).tolist()
        first = 0
        while first < len(per_sample):
            # Groups of whole samples with at most ~4M pulses (at least one sample).
            last, pulses = first + 1, per_sample[first]
            while last < len(per_sample) and pulses + per_sample[last] <= (1 << 22):
                pulses += per_sample[last]
                last += 1
            if pulses:
                _apply_pulses(
                    w_flat,
                    x_size,
                    counts[first:last],
                    up[first:last],
                    columns[first:last],
                    lo + first,
                    law,
                    flat_arrays,
                    scalars,
                    noisy,
                    update_index,
                    key,
                )
            total += pulses
            first = last
    if not weights.is_contiguous():  # w_flat is a copy
        weights.copy_(w_flat.view(d_size, x_size))
    return total


#: The most normals one sequence addresses: a 28-bit block index, four normals a block.
SEQUENCE_NORMALS = 1 << 30


def sequence_columns(bl: int) -> int:
    """Columns of a row that share one sequence of normals in a sample with pulse trains of
    ``bl`` slots (contract §2): the largest power of two ``G`` with ``G * bl <= 2**30``."""
    g = 1
    while 2 * g * max(bl, 1) <= SEQUENCE_NORMALS:
        g *= 2
    return g


def _sequence_columns(
    x: torch.Tensor, d: torch.Tensor, lr: float, granularity: float, update: UpdateParameters
) -> torch.Tensor:
    """int64 ``[batch]``: :func:`sequence_columns` of each sample's BL (1 where the sample
    does nothing)."""
    columns = torch.ones(x.shape[0], dtype=torch.int64, device=x.device)
    rows, scales = _scaled_samples(x, d, lr, granularity, update)
    for row, (bl, _, _) in zip(rows, scales, strict=True):
        columns[row] = sequence_columns(bl)
    return columns


def _apply_pulses(
    w_flat: torch.Tensor,
    x_size: int,
    counts: torch.Tensor,
    up: torch.Tensor,
    columns: torch.Tensor,
    first_sample: int,
    law: StepLaw,
    flat_arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    noisy: bool,
    update_index: int,
    key: tuple[int, int],
) -> None:
    """Apply the pulses of consecutive samples (contract §3 steps 6-7), in order.

    ``counts`` and ``up`` are ``[samples, d_size * x_size]``, ``columns`` int64
    ``[samples]`` (:func:`sequence_columns` of each sample). A cross-point's pulses depend
    only on its own weight, so each cross-point's pulses (sample by sample, then
    ``k = 0, 1, ...`` within a sample) are laid out in one sequence, and step ``p`` applies
    the ``p``-th pulse of every cross-point that has one: the result equals applying the
    samples one after another.

    The cycle-to-cycle normals (contract §2): in sample ``b``, the pulses of row ``i`` at the
    columns of one group ``[G * m, G * (m + 1))`` read one sequence keyed by the group's
    first cross-point ``i * x_size + G * m``, cross-points in column order, each one's
    pulses in order; ordinal ``o`` is normal ``o % 4`` of block
    ``(key, b, update_index, 3 << 28 | o // 4)``.
    """
    per_elem = counts.T  # [elements, samples]: pulses come out element by element
    elems, rows = torch.nonzero(per_elem, as_tuple=True)
    n = per_elem[elems, rows]
    run = torch.repeat_interleave(torch.arange(n.numel(), device=n.device), n)
    # k: the pulse's index within its (sample, cross-point) run.
    k = torch.arange(run.numel(), device=n.device) - (n.cumsum(0) - n)[run]
    pulse_up = up[rows, elems][run]
    xi_all = None
    if noisy:
        # Each (sample, cross-point)'s first ordinal: the pulses before it in its row group.
        samples = counts.shape[0]
        by_row = counts.view(samples, -1, x_size)
        before = (by_row.cumsum(dim=2) - by_row).view(samples, -1)
        g = columns[rows]
        row_start = elems - elems % x_size
        sequence = row_start + ((elems - row_start) // g) * g
        first = before[rows, elems] - before[rows, sequence]
        ordinal = first[run] + k
        words = torch.stack(
            philox_words(
                sequence[run],
                rows[run] + first_sample,
                update_index,
                (STREAM_C2C << 28) | (ordinal >> 2),
                *key,
            ),
            dim=-1,
        )
        normals = periphery_normals_from_words(words)
        xi_all = normals.gather(1, (ordinal & 3).unsqueeze(1)).squeeze(1)
    total = per_elem.sum(dim=1)
    active = torch.nonzero(total).squeeze(1)
    remaining = total[active]
    first = (total.cumsum(0) - total)[active]  # where each cross-point's sequence starts
    for p in range(int(remaining.max())):
        keep = remaining > p
        if not bool(keep.all()):
            active, remaining, first = active[keep], remaining[keep], first[keep]
        pulse = first + p
        xi = None if xi_all is None else xi_all[pulse]
        sel_arrays = {name: arr[active] for name, arr in flat_arrays.items()}
        new = law.reference_step(w_flat[active], pulse_up[pulse], sel_arrays, scalars, xi)
        w_flat[active] = new.to(torch.float32)

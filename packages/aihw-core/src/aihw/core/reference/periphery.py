"""Plain-torch periphery stages (engine contract §8): the twins of
:func:`aihw.core.engine.input_stage`, :func:`aihw.core.engine.output_stage` and
:func:`aihw.core.engine.row_abs_max`.

They compute, element by element and in the same float32 operations, what the compiled
stages compute, and draw the same random numbers; they also run wherever the compiled
engine cannot (CUDA tensors, a missing engine). ``num_threads`` is accepted for the same
signature as the compiled twins; the results never depend on it.
"""

from __future__ import annotations

import math

import torch

from .philox import key_from_seed, periphery_normals_from_words, philox_words

__all__ = [
    "STREAMS_FORWARD",
    "STREAMS_BACKWARD",
    "periphery_words",
    "input_stage",
    "output_stage",
    "row_abs_max",
]

#: Streams (top 4 bits of c3): input noise, output noise, input rounding, output rounding,
#: weight noise.
STREAMS_FORWARD = {"inp_noise": 6, "out_noise": 7, "inp_round": 10, "out_round": 11, "w_noise": 12}
STREAMS_BACKWARD = {"inp_noise": 8, "out_noise": 9, "inp_round": 13, "out_round": 14, "w_noise": 15}


def periphery_words(
    seed: int,
    n_cols: int,
    row_ids: torch.Tensor,
    call_index: int,
    stream: int,
    sub: int,
) -> torch.Tensor:
    """Philox blocks ``[rows, ceil(n_cols / 4), 4]`` for counters
    ``(k, row_ids[r], call_index, stream << 28 | sub)``, ``k`` the block index."""
    k0, k1 = key_from_seed(seed)
    device = row_ids.device
    c0 = torch.arange((n_cols + 3) // 4, dtype=torch.int64, device=device).unsqueeze(0)
    c1 = row_ids.to(torch.int64).unsqueeze(1)
    c3 = (stream << 28) | (sub & 0x0FFFFFFF)
    return torch.stack(philox_words(c0, c1, call_index & 0xFFFFFFFF, c3, k0, k1), dim=-1)


def _normals(words: torch.Tensor, n_cols: int) -> torch.Tensor:
    """Element ``j`` of a row takes normal ``j % 4`` of block ``j // 4``."""
    return periphery_normals_from_words(words).flatten(-2)[..., :n_cols]


def _rows(n_rows: int, row_ids: torch.Tensor | None, device: torch.device) -> torch.Tensor:
    if row_ids is None:
        return torch.arange(n_rows, dtype=torch.int64, device=device)
    return row_ids


def _f32(value: float, device: torch.device) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float32, device=device)


def _quantise(v: torch.Tensor, step: float, offsets: torch.Tensor | None) -> torch.Tensor:
    step_t = _f32(step, v.device)
    t = v / step_t
    if offsets is not None:
        t = t + offsets
    return torch.round(t) * step_t


def _offsets(words: torch.Tensor, n_cols: int) -> torch.Tensor:
    """Stochastic-rounding offsets ``float32(u - 0.5)``: element ``j`` takes word ``j % 4``."""
    u = words.flatten(-2)[..., :n_cols].to(torch.float64) * 2.0**-32
    return (u - 0.5).to(torch.float32)


def input_stage(
    x: torch.Tensor,
    row_scale: torch.Tensor | None,
    *,
    step: float,
    sto_round: bool,
    bound: float,
    noise: float,
    asymmetry: float,
    streams: dict[str, int],
    seed: int,
    call_index: int,
    sub: int,
    row_ids: torch.Tensor | None,
    num_threads: int = 0,
) -> torch.Tensor:
    """The input stage (DAC) of contract §8 on float32 ``x`` ``[rows, cols]``."""
    n_rows, n_cols = x.shape
    device = x.device
    rows = _rows(n_rows, row_ids, device)
    v = x if row_scale is None else x * row_scale.unsqueeze(1)
    if step > 0:
        offsets = None
        if sto_round:
            words = periphery_words(seed, n_cols, rows, call_index, streams["inp_round"], sub)
            offsets = _offsets(words, n_cols)
        v = _quantise(v, step, offsets)
    b = _f32(bound, device)
    v = torch.minimum(torch.maximum(v, -b), b)
    if noise > 0:
        words = periphery_words(seed, n_cols, rows, call_index, streams["inp_noise"], sub)
        v = v + _f32(noise, device) * _normals(words, n_cols)
    if asymmetry > 0:
        v = torch.where(v < 0, v * _f32(1.0 - asymmetry, device), v)
    return v


def output_stage(
    y: torch.Tensor,
    row_scale: torch.Tensor | None,
    *,
    step: float,
    sto_round: bool,
    bound: float,
    test_negative_bound: bool,
    noise: float,
    noise_per_output: torch.Tensor | None,
    asymmetry: float,
    w_noise_std: torch.Tensor | None,
    streams: dict[str, int],
    seed: int,
    call_index: int,
    sub: int,
    row_ids: torch.Tensor | None,
    num_threads: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The output stage (ADC) of contract §8; returns ``(y, hit)`` (``hit``: bool ``[rows]``).

    ``w_noise_std`` is ``None``, one std per row ``[rows]`` or one per element
    ``[rows, cols]``.
    """
    n_rows, n_cols = y.shape
    device = y.device
    rows = _rows(n_rows, row_ids, device)
    v = y
    if w_noise_std is not None:
        words = periphery_words(seed, n_cols, rows, call_index, streams["w_noise"], sub)
        std = w_noise_std.unsqueeze(1) if w_noise_std.dim() == 1 else w_noise_std
        v = v + std * _normals(words, n_cols)
    if asymmetry > 0:
        v = torch.where(v < 0, v * _f32(1.0 - asymmetry, device), v)
    if noise > 0 or noise_per_output is not None:
        words = periphery_words(seed, n_cols, rows, call_index, streams["out_noise"], sub)
        sigma = noise_per_output if noise_per_output is not None else _f32(noise, device)
        v = v + sigma * _normals(words, n_cols)
    if step > 0:
        offsets = None
        if sto_round:
            words = periphery_words(seed, n_cols, rows, call_index, streams["out_round"], sub)
            offsets = _offsets(words, n_cols)
        v = _quantise(v, step, offsets)
    hit = torch.zeros(n_rows, dtype=torch.bool, device=device)
    if bound > 0:
        b = _f32(bound, device)
        hit = (v > b).any(1)
        if test_negative_bound:
            hit = hit | (v < -b).any(1)
        v = torch.minimum(torch.maximum(v, -b), b)
    if row_scale is not None:
        v = v * row_scale.unsqueeze(1)
        zero = row_scale == 0  # a zero row: exactly 0 and no bound hit
        if bool(zero.any()):
            v = torch.where(zero.unsqueeze(1), torch.zeros((), device=device), v)
            hit = hit & ~zero
    return v, hit


def row_abs_max(x: torch.Tensor, num_threads: int = 0) -> torch.Tensor:
    """``max_j |x[r, j]|`` per row of float32 ``x`` ``[rows, cols]`` (abs-max noise
    management; exact, so the same as the engine's)."""
    out: torch.Tensor = torch.linalg.vector_norm(x, ord=math.inf, dim=1)
    return out

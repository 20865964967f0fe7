"""Plain-torch reference of the periphery stages (docs/architecture/engine-contract.md §8).

The two stages below compute, element by element and in the same float32 operations,
what the compiled ``periphery_input_stage`` and ``periphery_output_stage`` compute, and
draw the same random numbers; :func:`managed_mvm_reference` is the whole managed MVM
(spec A.3) on these stages. They also run wherever the compiled engine cannot (CUDA
tensors, a missing engine).
"""

from __future__ import annotations

import torch

from .reference import _philox, key_from_seed

__all__ = [
    "STREAMS_FORWARD",
    "STREAMS_BACKWARD",
    "periphery_normals_from_words",
    "periphery_words",
    "input_stage_reference",
    "output_stage_reference",
    "managed_mvm_reference",
]

_F32 = torch.float32
#: Constants of the periphery's normals, as float32 values of these doubles (contract §8).
_LN2 = 0.69314718055994530942
_HALF_PI = 1.5707963267948966192
_LOG_SERIES = (1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0)
_COS_SERIES = (-1.0 / 3628800.0, 1.0 / 40320.0, -1.0 / 720.0, 1.0 / 24.0, -1.0 / 2.0, 1.0)
_SIN_SERIES = (-1.0 / 39916800.0, 1.0 / 362880.0, -1.0 / 5040.0, 1.0 / 120.0, -1.0 / 6.0, 1.0)

#: Streams (top 4 bits of c3): input noise, output noise, input rounding, output rounding,
#: weight noise.
STREAMS_FORWARD = {"inp_noise": 6, "out_noise": 7, "inp_round": 10, "out_round": 11, "w_noise": 12}
STREAMS_BACKWARD = {"inp_noise": 8, "out_noise": 9, "inp_round": 13, "out_round": 14, "w_noise": 15}


def _horner(coefficients: tuple[float, ...], x2: torch.Tensor) -> torch.Tensor:
    """``((c0 x2 + c1) x2 + c2) ...`` in float32, one rounding per operation."""
    p = torch.full_like(x2, coefficients[0])
    for c in coefficients[1:]:
        p = p * x2 + torch.tensor(c, dtype=_F32, device=x2.device)
    return p


def _box_muller(ra: torch.Tensor, rb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two float32 normals per word pair, exactly as the engine's ``periphery_box_muller``."""
    dev = ra.device
    two_m24 = torch.tensor(2.0**-24, dtype=_F32, device=dev)
    u = ((ra >> 8) + 1).to(_F32) * two_m24
    bits = u.view(torch.int32).to(torch.int64)
    e = (((bits >> 23) & 0xFF) - 126).to(_F32)
    m = ((bits & 0x007FFFFF) | 0x3F000000).to(torch.int32).view(_F32)
    one = torch.tensor(1.0, dtype=_F32, device=dev)
    s = (m - one) / (m + one)
    p = _horner(_LOG_SERIES, s * s)
    ln_u = e * torch.tensor(_LN2, dtype=_F32, device=dev) + (s * p) * 2.0
    # torch's float32 sqrt is not always correctly rounded (1 ulp); the float64 square root
    # of a float32, rounded to float32, is: it equals the engine's correctly rounded sqrtf.
    rho = torch.sqrt(torch.clamp(ln_u * -2.0, min=0.0).to(torch.float64)).to(_F32)
    q = rb >> 30
    phi = (
        ((rb >> 6) & 0x00FFFFFF).to(_F32) * two_m24 * torch.tensor(_HALF_PI, dtype=_F32, device=dev)
    )
    x2 = phi * phi
    c = _horner(_COS_SERIES, x2)
    sn = _horner(_SIN_SERIES, x2) * phi
    cq = torch.where(q == 0, c, torch.where(q == 1, -sn, torch.where(q == 2, -c, sn)))
    sq = torch.where(q == 0, sn, torch.where(q == 1, c, torch.where(q == 2, -sn, -c)))
    return rho * cq, rho * sq


def periphery_normals_from_words(words: torch.Tensor) -> torch.Tensor:
    """The periphery's four float32 normals of each Philox block ``[..., 4]`` (int64 words).

    ``(z0, z1)`` from ``(r0, r1)``, ``(z2, z3)`` from ``(r2, r3)`` by the float32
    Box-Muller of contract §8. Returns ``[..., 4]``.
    """
    za, zb = _box_muller(words[..., 0::2], words[..., 1::2])
    return torch.stack((za, zb), dim=-1).flatten(-2)


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
    return torch.stack(_philox(c0, c1, call_index & 0xFFFFFFFF, c3, k0, k1), dim=-1)


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


def input_stage_reference(
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


def output_stage_reference(
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
    return v, hit


def managed_mvm_reference(periphery, x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """The whole managed MVM ``y = periphery(x @ matrix)`` (spec A.3) on the reference stages.

    Args:
        periphery: an :class:`aihw.core.periphery.Periphery` (its counters and running
            state advance as in a tile's pass).
        x: float32 ``[N, in]``.
        matrix: float32 ``[in, out]``.
    """
    return periphery.run(x, matrix, native=False)

"""The CUDA back-end of the compiled engine: the functions of :mod:`aihw.core.engine` for
tensors on a GPU.

Each function here has the name and signature of its CPU twin in :mod:`aihw.core.engine`
(and of the plain-torch twin in :mod:`aihw.core.reference`) and computes the same numbers
(docs/architecture/engine-contract.md §11): the same Philox counters, the same float32
operations. It checks in Python what the kernels need (dtype, contiguous, every tensor on
the same CUDA device), then hands the tensors' device addresses and torch's current stream
of that device to ``aihw.core._core``. Nothing here synchronises the device; scratch memory
is allocated through torch (its caching allocator, on the same stream).

:func:`aihw.core.engine.cuda_available` says whether these functions can run (the engine
was built with CUDA and torch sees a GPU).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import torch

from . import engine
from .laws import StepLaw
from .parameters import UpdateParameters

__all__ = [
    "philox4x32_10",
    "periphery_normals_from_words",
    "host_emulation",
    "input_stage",
    "output_stage",
    "row_abs_max",
    "decay",
    "diffuse",
    "reset_columns",
    "write_noise",
    "pulsed_update",
]

_F32 = torch.float32


def _module() -> ModuleType:
    """The compiled module, refusing a build without the CUDA kernels."""
    module = engine.load()
    if not module.cuda_compiled():
        raise RuntimeError(
            "this aihw-core was built without the CUDA kernels (no nvcc at build time, or "
            "AIHW_CUDA=OFF); rebuild it with nvcc on PATH and AIHW_CUDA=ON, or use "
            "backend='reference' for tiles on a GPU"
        )
    return module


def check(name: str, t: torch.Tensor, device: torch.device, dtype: torch.dtype = _F32) -> None:
    """Raise unless the kernels can read ``t``: ``dtype``, contiguous, on ``device`` (a CUDA
    device). The message names the tensor, what it is and what is allowed."""
    if t.device != device or t.dtype != dtype or not t.is_contiguous():
        raise ValueError(
            f"{name} must be a contiguous {dtype} tensor on {device} for the CUDA kernels; got "
            f"{t.dtype} {tuple(t.shape)} on {t.device}"
            + ("" if t.is_contiguous() else " (not contiguous)")
        )


def require(name: str, t: torch.Tensor, device: torch.device, dtype: torch.dtype = _F32) -> int:
    """The device address of ``t`` after :func:`check`."""
    check(name, t, device, dtype)
    return int(t.data_ptr())


def optional(
    name: str, t: torch.Tensor | None, device: torch.device, dtype: torch.dtype = _F32
) -> int:
    """:func:`require`, or 0 for ``None``."""
    return 0 if t is None else require(name, t, device, dtype)


def cuda_device(t: torch.Tensor, name: str) -> torch.device:
    """The CUDA device of ``t`` (the one every other tensor of the call must be on)."""
    if t.device.type != "cuda":
        raise ValueError(f"{name} must be on a CUDA device for the CUDA kernels; got {t.device}")
    return t.device


def stream(device: torch.device) -> int:
    """torch's current stream on ``device``, as the integer handle the kernels take."""
    return int(torch.cuda.current_stream(device).cuda_stream)


# -- Philox (twins: aihw.core.engine, aihw.core.reference.philox) ----------------------------
def philox4x32_10(counter: torch.Tensor, key: tuple[int, int]) -> torch.Tensor:
    """Philox4x32-10 of each block of ``counter`` (int64 ``[..., 4]`` on a CUDA device) under
    ``key``: the words as int64, like the CPU twin."""
    device = cuda_device(counter, "counter")
    words = (counter.to(torch.int64) & 0xFFFFFFFF).to(torch.int32).contiguous()
    out = torch.empty_like(words)
    n = words.numel() // 4
    k = (int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF)
    with torch.cuda.device(device):
        _module().philox4x32_10_cuda(
            require("counter", words, device, torch.int32),
            n,
            k,
            require("out", out, device, torch.int32),
            stream(device),
        )
    return out.to(torch.int64) & 0xFFFFFFFF


def periphery_normals_from_words(words: torch.Tensor) -> torch.Tensor:
    """The periphery's four float32 normals of each block of ``words`` (``[..., 4]`` on a
    CUDA device), like the CPU twin."""
    device = cuda_device(words, "words")
    w = (words.to(torch.int64) & 0xFFFFFFFF).to(torch.int32).contiguous()
    out = torch.empty(w.shape, dtype=_F32, device=device)
    with torch.cuda.device(device):
        _module().periphery_normals_cuda(
            require("words", w, device, torch.int32),
            w.numel() // 4,
            require("out", out, device),
            stream(device),
        )
    return out


# -- the periphery stages and the device operations (contract §11.2) ------------------------
# Twins: aihw.core.engine (CPU) and aihw.core.reference.periphery / .device_ops. Each call
# checks every tensor before its kernel is enqueued, so a refused call changes nothing.

_EMULATING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "aihw_cuda_host_emulation", default=False
)


@contextlib.contextmanager
def host_emulation() -> Iterator[None]:
    """Run the periphery, device-operation and update functions of this module in their host
    emulation: the kernels' own work items in a plain loop on CPU tensors (always compiled).
    For tests on machines without a GPU, which compare them with :mod:`aihw.core.engine`."""
    token = _EMULATING.set(True)
    try:
        yield
    finally:
        _EMULATING.reset(token)


class _Target:
    """Where one call runs: the kernels on ``device`` (on torch's current stream there) or,
    under :func:`host_emulation`, their emulation on the CPU."""

    def __init__(self, t: torch.Tensor, name: str) -> None:
        self.emulated = _EMULATING.get()
        if self.emulated:
            if t.device.type != "cpu":
                raise ValueError(
                    f"{name} must be a CPU tensor under host_emulation(); got {t.device}"
                )
            self.device = t.device
            self.module = engine.load()
        else:
            self.device = cuda_device(t, name)
            self.module = _module()

    def ptr(self, name: str, t: torch.Tensor, dtype: torch.dtype = _F32) -> int:
        return require(name, t, self.device, dtype)

    def opt(self, name: str, t: torch.Tensor | None, dtype: torch.dtype = _F32) -> int:
        return optional(name, t, self.device, dtype)

    def call(self, function: str, *args: Any) -> None:
        if self.emulated:
            getattr(self.module, function + "_cuda_emulated")(*args, 0)
            return
        with torch.cuda.device(self.device):
            getattr(self.module, function + "_cuda")(*args, stream(self.device))


def _shape(name: str, t: torch.Tensor | None, shape: tuple[int, ...]) -> None:
    if t is not None and tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}; got {tuple(t.shape)}")


def _matrix(name: str, t: torch.Tensor) -> tuple[int, int]:
    if t.dim() != 2:
        raise ValueError(f"{name} must be 2-D [rows, cols]; got shape {tuple(t.shape)}")
    return int(t.shape[0]), int(t.shape[1])


def input_stage(
    x: torch.Tensor,
    row_scale: torch.Tensor | None,
    *,
    step: float,
    sto_round: bool,
    bound: float,
    noise: float,
    asymmetry: float,
    streams: Mapping[str, int],
    seed: int,
    call_index: int,
    sub: int,
    row_ids: torch.Tensor | None,
    num_threads: int = 0,
) -> torch.Tensor:
    """The input stage (DAC) of contract §8 on float32 ``x`` ``[rows, cols]`` on a GPU (a
    new tensor); ``row_ids`` int32 or ``None``. ``num_threads`` is ignored."""
    target = _Target(x, "x")
    rows, cols = _matrix("x", x)
    _shape("row_scale", row_scale, (rows,))
    _shape("row_ids", row_ids, (rows,))
    x_ptr = target.ptr("x", x)
    scale_ptr = target.opt("row_scale", row_scale)
    ids_ptr = target.opt("row_ids", row_ids, torch.int32)
    config = engine.input_stage_config(step, sto_round, bound, noise, asymmetry, streams)
    out = torch.empty_like(x)
    target.call(
        "input_stage",
        config,
        x_ptr,
        target.ptr("out", out),
        rows,
        cols,
        scale_ptr,
        seed,
        call_index,
        sub,
        ids_ptr,
    )
    return out


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
    streams: Mapping[str, int],
    seed: int,
    call_index: int,
    sub: int,
    row_ids: torch.Tensor | None,
    num_threads: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The output stage (ADC) of contract §8, in place on float32 ``y`` on a GPU; returns
    ``(y, hit)`` (``hit``: uint8 ``[rows]`` on the GPU, 1 where a row hit a bound; nothing
    is copied to the host). ``num_threads`` is ignored."""
    target = _Target(y, "y")
    rows, cols = _matrix("y", y)
    _shape("row_scale", row_scale, (rows,))
    _shape("row_ids", row_ids, (rows,))
    _shape("noise_per_output", noise_per_output, (cols,))
    mode = 0
    if w_noise_std is not None:
        mode = 1 if w_noise_std.dim() == 1 else 2
        _shape("w_noise_std", w_noise_std, (rows,) if mode == 1 else (rows, cols))
    args = (
        target.ptr("y", y),
        rows,
        cols,
        target.opt("row_scale", row_scale),
        target.opt("noise_per_output", noise_per_output),
        mode,
        target.opt("w_noise_std", w_noise_std),
    )
    ids_ptr = target.opt("row_ids", row_ids, torch.int32)
    config = engine.output_stage_config(
        step, sto_round, bound, test_negative_bound, noise, asymmetry, streams
    )
    hit = torch.zeros(rows, dtype=torch.uint8, device=target.device)  # the kernel writes 1s
    target.call(
        "output_stage",
        config,
        *args,
        seed,
        call_index,
        sub,
        ids_ptr,
        target.ptr("hit", hit, torch.uint8),
    )
    return y, hit


def row_abs_max(x: torch.Tensor, num_threads: int = 0) -> torch.Tensor:
    """``max_j |x[r, j]|`` per row of float32 ``x`` ``[rows, cols]`` on a GPU: torch's
    infinity norm, one reduction pass (exact, so the same values as the CPU engine)."""
    target = _Target(x, "x")
    rows, cols = _matrix("x", x)
    target.ptr("x", x)
    if cols == 0:
        return torch.zeros(rows, dtype=_F32, device=x.device)
    out: torch.Tensor = torch.linalg.vector_norm(x, ord=math.inf, dim=1)
    return out


def _bounds(
    target: _Target, n: int, w_min: torch.Tensor | None, w_max: torch.Tensor | None
) -> tuple[int, int]:
    if (w_min is None) != (w_max is None):
        raise ValueError("w_min and w_max must be given together (or neither)")
    if w_min is None or w_max is None:
        return 0, 0
    _numel("w_min", w_min, n)
    _numel("w_max", w_max, n)
    return target.ptr("w_min", w_min), target.ptr("w_max", w_max)


def _numel(name: str, t: torch.Tensor | None, n: int) -> None:
    if t is not None and t.numel() != n:
        raise ValueError(f"{name} must have one element per weight ({n}); got {t.numel()}")


def decay(
    weights: torch.Tensor,
    decay_scale: torch.Tensor,
    reset_bias: torch.Tensor | None,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    alpha: float,
    num_threads: int = 0,
) -> None:
    """``w <- clip((w - r0) * (1 + alpha * (kappa - 1)) + r0)``, in place on a GPU
    (contract §9)."""
    target = _Target(weights, "weights")
    n = weights.numel()
    _numel("decay_scale", decay_scale, n)
    _numel("reset_bias", reset_bias, n)
    args = (
        target.ptr("weights", weights),
        n,
        target.ptr("decay_scale", decay_scale),
        target.opt("reset_bias", reset_bias),
        *_bounds(target, n, w_min, w_max),
    )
    target.call("decay_weights", *args, float(alpha))


def diffuse(
    weights: torch.Tensor,
    rate: torch.Tensor,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``w <- clip(w + rho * xi)``, in place on a GPU (contract §9)."""
    target = _Target(weights, "weights")
    n = weights.numel()
    _numel("rate", rate, n)
    args = (
        target.ptr("weights", weights),
        n,
        target.ptr("rate", rate),
        *_bounds(target, n, w_min, w_max),
    )
    target.call("diffuse_weights", *args, int(seed), call_index)


def reset_columns(
    weights: torch.Tensor,
    first_column: int,
    n_columns: int,
    reset_bias: torch.Tensor | None,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    reset_std: float,
    reset_prob: float,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """Reset columns ``[first_column, first_column + n_columns)``, in place on a GPU
    (contract §9)."""
    target = _Target(weights, "weights")
    rows, cols = _matrix("weights", weights)
    if not (0 <= first_column and 0 <= n_columns and first_column + n_columns <= cols):
        raise ValueError(
            f"columns [{first_column}, {first_column + n_columns}) are out of range; allowed: "
            f"within [0, {cols})"
        )
    n = weights.numel()
    _numel("reset_bias", reset_bias, n)
    args = (
        target.ptr("weights", weights),
        rows,
        cols,
        first_column,
        n_columns,
        target.opt("reset_bias", reset_bias),
        *_bounds(target, n, w_min, w_max),
    )
    target.call("reset_columns", *args, reset_std, reset_prob, int(seed), call_index)


def write_noise(
    visible: torch.Tensor,
    hidden: torch.Tensor,
    mask: torch.Tensor | None,
    std: float,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``visible <- hidden + std * xi`` where the bool or uint8 ``mask`` is set
    (``None``: everywhere), in place on a GPU (contract §10)."""
    target = _Target(visible, "visible")
    n = visible.numel()
    _numel("hidden", hidden, n)
    _numel("mask", mask, n)
    if mask is not None and mask.dtype not in (torch.bool, torch.uint8):
        raise ValueError(f"mask must be a bool or uint8 tensor; got {mask.dtype}")
    mask8 = None if mask is None else mask.view(torch.uint8)
    args = (
        target.ptr("visible", visible),
        target.ptr("hidden", hidden),
        n,
        target.opt("mask", mask8, torch.uint8),
    )
    target.call("write_noise", *args, std, int(seed), call_index)


# -- the pulsed update (contract §11.1; twins: aihw.core.engine, aihw.core.reference.update) --
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
) -> torch.Tensor:
    """The pulsed update of contract §3-§6 on a GPU, in place on ``weights``, as
    :func:`aihw.core.engine.pulsed_update` computes it.

    Every tensor must be contiguous, on the CUDA device of ``weights``, float32
    (``pulsed_mask``: uint8 ``[d_size, x_size]``, overwritten). ``num_threads`` is accepted
    for the CPU signature and ignored. The kernels are enqueued on torch's current stream
    and nothing waits for them: the number of pulses comes back as a 0-dim int64 tensor on
    the device (``int(...)`` waits for it). Every check runs before anything is enqueued.
    Under :func:`host_emulation` the kernels' emulation runs on CPU tensors instead.
    """
    del num_threads  # the GPU picks its own parallelism; results never depend on it
    target = _Target(weights, "weights")
    d_size, x_size = _matrix("weights", weights)
    batch, _ = _matrix("x", x)
    _shape("x", x, (batch, x_size))
    _shape("d", d, (batch, d_size))
    ptrs = []
    for name in law.arrays:
        _shape(f"arrays[{name!r}]", arrays[name], (d_size, x_size))
        ptrs.append(target.ptr(f"arrays[{name!r}]", arrays[name]))
    _shape("pulsed_mask", pulsed_mask, (d_size, x_size))
    mask_ptr = target.opt("pulsed_mask", pulsed_mask, torch.uint8)
    w_ptr = target.ptr("weights", weights)
    x_ptr = target.ptr("x", x)
    d_ptr = target.ptr("d", d)
    config = engine.update_config(law, lr, granularity, update)
    module = target.module
    flat = law.flat_scalars(scalars)
    args = (config, w_ptr, d_size, x_size, x_ptr, d_ptr, batch, law.engine_id, ptrs, flat)
    if target.emulated:
        count = module.pulsed_update_cuda_emulated(*args, int(seed), int(update_index), mask_ptr)
        return torch.tensor(count, dtype=torch.int64)
    device = target.device
    scratch_bytes = module.pulsed_update_cuda_scratch_bytes(config, d_size, x_size, batch)
    table_values = module.pulsed_update_law_table(law.engine_id, flat)
    with torch.cuda.device(device):
        table = torch.tensor(table_values, dtype=_F32, device=device) if table_values else None
        scratch = torch.empty(max(int(scratch_bytes), 1), dtype=torch.uint8, device=device)
        pulses = torch.empty((), dtype=torch.int64, device=device)
        module.pulsed_update_cuda(
            *args,
            int(seed),
            int(update_index),
            mask_ptr,
            0 if table is None else int(table.data_ptr()),
            int(scratch.data_ptr()),
            int(scratch.numel()),
            int(pulses.data_ptr()),
            stream(device),
        )
    return pulses

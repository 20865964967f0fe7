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

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import torch

from . import engine
from .laws import StepLaw
from .parameters import UpdateParameters

__all__ = [
    "philox4x32_10",
    "periphery_normals_from_words",
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


# -- the pulsed update (twins: aihw.core.engine, aihw.core.reference.update) -----------------
def _shape(name: str, t: torch.Tensor, shape: tuple[int, ...]) -> None:
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {list(shape)}; got {list(t.shape)}")


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
    :func:`aihw.core.engine.pulsed_update` computes it (contract §11.1).

    Every tensor must be contiguous, on the CUDA device of ``weights``, float32
    (``pulsed_mask``: uint8 ``[d_size, x_size]``, overwritten). ``num_threads`` is accepted
    for the CPU signature and ignored. The kernels are enqueued on torch's current stream
    and nothing waits for them: the number of pulses comes back as a 0-dim int64 tensor on
    the device (``int(...)`` waits for it). Every check runs before anything is enqueued.
    """
    del num_threads  # the GPU picks its own parallelism; results never depend on it
    device = cuda_device(weights, "weights")
    if weights.dim() != 2 or x.dim() != 2 or d.dim() != 2:
        raise ValueError(
            f"weights, x and d must be 2-D; got {weights.dim()}-D, {x.dim()}-D and {d.dim()}-D"
        )
    d_size, x_size = weights.shape
    batch = x.shape[0]
    _shape("x", x, (batch, x_size))
    _shape("d", d, (batch, d_size))
    ptrs = []
    for name in law.arrays:
        array = arrays[name]
        _shape(f"arrays[{name!r}]", array, (d_size, x_size))
        ptrs.append(require(f"arrays[{name!r}]", array, device))
    mask_ptr = 0
    if pulsed_mask is not None:
        _shape("pulsed_mask", pulsed_mask, (d_size, x_size))
        mask_ptr = require("pulsed_mask", pulsed_mask, device, torch.uint8)
    w_ptr = require("weights", weights, device)
    x_ptr = require("x", x, device)
    d_ptr = require("d", d, device)
    config = engine.update_config(law, lr, granularity, update)
    module = _module()
    flat = law.flat_scalars(scalars)
    scratch_bytes = module.pulsed_update_cuda_scratch_bytes(config, d_size, x_size, batch)
    table_values = module.pulsed_update_law_table(law.engine_id, flat)
    with torch.cuda.device(device):
        table = torch.tensor(table_values, dtype=_F32, device=device) if table_values else None
        scratch = torch.empty(max(int(scratch_bytes), 1), dtype=torch.uint8, device=device)
        pulses = torch.empty((), dtype=torch.int64, device=device)
        module.pulsed_update_cuda(
            config,
            w_ptr,
            d_size,
            x_size,
            x_ptr,
            d_ptr,
            batch,
            law.engine_id,
            ptrs,
            flat,
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

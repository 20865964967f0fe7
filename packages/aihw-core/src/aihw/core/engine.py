"""The compiled engine ``aihw.core._core``, behind functions that take torch tensors.

This is the only module that imports ``aihw.core._core`` or hands raw buffer addresses to
it. Each function checks in Python what the engine needs (float32, contiguous, on the CPU)
and then passes the tensors' addresses; the engine trusts them.

Every compiled function has its plain-torch twin in :mod:`aihw.core.reference`, by the same
name and signature, computing the same numbers:

- ``philox4x32_10``, ``normals_from_words``, ``periphery_normals_from_words``:
  :mod:`aihw.core.reference.philox`;
- ``pulsed_update``: :mod:`aihw.core.reference.update`;
- ``input_stage``, ``output_stage``, ``row_abs_max``: :mod:`aihw.core.reference.periphery`;
- ``decay``, ``diffuse``, ``reset_columns``, ``write_noise``:
  :mod:`aihw.core.reference.device_ops`.

The functions here are the CPU implementation. A CUDA back-end is a second implementation
of the same functions (same names, same signatures, tensors on the GPU); the callers pick
one by the tensors' device, as they pick between this module and the reference today, and
:func:`cuda_available` says whether it exists.

The inference fast path (:mod:`aihw.core.first_pass`) also uses the typed stage
configurations (:func:`input_stage_config`, :func:`output_stage_config`, built once per
periphery) and the first-pass calls :class:`PreparedInputStage` and
:class:`PreparedOutputStage` (their buffers bound once per input shape), which have no
twin: the general path of :class:`~aihw.core.periphery.Periphery` computes the same
numbers from the stages above.

The compiled module is imported on first use only, so ``import aihw.core`` works (with the
reference) even when it is missing or broken; :func:`load` then raises an ``ImportError``
that says what failed and how to repair the installation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from .laws import StepLaw
from .modifier_settings import ModifierSettings
from .parameters import PulseType, UpdateParameters

if TYPE_CHECKING:  # the stubs type the compiled module; at run time load() sets it
    from . import _core as _compiled
    from ._core import InputStageConfig as InputStageConfig
    from ._core import OutputStageConfig as OutputStageConfig
else:
    _compiled = None

__all__ = [
    "load",
    "native_available",
    "cuda_available",
    "law_known",
    "pulse_kind",
    "cores_busy",
    "engine_pool",
    "philox4x32_10",
    "normals_from_words",
    "periphery_normals_from_words",
    "pulsed_update",
    "update_config",
    "input_stage",
    "output_stage",
    "row_abs_max",
    "im2col_2d",
    "col2im_2d",
    "decay",
    "diffuse",
    "reset_columns",
    "write_noise",
    "modify_weights",
    "input_stage_config",
    "output_stage_config",
    "check_first_pass_buffers",
    "PreparedInputStage",
    "PreparedOutputStage",
]

_MODULE_NAME = "aihw.core._core"
_module: ModuleType | None = None
_failure: ImportError | None = None

_REINSTALL_HINT = (
    "The compiled engine of aihw-core is missing or broken. Reinstall it with "
    "`python -m pip install --force-reinstall --no-cache-dir aihw-core`; in a source "
    "checkout, rebuild it with `tools/build_core_inplace.sh`."
)
_F32 = torch.float32


# -- the compiled module ---------------------------------------------------------------
def load() -> ModuleType:
    """Return the compiled module ``aihw.core._core``, importing it once.

    Raises:
        ImportError: the module could not be imported; the message names the original
            error and how to reinstall.
    """
    global _module, _failure
    if _module is not None:
        return _module
    if _failure is None:
        try:
            _module = importlib.import_module(_MODULE_NAME)
            globals()["_compiled"] = _module  # what the functions below call
            return _module
        except ImportError as exc:  # remember: importing again would fail the same way
            _failure = exc
    raise ImportError(
        f"could not import aihw.core._core ({type(_failure).__name__}: {_failure}). "
        + _REINSTALL_HINT
    ) from _failure


def _load() -> None:
    """Import the compiled module unless it is already (raises as :func:`load`)."""
    if _module is None:
        load()


def native_available() -> bool:
    """Whether the compiled engine imports (else the plain-torch reference is used)."""
    try:
        load()
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    """Whether CUDA kernels can run: the engine was built with CUDA and torch sees a GPU."""
    return native_available() and _compiled.cuda_compiled() and torch.cuda.is_available()


def law_known(engine_id: int) -> bool:
    """Whether the compiled engine executes the step law with this engine id."""
    return native_available() and _compiled.law_info(int(engine_id)) is not None


def pulse_kind(pulse_type: str) -> int | None:
    """The engine's ``pulse_kind`` code for this pulse type (its value, e.g.
    ``"MeanCount"``), or ``None`` when it sends no pulses or the engine is missing."""
    if not native_available():
        return None
    return _compiled.pulse_kinds().get(str(pulse_type))


def engine_pool() -> str:
    """Where the engine's parallel loops run: ``"openmp"`` or ``"own"``."""
    _load()
    return str(_compiled.engine_pool())


def cores_busy() -> bool:
    """Whether the engine's parallel loops run on the calling thread alone for now: a recent
    loop on torch's OpenMP team waited for a thread the scheduler had descheduled (more
    runnable threads than cores). ``False`` without the engine."""
    return _compiled is not None and bool(_compiled.cores_busy())


# -- checks ------------------------------------------------------------------------------
def _check(name: str, t: torch.Tensor, dtype: torch.dtype = _F32) -> None:
    """Raise unless the engine can read ``t`` as ``dtype`` (contiguous, on the CPU)."""
    if not (t.dtype == dtype and t.is_cpu and t.is_contiguous()):
        raise ValueError(
            f"{name} must be a contiguous {dtype} CPU tensor for the compiled engine; got "
            f"{t.dtype} {tuple(t.shape)} on {t.device}"
            + ("" if t.is_contiguous() else " (not contiguous)")
        )


def _require(name: str, t: torch.Tensor, dtype: torch.dtype = _F32) -> int:
    """The address of ``t`` after checking that the engine can read it."""
    _check(name, t, dtype)
    return int(t.data_ptr())


def _optional(name: str, t: torch.Tensor | None, dtype: torch.dtype = _F32) -> int:
    return 0 if t is None else _require(name, t, dtype)


# -- Philox (twins: aihw.core.reference.philox) ----------------------------------------
def _blocks(words: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, list[list[int]]]:
    t = words if isinstance(words, torch.Tensor) else torch.tensor(words, dtype=torch.int64)
    return t, (t.to(torch.int64) & 0xFFFFFFFF).reshape(-1, 4).tolist()


def philox4x32_10(counter: torch.Tensor | Sequence[int], key: Sequence[int]) -> torch.Tensor:
    """Philox4x32-10 of each block of ``counter`` (int64 ``[..., 4]``) under ``key``."""
    _load()
    t, blocks = _blocks(counter)
    k = (int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF)
    out = [_compiled.philox4x32_10((b[0], b[1], b[2], b[3]), k) for b in blocks]
    return torch.tensor(out, dtype=torch.int64).reshape(t.shape)


def normals_from_words(words: torch.Tensor) -> torch.Tensor:
    """The four Box-Muller normals (float64) of each Philox block ``[..., 4]``."""
    _load()
    t, blocks = _blocks(words)
    out = [_compiled.normals_from_block((b[0], b[1], b[2], b[3])) for b in blocks]
    return torch.tensor(out, dtype=torch.float64).reshape(t.shape)


def periphery_normals_from_words(words: torch.Tensor) -> torch.Tensor:
    """The periphery's four float32 normals of each Philox block ``[..., 4]``."""
    _load()
    t, blocks = _blocks(words)
    out = [_compiled.periphery_normals(*b) for b in blocks]
    return torch.tensor(out, dtype=_F32).reshape(t.shape)


# -- the pulsed update (twin: aihw.core.reference.update) ------------------------------
def update_config(law: StepLaw, lr: float, granularity: float, update: UpdateParameters) -> Any:
    """The engine's ``PulsedUpdateConfig`` of an update (shared with the CUDA entry point).

    Raises:
        ValueError: the pulse type sends no pulses, or the law exists only in Python.
    """
    _load()
    kind = pulse_kind(PulseType(update.pulse_type).value)
    if kind is None:
        raise ValueError(f"pulse_type={update.pulse_type!r} sends no pulses (an exact update)")
    if law.engine_id is None or law.engine_id <= 0:
        raise ValueError(f"step law {law.name!r} exists only in Python")
    return _compiled.PulsedUpdateConfig(
        float(lr),
        float(granularity),
        int(update.desired_bl),
        bool(update.fixed_bl),
        bool(update.update_management),
        bool(update.update_bl_management),
        float(update.um_grad_scale),
        float(update.res),
        bool(update.sto_round),
        kind,
        float(update.x_res_implicit),
        float(update.d_res_implicit),
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
    """The pulsed update of contract §3-§6, in place on ``weights``; returns the pulses.

    Arguments as in :func:`aihw.core.reference.update.pulsed_update`; ``pulsed_mask`` is a
    uint8 (here) ``[d_size, x_size]`` buffer, and ``num_threads <= 0`` uses every hardware
    thread (the result does not depend on it).
    """
    d_size, x_size = weights.shape
    config = update_config(law, lr, granularity, update)
    ptrs = [_require(f"arrays[{name!r}]", arrays[name]) for name in law.arrays]
    return int(
        _compiled.pulsed_update_cpu(
            config,
            _require("weights", weights),
            d_size,
            x_size,
            _require("x", x),
            _require("d", d),
            x.shape[0],
            law.engine_id,
            ptrs,
            law.flat_scalars(scalars),
            int(seed),
            int(update_index),
            int(num_threads),
            _optional("pulsed_mask", pulsed_mask, torch.uint8),
        )
    )


# -- the periphery (twins: aihw.core.reference.periphery) ------------------------------
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
    """The input stage (DAC) of contract §8 on float32 ``x`` ``[rows, cols]`` (a new
    tensor); ``row_ids`` int32 or ``None``."""
    _load()
    config = input_stage_config(step, sto_round, bound, noise, asymmetry, streams)
    out = torch.empty_like(x)
    _compiled.input_stage(
        config,
        _require("x", x),
        _require("out", out),
        x.shape[0],
        x.shape[1],
        _optional("row_scale", row_scale),
        seed,
        call_index,
        sub,
        _optional("row_ids", row_ids, torch.int32),
        num_threads,
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
    """The output stage (ADC) of contract §8, in place on float32 ``y``; returns
    ``(y, hit)`` (``hit``: uint8 ``[rows]``, 1 where a row hit a bound)."""
    _load()
    config = output_stage_config(
        step, sto_round, bound, test_negative_bound, noise, asymmetry, streams
    )
    hit = torch.empty(y.shape[0], dtype=torch.uint8)  # every flag is written
    mode = 0 if w_noise_std is None else (1 if w_noise_std.dim() == 1 else 2)
    _compiled.output_stage(
        config,
        _require("y", y),
        y.shape[0],
        y.shape[1],
        _optional("row_scale", row_scale),
        _optional("noise_per_output", noise_per_output),
        mode,
        _optional("w_noise_std", w_noise_std),
        seed,
        call_index,
        sub,
        _optional("row_ids", row_ids, torch.int32),
        _require("hit", hit, torch.uint8),
        num_threads,
    )
    return y, hit


def row_abs_max(x: torch.Tensor, num_threads: int = 0) -> torch.Tensor:
    """``max_j |x[r, j]|`` per row of float32 ``x`` ``[rows, cols]``."""
    _load()
    out = torch.empty(x.shape[0], dtype=_F32)
    _compiled.row_abs_max(
        _require("x", x), _require("out", out), x.shape[0], x.shape[1], num_threads
    )
    return out


# -- convolution patches (twins: torch.nn.functional.unfold / fold) --------------------
_Geometry = tuple[int, int, int, int, int, int, int, int, int, int, int, int]


def _conv2d_geometry(
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> _Geometry:
    """``(n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow)`` of a 2-d convolution, checked."""
    n, c, h, w = (int(v) for v in input_shape)
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    for name, pair in (("kernel_size", (kh, kw)), ("stride", (sh, sw)), ("dilation", (dh, dw))):
        if min(pair) < 1:
            raise ValueError(f"{name} must be positive; got {tuple(pair)}")
    oh = (h - dh * (kh - 1) - 1) // sh + 1
    ow = (w - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise ValueError(
            f"input {h}x{w} is smaller than the dilated kernel {dh * (kh - 1) + 1}x"
            f"{dw * (kw - 1) + 1}"
        )
    return n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow


def im2col_2d(
    x: torch.Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    num_threads: int = 0,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """The patches ``[n * oh * ow, c * kh * kw]`` of a float32 input ``[n, c, h, w]``
    (the rows and columns of :func:`torch.nn.functional.unfold`, transposed), written to
    ``out`` (float32 contiguous CPU, that shape) when given, else to a new tensor."""
    _load()
    if x.dim() != 4:
        raise ValueError(f"x must be [n, c, h, w]; got shape {tuple(x.shape)}")
    g = _conv2d_geometry(x.shape, kernel_size, stride, dilation)
    n, c, _, _, kh, kw, *_, oh, ow = g
    shape = (n * oh * ow, c * kh * kw)
    if out is not None and tuple(out.shape) != shape:
        raise ValueError(f"out must be {list(shape)} for input {tuple(x.shape)}; "
                         f"got {list(out.shape)}")  # fmt: skip
    patches = torch.empty(shape, dtype=_F32) if out is None else out
    _compiled.im2col_2d(_require("x", x), _require("patches", patches), *g, num_threads)
    return patches


def col2im_2d(
    patches: torch.Tensor,
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    num_threads: int = 0,
) -> torch.Tensor:
    """The adjoint of :func:`im2col_2d`: the input's gradient ``[n, c, h, w]`` from the
    patches' ``[n * oh * ow, c * kh * kw]`` (each input element sums what read it)."""
    _load()
    g = _conv2d_geometry(input_shape, kernel_size, stride, dilation)
    n, c, h, w, kh, kw, *_, oh, ow = g
    if tuple(patches.shape) != (n * oh * ow, c * kh * kw):
        raise ValueError(
            f"patches must be [{n * oh * ow}, {c * kh * kw}] for input {tuple(input_shape)}; "
            f"got {tuple(patches.shape)}"
        )
    grad_x = torch.empty(n, c, h, w, dtype=_F32)
    _compiled.col2im_2d(_require("patches", patches), _require("grad_x", grad_x), *g, num_threads)
    return grad_x


# -- the first pass of the inference fast path (no twins) ------------------------------
def input_stage_config(
    step: float,
    sto_round: bool,
    bound: float,
    noise: float,
    asymmetry: float,
    streams: Mapping[str, int],
) -> InputStageConfig:
    """The typed settings of an input stage, built once per periphery."""
    _load()
    return _compiled.InputStageConfig(
        step, sto_round, bound, noise, asymmetry, streams["inp_noise"], streams["inp_round"]
    )


def output_stage_config(
    step: float,
    sto_round: bool,
    bound: float,
    test_negative_bound: bool,
    noise: float,
    asymmetry: float,
    streams: Mapping[str, int],
) -> OutputStageConfig:
    """The typed settings of an output stage without weight noise, built once per
    periphery."""
    _load()
    return _compiled.OutputStageConfig(
        step,
        sto_round,
        bound,
        test_negative_bound,
        noise,
        asymmetry,
        streams["out_noise"],
        streams["out_round"],
        streams["w_noise"],
    )


def check_first_pass_buffers(
    x: torch.Tensor,
    out: torch.Tensor | None = None,
    accumulate: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> None:
    """Raise unless the engine can use the caller's tensors of a first pass (float32,
    contiguous, CPU); the pass's own buffers are made that way."""
    _check("x", x)
    if out is not None:
        _check("out", out)
    if accumulate is not None:
        _check("accumulate", accumulate)
    if bias is not None:
        _check("bias", bias)


class PreparedInputStage:
    """The DAC of a first pass, with everything but the input and the counter fixed: the
    buffers ``out`` ``[rows, n_cols]`` and ``nm_scale`` ``[rows]`` (kept alive here), the
    seed, the thread count and the row length ``ld`` of the inputs it will read. With
    ``nm_thres`` (not ``None``), abs-max noise management is fused in: each call writes
    the row scales to ``nm_scale``.

    ``call(x_address, call_index)`` is the compiled call itself (``x_address``: the first
    input element to read, of a float32 CPU tensor checked by the caller), for callers
    that have the address at hand."""

    __slots__ = ("call", "_buffers")

    def __init__(
        self,
        config: InputStageConfig,
        nm_thres: float | None,
        out: torch.Tensor,
        nm_scale: torch.Tensor,
        seed: int,
        num_threads: int,
        ld: int,
    ) -> None:
        _load()
        out_ptr = _require("out", out)
        scale_ptr = _require("nm_scale", nm_scale)
        n, n_cols = out.shape
        self._buffers = (out, nm_scale)
        self.call: Callable[[int, int], int] = _compiled.BoundInputStage(
            config, nm_thres is not None, 0.0 if nm_thres is None else float(nm_thres),
            out_ptr, scale_ptr, n, n_cols, seed, num_threads, ld,
        )  # fmt: skip

    def __call__(self, x: torch.Tensor, start: int, call_index: int) -> int:
        """Run on columns ``start : start + n_cols`` of ``x`` ``[rows, ld]`` (checked by
        :func:`check_first_pass_buffers`); returns the number of rows whose scale is
        ``<= 0`` or that hold a NaN or an infinity, their output left unwritten (0 without
        noise management: nothing is checked then)."""
        return self.call(x.data_ptr() + 4 * start, call_index)


class PreparedOutputStage:
    """The ADC of one periphery in a first pass, on columns ``offset : offset + width`` of
    outputs ``[n_rows, total]``, with its row scales ``nm_scale`` (``None``: none), bound
    flags ``hit`` and thread count fixed (the buffers kept alive here).

    ``call(y_address, noise_per_output_address, call_index, accumulate_address,
    bias_address)`` is the compiled call itself, on addresses already offset to the block
    (``offset_bytes`` past each tensor's start; 0 for an absent buffer), for callers that
    have them at hand."""

    __slots__ = ("call", "offset_bytes", "_buffers")

    def __init__(
        self,
        config: OutputStageConfig,
        offset: int,
        width: int,
        n_rows: int,
        total: int,
        nm_scale: torch.Tensor | None,
        hit: torch.Tensor,
        seed: int,
        num_threads: int,
    ) -> None:
        _load()
        scale_ptr = _optional("nm_scale", nm_scale)
        hit_ptr = _require("hit", hit, torch.uint8)
        self._buffers = (nm_scale, hit)
        self.offset_bytes = 4 * offset
        self.call: Callable[[int, int, int, int, int], int] = _compiled.BoundOutputStage(
            config, n_rows, width, scale_ptr, hit_ptr, seed, num_threads, total
        )

    def __call__(
        self,
        y: torch.Tensor,
        noise_per_output: torch.Tensor | None,
        call_index: int,
        accumulate: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
    ) -> int:
        """Run in place on ``y`` (float32 contiguous ``[n_rows, total]``); flags the rows
        that hit a bound in ``hit`` and returns their number. With ``accumulate`` (like
        ``y``) the other rows are also added into its block, with ``bias`` (float32
        ``[total]``, its block) too: ``acc = (acc + y) + bias``; ``bias`` alone is added
        into those rows of ``y``."""
        off = self.offset_bytes
        return self.call(
            y.data_ptr() + off,
            0 if noise_per_output is None else noise_per_output.data_ptr(),
            call_index,
            0 if accumulate is None else accumulate.data_ptr() + off,
            0 if bias is None else bias.data_ptr() + off,
        )


# -- device operations (twins: aihw.core.reference.device_ops) -------------------------
def _bounds(w_min: torch.Tensor | None, w_max: torch.Tensor | None) -> tuple[int, int]:
    if w_min is None or w_max is None:
        return 0, 0
    return _require("w_min", w_min), _require("w_max", w_max)


def decay(
    weights: torch.Tensor,
    decay_scale: torch.Tensor,
    reset_bias: torch.Tensor | None,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    alpha: float,
    num_threads: int = 0,
) -> None:
    """``w <- clip((w - r0) * (1 + alpha * (kappa - 1)) + r0)``, in place (contract §9)."""
    _load()
    lo, hi = _bounds(w_min, w_max)
    _compiled.decay_weights_cpu(
        _require("weights", weights),
        weights.numel(),
        _require("decay_scale", decay_scale),
        _optional("reset_bias", reset_bias),
        lo,
        hi,
        alpha,
        num_threads,
    )


def diffuse(
    weights: torch.Tensor,
    rate: torch.Tensor,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``w <- clip(w + rho * xi)``, in place (contract §9)."""
    _load()
    lo, hi = _bounds(w_min, w_max)
    _compiled.diffuse_weights_cpu(
        _require("weights", weights),
        weights.numel(),
        _require("rate", rate),
        lo,
        hi,
        int(seed),
        call_index,
        num_threads,
    )


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
    """Reset columns ``[first_column, first_column + n_columns)``, in place (contract §9)."""
    _load()
    lo, hi = _bounds(w_min, w_max)
    _compiled.reset_columns_cpu(
        _require("weights", weights),
        weights.shape[0],
        weights.shape[1],
        first_column,
        n_columns,
        _optional("reset_bias", reset_bias),
        lo,
        hi,
        reset_std,
        reset_prob,
        int(seed),
        call_index,
        num_threads,
    )


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
    (``None``: everywhere), in place (contract §10)."""
    _load()
    _compiled.write_noise_cpu(
        _require("visible", visible),
        _require("hidden", hidden),
        hidden.numel(),
        _optional("mask", None if mask is None else mask.view(torch.uint8), torch.uint8),
        std,
        int(seed),
        call_index,
        num_threads,
    )


def modify_weights(
    weights: torch.Tensor,
    out: torch.Tensor,
    settings: ModifierSettings,
    seeds: Sequence[int],
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``out <-`` the modified copy of ``weights`` (contract §12; ``out`` may be
    ``weights``); ``seeds``: one per ``modifier_settings.ModifierStream``, in order."""
    _load()
    if out.shape != weights.shape:
        raise ValueError(
            f"out has shape {tuple(out.shape)}; allowed: the weights' shape {tuple(weights.shape)}"
        )
    _compiled.modify_weights_cpu(
        _require("weights", weights),
        _require("out", out),
        weights.numel(),
        int(settings.kind),
        settings.amax,
        settings.factor,
        settings.res,
        settings.scale,
        settings.sto_round,
        settings.pdrop,
        list(settings.coeffs),
        [] if settings.pcm is None else settings.pcm.values(),
        [int(seed) for seed in seeds],
        call_index & 0xFFFFFFFF,
        num_threads,
    )

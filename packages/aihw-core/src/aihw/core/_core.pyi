"""Type stubs of the private compiled engine ``aihw.core._core`` (see bindings/).

Only :mod:`aihw.core.engine` calls these functions: it checks every tensor before passing
its address, and the engine trusts the buffers it is given. Semantics:
docs/architecture/engine-contract.md.
"""

from collections.abc import Sequence

def philox4x32_10(
    counter: tuple[int, int, int, int], key: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Philox4x32-10 of ``counter`` under ``key`` (32-bit words); returns four words."""

def normals_from_block(words: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """The four Box-Muller normals (double) of one Philox block (contract §1)."""

class PulsedUpdateConfig:
    """The settings of one pulsed update (contract §3, §6): the learning rate, the device
    granularity, the pulse-train length and its management, the probability bins, and
    ``pulse_kind``, a value of :func:`pulse_kinds` (0: stochastic trains; the
    deterministic kinds use ``x_res_implicit``/``d_res_implicit``). ``ValueError`` for an
    unknown ``pulse_kind``."""

    def __init__(
        self,
        lr: float,
        granularity: float,
        desired_bl: int,
        fixed_bl: bool,
        update_management: bool,
        update_bl_management: bool,
        um_grad_scale: float,
        res: float,
        sto_round: bool,
        pulse_kind: int = 0,
        x_res_implicit: float = 0.0,
        d_res_implicit: float = 0.0,
    ) -> None: ...
    @property
    def lr(self) -> float: ...
    @property
    def granularity(self) -> float: ...
    @property
    def desired_bl(self) -> int: ...
    @property
    def fixed_bl(self) -> bool: ...
    @property
    def update_management(self) -> bool: ...
    @property
    def update_bl_management(self) -> bool: ...
    @property
    def um_grad_scale(self) -> float: ...
    @property
    def res(self) -> float: ...
    @property
    def sto_round(self) -> bool: ...
    @property
    def pulse_kind(self) -> int: ...
    @property
    def x_res_implicit(self) -> float: ...
    @property
    def d_res_implicit(self) -> float: ...

def pulsed_update_cpu(
    config: PulsedUpdateConfig,
    weights_ptr: int,
    d_size: int,
    x_size: int,
    x_ptr: int,
    d_ptr: int,
    batch: int,
    law: int,
    param_ptrs: Sequence[int],
    scalars: Sequence[float],
    seed: int,
    update_index: int,
    num_threads: int,
    pulsed_mask_ptr: int = 0,
) -> int:
    """Apply one pulsed update with the settings ``config`` in place; return the pulses
    applied.

    ``pulsed_mask_ptr`` (0: not wanted) is a uint8 ``[d_size, x_size]`` buffer set to 1
    where at least one pulse was applied and 0 elsewhere (contract §10).

    Pointers are ``tensor.data_ptr()`` of contiguous float32 CPU tensors: weights and each
    law array ``[d_size, x_size]``, ``x`` ``[batch, x_size]``, ``d`` ``[batch, d_size]``.
    ``law`` is the step law's engine id, ``param_ptrs``/``scalars`` its arrays and scalars in
    the contract's order. ``0 <= seed < 2**64``, ``0 <= update_index < 2**32``;
    ``num_threads <= 0`` uses every hardware thread; the result does not depend on it.
    The GIL is released while it runs. Raises ``ValueError`` (and changes nothing) for an
    unknown law, wrong numbers of arrays or scalars, a null pointer, a size < 1, ``lr < 0``,
    ``granularity <= 0``, ``desired_bl < 1``, or a pulse train longer than 2**30 slots.
    ``lr == 0`` applies nothing and returns 0.
    """

def law_info(law: int) -> tuple[str, int, int] | None:
    """``(name, number of arrays, number of scalars)`` of a step law engine id, or None."""

def pulse_kinds() -> dict[str, int]:
    """Pulse types the engine executes, mapped to the ``pulse_kind`` of ``pulsed_update_cpu``."""

def hardware_threads() -> int:
    """The number of hardware threads (what ``num_threads <= 0`` uses)."""

def cores_busy() -> bool:
    """Whether parallel loops run on the calling thread alone for now (busy cores)."""

def engine_pool() -> str:
    """Where parallel loops run: ``'openmp'`` (the OpenMP team of the runtime torch
    loaded) or ``'own'`` (the engine's own workers; also with ``AIHW_ENGINE_POOL=own``)."""

def cuda_compiled() -> bool:
    """Whether this build has the CUDA kernels (built with ``AIHW_CUDA=AUTO`` finding nvcc,
    or ``ON``)."""

def cuda_device_count() -> int:
    """CUDA devices the runtime sees (0 without a driver, a GPU or the CUDA kernels)."""

def philox4x32_10_cuda(
    counters_ptr: int, n: int, key: tuple[int, int], out_ptr: int, stream: int
) -> None:
    """Philox4x32-10 of ``n`` counters (uint32 ``[n, 4]``, device memory) on the stream."""

def periphery_normals_cuda(words_ptr: int, n: int, out_ptr: int, stream: int) -> None:
    """The periphery's float32 normals of ``n`` word blocks (device memory) on the stream."""

class InputStageConfig:
    """The fixed settings of an input stage (DAC), built once per periphery: its step
    (``<= 0``: no quantisation), stochastic rounding, bound, noise std, asymmetry and its
    two random-number streams (1 to 15; ``ValueError`` otherwise)."""

    def __init__(
        self,
        step: float,
        sto_round: bool,
        bound: float,
        noise: float,
        asymmetry: float,
        noise_stream: int,
        round_stream: int,
    ) -> None: ...
    @property
    def step(self) -> float: ...
    @property
    def sto_round(self) -> bool: ...
    @property
    def bound(self) -> float: ...
    @property
    def noise(self) -> float: ...
    @property
    def asymmetry(self) -> float: ...
    @property
    def noise_stream(self) -> int: ...
    @property
    def round_stream(self) -> int: ...

class OutputStageConfig:
    """The fixed settings of an output stage (ADC), built once per periphery: its step,
    stochastic rounding, bound (``<= 0``: unbounded), whether negative outputs count as
    bound hits, noise std, asymmetry and its three random-number streams (1 to 15)."""

    def __init__(
        self,
        step: float,
        sto_round: bool,
        bound: float,
        test_negative_bound: bool,
        noise: float,
        asymmetry: float,
        noise_stream: int,
        round_stream: int,
        w_noise_stream: int,
    ) -> None: ...
    @property
    def step(self) -> float: ...
    @property
    def sto_round(self) -> bool: ...
    @property
    def bound(self) -> float: ...
    @property
    def test_negative_bound(self) -> bool: ...
    @property
    def noise(self) -> float: ...
    @property
    def asymmetry(self) -> float: ...
    @property
    def noise_stream(self) -> int: ...
    @property
    def round_stream(self) -> int: ...
    @property
    def w_noise_stream(self) -> int: ...

class BoundInputStage:
    """A first pass's DAC with its configuration, buffers, seed, thread count and row
    length fixed (``engine.PreparedInputStage`` builds it): ``abs_max`` fuses abs-max noise
    management (``nm_scale_ptr`` gets the row scales), else ``input_stage`` without row
    scales."""

    def __init__(
        self,
        config: InputStageConfig,
        abs_max: bool,
        nm_thres: float,
        out_ptr: int,
        nm_scale_ptr: int,
        n_rows: int,
        n_cols: int,
        seed: int,
        num_threads: int,
        x_row_stride: int,
    ) -> None: ...
    def __call__(self, x_ptr: int, call_index: int) -> int:
        """Run on the input at ``x_ptr``; returns the number of rows skipped (0 without
        ``abs_max``). Releases the GIL."""

class BoundOutputStage:
    """A first pass's ADC on a block of columns with its configuration, row scales, bound
    flags, seed, thread count and row stride fixed (``engine.PreparedOutputStage`` builds
    it); no weight noise."""

    def __init__(
        self,
        config: OutputStageConfig,
        n_rows: int,
        n_cols: int,
        row_scale_ptr: int,
        hit_ptr: int,
        seed: int,
        num_threads: int,
        row_stride: int,
    ) -> None: ...
    def __call__(
        self,
        y_ptr: int,
        noise_per_output_ptr: int,
        call_index: int,
        accumulate_ptr: int,
        bias_ptr: int,
    ) -> int:
        """``output_stage`` on the block at ``y_ptr`` (the accumulate buffer's rows as far
        apart); returns the number of rows that hit a bound. Releases the GIL."""

def input_stage(
    config: InputStageConfig,
    x_ptr: int,
    out_ptr: int,
    n_rows: int,
    n_cols: int,
    row_scale_ptr: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    num_threads: int,
    x_row_stride: int = 0,
) -> None:
    """The fused input stage (DAC) of engine contract §6 on float32 ``[n_rows, n_cols]``
    buffers; ``row_scale_ptr`` (float32 ``[n_rows]``) and ``row_ids_ptr`` (int32
    ``[n_rows]``) may be 0. ``x_row_stride`` (0: ``n_cols``) reads a block of columns of a
    wider ``x``. Releases the GIL."""

def abs_max_input_stage(
    config: InputStageConfig,
    nm_thres: float,
    x_ptr: int,
    out_ptr: int,
    nm_scale_ptr: int,
    n_rows: int,
    n_cols: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    num_threads: int,
    x_row_stride: int = 0,
) -> int:
    """Abs-max noise management and the input stage in one pass: ``nm_scale[r]`` gets
    ``max_j |x[r, j]|`` (clamped to ``nm_thres`` when > 0) and row ``r`` goes through the
    input stage scaled by ``1 / nm_scale[r]``. Returns the number of rows whose scale is
    ``<= 0`` or that hold a NaN or an infinity; their output is left unwritten. ``x_row_stride`` as in
    :func:`input_stage`. Releases the GIL."""

def output_stage(
    config: OutputStageConfig,
    y_ptr: int,
    n_rows: int,
    n_cols: int,
    row_scale_ptr: int,
    noise_per_output_ptr: int,
    w_noise_mode: int,
    w_noise_std_ptr: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    hit_ptr: int,
    num_threads: int,
    y_row_stride: int = 0,
    accumulate_ptr: int = 0,
    accumulate_row_stride: int = 0,
    accumulate_bias_ptr: int = 0,
) -> int:
    """The fused output stage (ADC) of engine contract §6, in place on float32
    ``[n_rows, n_cols]`` (rows ``y_row_stride`` elements apart; 0: ``n_cols``); flags the
    rows that hit a bound in ``hit_ptr`` (uint8, may be 0) and returns their number.
    ``noise_per_output_ptr`` (float32 ``[n_cols]``, may be 0) replaces the config's noise;
    ``w_noise_mode`` 0 (none), 1 (``w_noise_std_ptr``: one std per row) or 2 (one per
    element). With ``accumulate_ptr`` (float32, rows ``accumulate_row_stride`` apart; 0:
    ``n_cols``), the rows that did not hit a bound are also added into that buffer, with
    ``accumulate_bias_ptr`` (float32 ``[n_cols]``) as ``acc = (acc + y) + bias``; without
    ``accumulate_ptr``, ``accumulate_bias_ptr`` is added into those rows of ``y``.
    Releases the GIL."""

def periphery_normals(r0: int, r1: int, r2: int, r3: int) -> tuple[float, float, float, float]:
    """The periphery's four float32 normals of one Philox block (contract §6)."""

def im2col_2d(
    x_ptr: int,
    patches_ptr: int,
    n: int,
    c: int,
    h: int,
    w: int,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    dh: int,
    dw: int,
    oh: int,
    ow: int,
    num_threads: int,
) -> None: ...
def col2im_2d(
    patches_ptr: int,
    grad_x_ptr: int,
    n: int,
    c: int,
    h: int,
    w: int,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    dh: int,
    dw: int,
    oh: int,
    ow: int,
    num_threads: int,
) -> None: ...
def row_abs_max(x_ptr: int, out_ptr: int, n_rows: int, n_cols: int, num_threads: int) -> None:
    """``out[r] = max_j |x[r, j]|`` on float32 buffers (abs-max noise management)."""

def decay_weights_cpu(
    weights_ptr: int,
    n: int,
    decay_scale_ptr: int,
    reset_bias_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    alpha: float,
    num_threads: int,
) -> None:
    """Decay toward the reset bias (contract §9); reset_bias_ptr and both bounds may be 0."""

def diffuse_weights_cpu(
    weights_ptr: int,
    n: int,
    rate_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    seed: int,
    call_index: int,
    num_threads: int,
) -> None:
    """Diffusion, one normal per weight (contract §9); both bounds may be 0."""

def modify_weights_cpu(
    weights_ptr: int,
    out_ptr: int,
    n: int,
    kind: int,
    amax: float,
    factor: float,
    res: float,
    scale: float,
    sto_round: bool,
    pdrop: float,
    coeffs: list[float],
    pcm: list[float],
    seeds: list[int],
    call_index: int,
    num_threads: int,
) -> None:
    """The weight modifier of hardware-aware training in one pass (contract §12)."""

def reset_columns_cpu(
    weights_ptr: int,
    d_size: int,
    x_size: int,
    first_column: int,
    n_columns: int,
    reset_bias_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    reset_std: float,
    reset_prob: float,
    seed: int,
    call_index: int,
    num_threads: int,
) -> None:
    """Reset of a range of columns (contract §9); reset_bias_ptr and both bounds may be 0."""

def write_noise_cpu(
    visible_ptr: int,
    hidden_ptr: int,
    n: int,
    mask_ptr: int,
    std: float,
    seed: int,
    call_index: int,
    num_threads: int,
) -> None:
    """Write noise (contract §10): visible = hidden + float32(std) * xi where the uint8
    mask is non-zero (mask_ptr 0: every element); the other visible weights stay."""

def input_stage_cuda(
    config: InputStageConfig,
    x_ptr: int,
    out_ptr: int,
    n_rows: int,
    n_cols: int,
    row_scale_ptr: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    stream: int,
) -> None:
    """The input stage (DAC) of contract §8 (the CUDA kernels: device memory, on ``stream``)."""

def output_stage_cuda(
    config: OutputStageConfig,
    y_ptr: int,
    n_rows: int,
    n_cols: int,
    row_scale_ptr: int,
    noise_per_output_ptr: int,
    w_noise_mode: int,
    w_noise_std_ptr: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    hit_ptr: int,
    stream: int,
) -> None:
    """The output stage (ADC) of contract §8, in place; ``hit_ptr`` (uint8 ``[n_rows]``)
    must hold zeros and gets 1 for each row that hit a bound (the CUDA kernels: device memory, on ``stream``)."""

def decay_weights_cuda(
    weights_ptr: int,
    n: int,
    decay_scale_ptr: int,
    reset_bias_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    alpha: float,
    stream: int,
) -> None:
    """Decay toward the reset bias (contract §9; the CUDA kernels: device memory, on ``stream``)."""

def diffuse_weights_cuda(
    weights_ptr: int,
    n: int,
    rate_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    seed: int,
    call_index: int,
    stream: int,
) -> None:
    """Diffusion (contract §9; the CUDA kernels: device memory, on ``stream``)."""

def reset_columns_cuda(
    weights_ptr: int,
    d_size: int,
    x_size: int,
    first_column: int,
    n_columns: int,
    reset_bias_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    reset_std: float,
    reset_prob: float,
    seed: int,
    call_index: int,
    stream: int,
) -> None:
    """Column reset (contract §9; the CUDA kernels: device memory, on ``stream``)."""

def write_noise_cuda(
    visible_ptr: int,
    hidden_ptr: int,
    n: int,
    mask_ptr: int,
    std: float,
    seed: int,
    call_index: int,
    stream: int,
) -> None:
    """Write noise (contract §10; the CUDA kernels: device memory, on ``stream``)."""

def input_stage_cuda_emulated(
    config: InputStageConfig,
    x_ptr: int,
    out_ptr: int,
    n_rows: int,
    n_cols: int,
    row_scale_ptr: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    stream: int,
) -> None:
    """The input stage (DAC) of contract §8 (their host emulation: host memory, ``stream`` ignored)."""

def output_stage_cuda_emulated(
    config: OutputStageConfig,
    y_ptr: int,
    n_rows: int,
    n_cols: int,
    row_scale_ptr: int,
    noise_per_output_ptr: int,
    w_noise_mode: int,
    w_noise_std_ptr: int,
    seed: int,
    call_index: int,
    sub: int,
    row_ids_ptr: int,
    hit_ptr: int,
    stream: int,
) -> None:
    """The output stage (ADC) of contract §8, in place; ``hit_ptr`` (uint8 ``[n_rows]``)
    must hold zeros and gets 1 for each row that hit a bound (their host emulation: host memory, ``stream`` ignored)."""

def decay_weights_cuda_emulated(
    weights_ptr: int,
    n: int,
    decay_scale_ptr: int,
    reset_bias_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    alpha: float,
    stream: int,
) -> None:
    """Decay toward the reset bias (contract §9; their host emulation: host memory, ``stream`` ignored)."""

def diffuse_weights_cuda_emulated(
    weights_ptr: int,
    n: int,
    rate_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    seed: int,
    call_index: int,
    stream: int,
) -> None:
    """Diffusion (contract §9; their host emulation: host memory, ``stream`` ignored)."""

def reset_columns_cuda_emulated(
    weights_ptr: int,
    d_size: int,
    x_size: int,
    first_column: int,
    n_columns: int,
    reset_bias_ptr: int,
    w_min_ptr: int,
    w_max_ptr: int,
    reset_std: float,
    reset_prob: float,
    seed: int,
    call_index: int,
    stream: int,
) -> None:
    """Column reset (contract §9; their host emulation: host memory, ``stream`` ignored)."""

def write_noise_cuda_emulated(
    visible_ptr: int,
    hidden_ptr: int,
    n: int,
    mask_ptr: int,
    std: float,
    seed: int,
    call_index: int,
    stream: int,
) -> None:
    """Write noise (contract §10; their host emulation: host memory, ``stream`` ignored)."""

# -- the pulsed update on CUDA (cpp/cuda/cuda_update.hpp, contract §11.1) ---------------------
def pulsed_update_cuda_scratch_bytes(
    config: PulsedUpdateConfig, d_size: int, x_size: int, batch: int
) -> int:
    """Bytes of device scratch ``pulsed_update_cuda`` needs for this update."""

def pulsed_update_law_table(law: int, scalars: Sequence[float]) -> list[float]:
    """The float32 values ``pulsed_update_cuda`` reads from ``law_table_ptr``
    (piecewise_step's tables, up then down; empty for the other laws)."""

def pulsed_update_cuda_emulated(
    config: PulsedUpdateConfig,
    weights_ptr: int,
    d_size: int,
    x_size: int,
    x_ptr: int,
    d_ptr: int,
    batch: int,
    law: int,
    param_ptrs: Sequence[int],
    scalars: Sequence[float],
    seed: int,
    update_index: int,
    pulsed_mask_ptr: int = 0,
) -> int:
    """``pulsed_update_cuda``'s kernels run on the CPU (host memory); returns the pulses."""

def pulsed_update_cuda(
    config: PulsedUpdateConfig,
    weights_ptr: int,
    d_size: int,
    x_size: int,
    x_ptr: int,
    d_ptr: int,
    batch: int,
    law: int,
    param_ptrs: Sequence[int],
    scalars: Sequence[float],
    seed: int,
    update_index: int,
    pulsed_mask_ptr: int,
    law_table_ptr: int,
    scratch_ptr: int,
    scratch_bytes: int,
    pulses_ptr: int,
    stream: int,
) -> None:
    """Enqueue one pulsed update on ``stream`` (device memory); the pulse count goes to the
    int64 at ``pulses_ptr``. Never synchronises."""

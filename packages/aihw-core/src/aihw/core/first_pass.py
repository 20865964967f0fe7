"""The compiled first pass of the managed MVM (engine contract §8), prepared once.

:class:`SharedFirstPass` runs the first bound-management pass of one or more forward
peripheries that read the same input: one compiled DAC (with abs-max noise management
fused in), one ``torch.mm``, then each periphery's compiled ADC on its block of columns.
:class:`GridPass` runs those of a layer's column splits as one step. Everything that does
not change from call to call (the typed stage configurations, the buffers) is built when they
are built, so that a call costs little more than its native calls: this is the hot path
of every inference forward.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from . import engine
from .io_parameters import BoundManagementType

if TYPE_CHECKING:
    from .engine import InputStageConfig, OutputStageConfig
    from .periphery import Periphery

__all__ = ["GridPass", "SharedFirstPass", "FirstPassPlan"]

MASK32 = 0xFFFFFFFF
_F32 = torch.float32
MAX_ROWS = 2**31 - 1
#: Passes touching fewer values (inputs plus outputs) run their stages on one thread: on
#: the engine's own workers (waking them costs more than they save, and they compete with
#: torch's threads still spinning after the matrix product) ...
SMALL_PASS = 1 << 17
#: ... and on torch's OpenMP team (engine contract §5), whose threads are awake anyway.
SMALL_PASS_OPENMP = 1 << 13
_small_pass: int | None = None  # the one that applies, once known


def _forget_small_pass() -> None:
    global _small_pass
    _small_pass = None


if hasattr(os, "register_at_fork"):  # a forked child uses the engine's own workers
    os.register_at_fork(after_in_child=_forget_small_pass)


def auto_threads(n_rows: int, n_in: int, n_out: int) -> int:
    """The automatic thread count of a pass: torch's, except that small passes stay on this
    thread (see :data:`SMALL_PASS`)."""
    global _small_pass
    small = _small_pass
    if small is None:
        openmp = engine.native_available() and engine.engine_pool() == "openmp"
        small = _small_pass = SMALL_PASS_OPENMP if openmp else SMALL_PASS
    return 1 if n_rows * (n_in + n_out) < small else torch.get_num_threads()


@dataclass(frozen=True, eq=False)
class FirstPassPlan:
    """The fixed settings of one periphery's compiled first pass, built once per state of
    its IO parameters (:meth:`~aihw.core.periphery.Periphery.first_pass_plan`).

    Attributes:
        abs_max: abs-max noise management fused into the DAC (else none).
        nm_thres: its threshold (``<= 0``: none).
        dac_key: the DAC's settings, to compare the DACs of several peripheries.
        dac: the typed input-stage configuration.
        adc: the typed output-stage configuration (no weight noise in a plan).
        bound_management: ``NONE`` or ``ITERATIVE``.
    """

    abs_max: bool
    nm_thres: float
    dac_key: tuple[Any, ...]
    dac: InputStageConfig
    adc: OutputStageConfig
    bound_management: BoundManagementType

    def same_dac(self, other: FirstPassPlan) -> bool:
        return (self.abs_max, self.nm_thres, self.dac_key) == (
            other.abs_max,
            other.nm_thres,
            other.dac_key,
        )


def empty_pass(
    peripheries: list[Periphery], width: int, device: torch.device | None = None
) -> torch.Tensor:
    """A pass over no rows, as the general path does it: each counter moves once, no pass
    runs, and the result is ``[0, width]`` on ``device`` (default: the CPU; the engine is
    not called: an empty tensor has no storage to point at)."""
    for p in peripheries:
        p.call_index = (p.call_index + 1) & MASK32
        p.last_passes = 0
        p.last_bound_hits = 0
    return torch.zeros(0, width, dtype=torch.float32, device=device)


class _ReusesBuffers:
    """A prepared pass that reuses its buffers across calls: calls from several threads
    take turns (``self._lock``), and pickles and copies leave the lock behind, with the
    fields :meth:`_state` is told to reset."""

    _lock: threading.RLock

    def _state(self, **reset: object) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(reset)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()


class _Output:
    """One periphery's ADC in a first pass: its block of columns and bound management
    (``None``: a bound hit is final)."""

    __slots__ = ("periphery", "offset", "width", "adc", "bound_management")

    def __init__(
        self,
        periphery: Periphery,
        offset: int,
        width: int,
        adc: OutputStageConfig,
        bound_management: BoundManagementType | None,
    ) -> None:
        self.periphery = periphery
        self.offset = offset
        self.width = width
        self.adc = adc
        self.bound_management = bound_management

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            setattr(self, name, value)


class SharedFirstPass(_ReusesBuffers):
    """The compiled first pass of peripheries that read the same input.

    Use :meth:`build`, which returns ``None`` where this does not apply. With several
    peripheries their DACs must be identical and draw no random numbers (then one DAC
    output serves all); a single periphery may have any DAC its plan allows.

    Args:
        peripheries: :class:`~aihw.core.periphery.Periphery` objects whose compiled plans
            (:meth:`~aihw.core.periphery.Periphery.first_pass_plan`) are ``plans``.
        plans: their plans, in the same order.
    """

    def __init__(self, peripheries: list[Periphery], plans: list[FirstPassPlan]) -> None:
        first = plans[0]
        self.peripheries = list(peripheries)
        self.plans = list(plans)
        self.widths = [p.out_size for p in peripheries]
        self.total_width = sum(self.widths)
        self._dac = first.dac
        self._nm_thres = first.nm_thres if first.abs_max else None
        self._outputs: list[_Output] = []
        offset = 0
        for p, plan, width in zip(peripheries, plans, self.widths, strict=True):
            bm: BoundManagementType | None = plan.bound_management
            if bm == BoundManagementType.NONE or p.reduction_limit() < 1.0:
                bm = None  # a bound hit is final
            self._outputs.append(_Output(p, offset, width, plan.adc, bm))
            offset += width
        self._prepared: _PreparedPass | None = None  # the engine calls of the last shape
        self._lock = threading.RLock()

    @classmethod
    def build(cls, peripheries: list[Periphery]) -> SharedFirstPass | None:
        """A first pass for ``peripheries``, or ``None`` where the compiled plan does not
        apply to all of them or (several of them) their DACs differ or draw random
        numbers."""
        found = [p.first_pass_plan() for p in peripheries]
        plans = [plan for plan in found if plan is not None]
        if not plans or len(plans) != len(found) or not engine.native_available():
            return None
        first = plans[0]
        if len(plans) > 1 and (
            first.dac.sto_round
            or first.dac.noise > 0
            or not all(first.same_dac(plan) for plan in plans[1:])
        ):
            return None
        return cls(peripheries, plans)

    def __getstate__(self) -> dict[str, Any]:
        return self._state(_prepared=None)  # rebuilt on use

    def __call__(
        self,
        x: torch.Tensor,
        matrix: torch.Tensor,
        start: int = 0,
        num_threads: int | None = None,
        out: torch.Tensor | None = None,
        accumulate: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """``[N, total_width]``: every periphery's first pass (and its bound-management
        re-runs) on ``x[:, start : start + n_in]``, each with its own counter.

        Args:
            x: float32 CPU ``[N, >= start + n_in]``, contiguous: the columns are read in
                place, without a copy.
            matrix: float32 ``[n_in, total_width]``, the peripheries' ``[in, out]`` matrices
                side by side.
            num_threads: as in :meth:`~aihw.core.periphery.Periphery.run`.
            out: where to write the result (``[N, total_width]`` float32, contiguous), or
                ``None`` for a new tensor.
            accumulate: float32 contiguous ``[N, total_width]`` to add the result into
                (``accumulate += result``, the sum over a layer's column splits); the engine
                adds each row as it finishes it.
            bias: float32 contiguous ``[total_width]``, only with ``accumulate``: added
                with the result, ``accumulate = (accumulate + result) + bias`` (a layer's
                digital bias, in the same pass at its last column split).

        Returns:
            the result, or ``None`` (nothing done, no counter moved) when a row has a zero
            noise-management scale: the general path treats those.
        """
        with self._lock:
            return self._run(x, matrix, start, num_threads, out, accumulate, bias)

    def _run(
        self,
        x: torch.Tensor,
        matrix: torch.Tensor,
        start: int,
        num_threads: int | None,
        out: torch.Tensor | None,
        accumulate: torch.Tensor | None,
        bias: torch.Tensor | None,
    ) -> torch.Tensor | None:
        n = x.shape[0]
        if n == 0:
            empty = empty_pass(self.peripheries, self.total_width)  # the counters move
            return empty if out is None else out
        engine.check_first_pass_buffers(x, out, accumulate, bias)
        n_in = matrix.shape[0]
        first = self.peripheries[0]
        if num_threads is None:
            threads = auto_threads(n, n_in, max(self.widths))
        else:
            threads = int(num_threads)
        prepared = self._prepared
        key = (n, n_in, x.shape[1], threads)
        if prepared is None or prepared.key != key:
            prepared = self._prepared = _PreparedPass(self, key)
        # The DAC's counter (it draws numbers only when alone).
        skipped = prepared.dac(x, start, first.call_index)
        zero_rows = None
        if skipped:
            zero_rows = self._zero_rows(prepared, skipped, accumulate, bias)
            if zero_rows is None:
                return None
            prepared.v.index_fill_(0, zero_rows, 0.0)  # the DAC left them unwritten
        v, scale, hit = prepared.v, prepared.scale, prepared.hit
        y = torch.mm(v, matrix) if out is None else torch.mm(v, matrix, out=out)
        for o, adc in prepared.adcs:
            p = o.periphery
            call = p.call_index
            p.call_index = (call + 1) & MASK32
            # (a zero row's output is 0 with no bound hit, as in the general path)
            n_hit = adc(y, p.noise_per_output, call, accumulate, bias)
            p.last_passes = 0 if skipped == n else 1  # all rows zero: no pass, as there
            p.last_bound_hits = n_hit
            if n_hit:
                _finish_bound_hits(o, x, matrix, y, scale, hit, accumulate, bias, start, call,
                                   threads)  # fmt: skip
        return y

    def _zero_rows(
        self,
        prepared: _PreparedPass,
        skipped: int,
        accumulate: torch.Tensor | None,
        bias: torch.Tensor | None,
    ) -> torch.Tensor | None:
        """The rows the DAC skipped, where this pass can give them the general path's
        zero output itself (docs/physics/periphery.md#zero-inputs): every skipped row has
        a zero scale (no NaN or infinity), no bound management, no accumulation, and
        backward or no input noise (input noise makes a forward zero row count). Else
        ``None``: the general path runs instead."""
        scale = prepared.scale
        if (
            scale is None
            or accumulate is not None
            or bias is not None
            or any(o.bound_management is not None for o in self._outputs)
            or (self._dac.noise > 0 and any(p.direction == "forward" for p in self.peripheries))
        ):
            return None
        zero_rows = torch.nonzero(scale == 0.0).squeeze(1)
        return zero_rows if zero_rows.numel() == skipped else None


class _PreparedPass:
    """The engine calls of a :class:`SharedFirstPass` for one input shape and thread count
    ``key = (rows, n_in, row length of x, threads)``, with their reused buffers: the DAC
    output, the noise-management scales and the bound flags.

    The buffers only live within one call (what outlives it is copied out); reusing them
    saves an allocation per call, and for large batches the page faults of fresh memory.
    """

    __slots__ = ("key", "v", "scale", "hit", "dac", "adcs")

    def __init__(
        self,
        shared: SharedFirstPass,
        key: tuple[int, int, int, int],
        hit: torch.Tensor | None = None,
    ) -> None:
        n, n_in, ld, threads = key
        self.key = key
        self.v = torch.empty(n, n_in, dtype=torch.float32)
        s_nm = torch.empty(n, dtype=torch.float32)
        self.scale = None if shared._nm_thres is None else s_nm
        self.hit = torch.empty(n, dtype=torch.uint8) if hit is None else hit
        first = shared.peripheries[0]
        self.dac = engine.PreparedInputStage(
            shared._dac, shared._nm_thres, self.v, s_nm, first.seed, threads, ld
        )
        total = shared.total_width
        self.adcs = [
            (o, engine.PreparedOutputStage(
                o.adc, o.offset, o.width, n, total, self.scale, self.hit, o.periphery.seed,
                threads,
            ))
            for o in shared._outputs
        ]  # fmt: skip


def _finish_bound_hits(
    o: _Output,
    x: torch.Tensor,
    matrix: torch.Tensor,
    y: torch.Tensor,
    s_nm: torch.Tensor | None,
    hit: torch.Tensor,
    accumulate: torch.Tensor | None,
    bias: torch.Tensor | None,
    start: int,
    call: int,
    threads: int,
) -> None:
    """The rows of ``o``'s block that hit a bound: re-run them with the input halved
    (bound management, as the general path does it), then add them (and ``bias``) into
    ``accumulate`` (which the engine left to us), or without it add ``bias`` to them."""
    sel = torch.nonzero(hit).squeeze(1)
    offset, width = o.offset, o.width
    y_block = y[:, offset : offset + width]
    if o.bound_management is not None:
        n_in = matrix.shape[0]
        o.periphery.rerun_bound_hits(
            x[sel, start : start + n_in], matrix[:, offset : offset + width],
            None if s_nm is None else s_nm[sel], sel, y_block, call, o.bound_management,
            threads,
        )  # fmt: skip
    if accumulate is not None:
        acc_block = accumulate[:, offset : offset + width]
        total = acc_block[sel] + y_block[sel]
        if bias is not None:
            total = total + bias[offset : offset + width]
        acc_block[sel] = total
    elif bias is not None:  # added into y, as the engine did for the other rows
        y_block[sel] = y_block[sel] + bias[offset : offset + width]


class _SplitCall:
    """One column split of a :class:`GridPass`, prepared for one input shape: its engine
    calls and buffers, and the buffer its product goes to (``None``: the output, for the
    first split)."""

    __slots__ = ("shared", "matrix", "start", "first", "prepared", "y")

    def __init__(
        self,
        shared: SharedFirstPass,
        matrix: torch.Tensor,
        start: int,
        prepared: _PreparedPass,
        y: torch.Tensor | None,
    ) -> None:
        self.shared = shared
        self.matrix = matrix
        self.start = start
        self.first = shared.peripheries[0]
        self.prepared = prepared
        self.y = y


class GridPass(_ReusesBuffers):
    """The compiled inference of a layer's tile grid: one :class:`SharedFirstPass` per
    column split, run as one step.

    Every split's DAC runs first; then the matrix products, each followed by the ADCs of
    the split before it; the engine adds later splits into the first split's output, and
    the layer's bias with the last one. The numbers are those of running the splits one
    after the other (each periphery's counters move the same way).

    Why this order: a matrix product streams the weights through the CPU caches, and the
    Python interpreter's own code and data go with them, so the first Python steps after a
    product cost several times their usual price. This class keeps the Python per call to
    the engine calls (their buffers are worked out once per input shape) and puts two
    products back to back, so that the ADCs of two splits share one such cold start.

    Args:
        splits: per column split, its first pass, its ``[n_in, total_width]`` matrix, the
            first input column it reads and its thread count (``None``: automatic); every
            pass has the same ``total_width``.
    """

    def __init__(self, splits: list[tuple[SharedFirstPass, torch.Tensor, int, int | None]]) -> None:
        self.splits = list(splits)
        self.total_width = splits[0][0].total_width
        self.in_size = max(start + matrix.shape[0] for _, matrix, start, _ in splits)
        #: Whether every split's DAC fuses abs-max noise management: its engine call then
        #: refuses a row with a NaN or an infinity (the call returns ``None``), so the
        #: caller needs no finiteness check of its own.
        self.checks_finite = all(split[0]._nm_thres is not None for split in splits)
        self._shape: tuple[int, int] | None = None  # the input shape the calls are for
        self._torch_threads = 0
        self._calls: list[_SplitCall] = []
        self._lock = threading.RLock()

    @classmethod
    def build(cls, splits: list[tuple[SharedFirstPass, torch.Tensor, int, int | None]]
              ) -> GridPass | None:  # fmt: skip
        """A grid pass, or ``None`` where the splits' outputs differ in width or two of
        them share a periphery (their counters would then move in another order)."""
        peripheries = [p for split in splits for p in split[0].peripheries]
        widths = {split[0].total_width for split in splits}
        if not splits or len(widths) != 1 or len({id(p) for p in peripheries}) != len(peripheries):
            return None
        return cls(splits)

    def __getstate__(self) -> dict[str, Any]:
        return self._state(_shape=None, _calls=[])  # buffers: rebuilt on use

    def _prepare(self, n: int, ld: int) -> None:
        """The buffers, thread counts and engine calls of every split for ``x`` ``[n, ld]``."""
        total = self.total_width
        hit = torch.empty(n, dtype=torch.uint8)  # shared by the splits, used one at a time
        # Splits after the first alternate between two buffers: a product fills one while
        # the previous split's ADCs still read the other.
        scratch = [torch.empty(n, total, dtype=torch.float32) for _ in self.splits[1:3]]
        calls = []
        for c, (shared, matrix, start, num_threads) in enumerate(self.splits):
            n_in = matrix.shape[0]
            if num_threads is None:
                threads = auto_threads(n, n_in, max(shared.widths))
            else:
                threads = int(num_threads)
            y = None if c == 0 else scratch[(c - 1) % 2]
            prepared = _PreparedPass(shared, (n, n_in, ld, threads), hit)
            calls.append(_SplitCall(shared, matrix, start, prepared, y))
        self._calls = calls
        self._torch_threads = torch.get_num_threads()  # automatic thread counts follow it

    def thread_counts(self) -> list[int]:
        """The engine threads of each split's calls, as last worked out (empty before the
        first call)."""
        return [call.prepared.key[3] for call in self._calls]

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor | None:
        """``[N, total_width]`` float32: the grid's output for ``x`` (float32, contiguous,
        CPU), plus ``bias`` (float32 contiguous ``[total_width]``) when given; ``None``
        (nothing done, no counter moved) when a row of a split has a zero noise-management
        scale: the caller then runs the splits one by one."""
        if not (x.dtype is _F32 and x.is_cpu and x.is_contiguous()) or not (
            bias is None or (bias.dtype is _F32 and bias.is_cpu and bias.is_contiguous())
        ):
            engine.check_first_pass_buffers(x, None, None, bias)  # raises, saying why
        shape = x.shape
        return self.run_checked(x, bias, shape[0], shape[1])

    def run_checked(
        self, x: torch.Tensor, bias: torch.Tensor | None, n: int, ld: int
    ) -> torch.Tensor | None:
        """``__call__`` on ``x`` ``[n, ld]`` and ``bias`` that the caller checked as
        ``__call__`` would (the prepared forward of a grid checks them anyway)."""
        with self._lock:
            return self._run(x, bias, n, ld)

    def _run(
        self, x: torch.Tensor, bias: torch.Tensor | None, n: int, ld: int
    ) -> torch.Tensor | None:
        if n == 0:
            peripheries = [p for split in self.splits for p in split[0].peripheries]
            return empty_pass(peripheries, self.total_width)
        if (n, ld) != self._shape or torch.get_num_threads() != self._torch_threads:
            self._prepare(n, ld)
            self._shape = (n, ld)
        calls = self._calls
        x_ptr = x.data_ptr()
        for c in calls:  # every DAC first: a skipped row stops before any counter moves
            if c.prepared.dac.call(x_ptr + 4 * c.start, c.first.call_index):
                return None
        last = len(calls) - 1
        # On busy cores (the engine's loops already run on this thread alone) the products
        # of several splits run on this thread too: each of torch's parallel regions would
        # wait for a descheduled thread, several times per call where nn.Linear waits once.
        threads = self._torch_threads if last > 0 and engine.cores_busy() else 1
        if threads > 1:
            torch.set_num_threads(1)
        try:
            out = torch.mm(calls[0].prepared.v, calls[0].matrix)
            for k in range(1, last + 1):
                torch.mm(calls[k].prepared.v, calls[k].matrix, out=calls[k].y)
                self._output_stages(x, calls[k - 1], out, None)
            self._output_stages(x, calls[last], out, bias)  # one split: the engine adds it
        finally:
            if threads > 1:
                torch.set_num_threads(threads)
        return out

    def _output_stages(self, x: torch.Tensor, call: _SplitCall, out: torch.Tensor,
                       bias: torch.Tensor | None) -> None:  # fmt: skip
        """One split's ADCs (and bound-management re-runs), on ``out`` for the first split,
        else on its buffer, added (with ``bias``) into ``out``; a grid of one split gets
        ``bias`` added to ``out`` by its ADCs.

        The same engine calls as :meth:`SharedFirstPass.__call__` makes: calling that
        method's code from here instead measured about 3% slower on the 1024 x 1024 forward
        (more Python steps while the caches are cold).
        """
        acc = None if call.y is None else out
        y = out if call.y is None else call.y
        prepared = call.prepared
        # The engine calls on addresses (PreparedOutputStage.__call__ without its frame).
        y_ptr = y.data_ptr()
        acc_ptr = 0 if acc is None else acc.data_ptr()
        bias_ptr = 0 if bias is None else bias.data_ptr()
        for o, adc in prepared.adcs:
            p = o.periphery
            index = p.call_index
            p.call_index = (index + 1) & MASK32
            off = adc.offset_bytes
            sigma = p.noise_per_output
            n_hit = adc.call(
                y_ptr + off,
                0 if sigma is None else sigma.data_ptr(),
                index,
                acc_ptr and acc_ptr + off,
                bias_ptr and bias_ptr + off,
            )
            p.last_passes = 1
            p.last_bound_hits = n_hit
            if n_hit:
                _finish_bound_hits(o, x, call.matrix, y, prepared.scale, prepared.hit, acc, bias,
                                   call.start, index, prepared.key[3])  # fmt: skip

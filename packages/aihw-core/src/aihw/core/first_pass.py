"""The compiled first pass of the managed MVM (engine contract §8), prepared once.

:class:`SharedFirstPass` runs the first bound-management pass of one or more forward
peripheries that read the same input: one compiled DAC (with abs-max noise management
fused in), one ``torch.mm``, then each periphery's compiled ADC on its block of columns.
:class:`GridPass` runs those of a layer's column splits as one step. Everything that does
not change from call to call (the stage parameters, the buffers) is worked out when they
are built, so that a call costs little more than its native calls: this is the hot path
of every inference forward.
"""

from __future__ import annotations

import os
import threading

import torch

from . import _native
from .io_parameters import BoundManagementType

__all__ = ["GridPass", "SharedFirstPass", "native_periphery_available"]

MASK32 = 0xFFFFFFFF
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
        openmp = _native.native_available() and _native.load().engine_pool() == "openmp"
        small = _small_pass = SMALL_PASS_OPENMP if openmp else SMALL_PASS
    return 1 if n_rows * (n_in + n_out) < small else torch.get_num_threads()


def native_periphery_available() -> bool:
    """Whether the compiled engine has the periphery stages."""
    return _native.native_available() and hasattr(_native.load(), "periphery_input_stage")


def pointer(t: torch.Tensor | None) -> int:
    return 0 if t is None else t.data_ptr()


def empty_pass(peripheries: list, width: int) -> torch.Tensor:
    """A pass over no rows, as the general path does it: each counter moves once, no pass
    runs, and the result is ``[0, width]`` (the engine is not called: an empty tensor has
    no storage to point at)."""
    for p in peripheries:
        p.call_index = (p.call_index + 1) & MASK32
        p.last_passes = 0
        p.last_bound_hits = 0
    return torch.zeros(0, width, dtype=torch.float32)


class _ReusesBuffers:
    """A prepared pass that reuses its buffers across calls: calls from several threads
    take turns (``self._lock``), and pickles and copies leave the lock behind, with the
    fields :meth:`_state` is told to reset."""

    _lock: threading.RLock

    def _state(self, **reset: object) -> dict:
        state = self.__dict__.copy()
        state.update(reset)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()


class SharedFirstPass(_ReusesBuffers):
    """The compiled first pass of peripheries that read the same input.

    Use :meth:`build`, which returns ``None`` where this does not apply. With several
    peripheries their DACs must be identical and draw no random numbers (then one DAC
    output serves all); a single periphery may have any DAC its plan allows.

    Args:
        peripheries: :class:`~aihw.core.periphery.Periphery` objects whose compiled plans
            (:meth:`~aihw.core.periphery.Periphery.native_plan`) are ``plans``.
        plans: their plans, in the same order.
    """

    def __init__(self, peripheries: list, plans: list) -> None:
        abs_max, thres, inp = plans[0][:3]
        self.peripheries = list(peripheries)
        self.plans = list(plans)
        self.widths = [p.out_size for p in peripheries]
        self.total_width = sum(self.widths)
        self._abs_max = abs_max
        self._dac_args = (thres, *inp) if abs_max else inp
        # Per periphery: its plan's ADC arguments before and after the noise pointer, and
        # its bound management (None: no re-runs).
        self._outputs = []
        offset = 0
        for p, plan, width in zip(peripheries, plans, self.widths, strict=True):
            outp, out_asym, streams, bm = plan[3:]
            if bm == BoundManagementType.NONE or p._reduction_limit() < 1.0:
                bm = None  # a bound hit is final
            rest = (out_asym, 0, 0, *streams, p.seed)  # no weight noise in a plan
            self._outputs.append((p, offset, width, outp, rest, bm))
            offset += width
        self._buffers: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._lock = threading.RLock()

    @classmethod
    def build(cls, peripheries: list) -> SharedFirstPass | None:
        """A first pass for ``peripheries``, or ``None`` where the compiled plan does not
        apply to all of them or (several of them) their DACs differ or draw random
        numbers."""
        plans = [p.native_plan() for p in peripheries]
        if not plans or not all(plans) or not native_periphery_available():
            return None
        abs_max, thres, inp = plans[0][:3]
        if len(plans) > 1 and (
            inp[1] or inp[3] > 0 or any(plan[:3] != (abs_max, thres, inp) for plan in plans[1:])
        ):
            return None
        return cls(peripheries, plans)

    def __getstate__(self) -> dict:
        return self._state(_buffers=None)  # refilled on use

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
            out: where to write the result (``[N, total_width]`` float32), or ``None`` for
                a new tensor.
            accumulate: float32 ``[N, total_width]`` to add the result into (``accumulate
                += result``, the sum over a layer's column splits); the engine adds each
                row as it finishes it.
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
        n, ld = x.shape
        if n == 0:
            empty = empty_pass(self.peripheries, self.total_width)  # the counters move
            return empty if out is None else out
        n_in = matrix.shape[0]
        first = self.peripheries[0]
        if num_threads is None:
            threads = auto_threads(n, n_in, max(self.widths))
        else:
            threads = int(num_threads)
        v, s_nm, hit = self._scratch(n, n_in)
        core = _native.load()
        x_ptr = x.data_ptr() + 4 * start
        call = first.call_index  # the DAC's counter (it draws numbers only when alone)
        if self._abs_max:
            skipped = core.periphery_abs_max_input_stage(
                x_ptr, v.data_ptr(), s_nm.data_ptr(), n, n_in, *self._dac_args, first.seed,
                call, 0, 0, threads, ld,
            )  # fmt: skip
            if skipped:
                return None
            s_ptr = s_nm.data_ptr()
        else:
            core.periphery_input_stage(
                x_ptr, v.data_ptr(), n, n_in, 0, *self._dac_args, first.seed, call, 0, 0,
                threads, ld,
            )  # fmt: skip
            s_nm, s_ptr = None, 0
        y = torch.mm(v, matrix) if out is None else torch.mm(v, matrix, out=out)
        y_ptr, hit_ptr, total = y.data_ptr(), hit.data_ptr(), self.total_width
        acc_ptr = 0 if accumulate is None else accumulate.data_ptr()
        bias_ptr = 0 if bias is None else bias.data_ptr()
        for p, offset, width, outp, rest, bm in self._outputs:
            call = p.call_index
            p.call_index = (call + 1) & MASK32
            n_hit = core.periphery_output_stage(
                y_ptr + 4 * offset, n, width, s_ptr, *outp, pointer(p.noise_per_output),
                *rest, call, 0, 0, hit_ptr, threads, total, acc_ptr and acc_ptr + 4 * offset,
                total, bias_ptr and bias_ptr + 4 * offset,
            )  # fmt: skip
            p.last_passes = 1
            p.last_bound_hits = n_hit
            if n_hit:
                self._finish_bound_hits(p, x, matrix, y, s_nm, hit, accumulate, bias, start,
                                        offset, width, call, bm, threads)  # fmt: skip
        return y

    @staticmethod
    def _finish_bound_hits(p, x, matrix, y, s_nm, hit, accumulate, bias, start, offset, width,
                           call, bm, threads) -> None:  # fmt: skip
        """The rows of ``p``'s block that hit a bound: re-run them with the input halved
        (bound management, as the general path does it), then add them (and ``bias``)
        into ``accumulate`` (which the engine left to us)."""
        sel = torch.nonzero(hit).squeeze(1)
        y_block = y[:, offset : offset + width]
        if bm is not None:
            n_in = matrix.shape[0]
            p._bound_management_loop(
                x[sel, start : start + n_in], matrix[:, offset : offset + width],
                None if s_nm is None else s_nm[sel], sel, y_block, call, bm, 1, True,
                threads, red=2.0,
            )  # fmt: skip
        if accumulate is not None:
            acc_block = accumulate[:, offset : offset + width]
            total = acc_block[sel] + y_block[sel]
            if bias is not None:
                total = total + bias[offset : offset + width]
            acc_block[sel] = total

    def _scratch(self, n: int, n_in: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reused buffers: the DAC output, the noise-management scales and the bound flags.

        They only live within one call (what outlives it is copied out); reusing them saves
        an allocation per call, and for large batches the page faults of fresh memory.
        """
        buffers = self._buffers
        if buffers is None or buffers[0].shape != (n, n_in):
            buffers = self._buffers = (
                torch.empty(n, n_in, dtype=torch.float32),
                torch.empty(n, dtype=torch.float32),
                torch.empty(n, dtype=torch.uint8),
            )
        return buffers


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
    the engine calls (their fixed arguments are worked out once per input shape) and puts
    two products back to back, so that the ADCs of two splits share one such cold start.

    Args:
        splits: per column split, its first pass, its ``[n_in, total_width]`` matrix, the
            first input column it reads and its thread count (``None``: automatic); every
            pass has the same ``total_width``.
    """

    def __init__(self, splits: list[tuple[SharedFirstPass, torch.Tensor, int, int | None]]) -> None:
        self.splits = list(splits)
        self.total_width = splits[0][0].total_width
        self.in_size = max(start + matrix.shape[0] for _, matrix, start, _ in splits)
        self._shape: tuple[int, int] | None = None  # the input shape the calls are for
        self._torch_threads = 0
        self._calls: list = []
        self._buffers: tuple = ()
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

    def __getstate__(self) -> dict:
        return self._state(_shape=None, _calls=[], _buffers=())  # pointers: rebuilt on use

    def _prepare(self, n: int, ld: int) -> None:
        """The buffers and the fixed arguments of every engine call for ``x`` ``[n, ld]``."""
        core = _native.load()
        total = self.total_width
        hit = torch.empty(n, dtype=torch.uint8)
        # Splits after the first alternate between two buffers: a product fills one while
        # the previous split's ADCs still read the other.
        scratch = [torch.empty(n, total, dtype=torch.float32) for _ in self.splits[1:3]]
        buffers: list[torch.Tensor] = [hit, *scratch]
        calls = []
        for c, (shared, matrix, start, num_threads) in enumerate(self.splits):
            n_in = matrix.shape[0]
            v = torch.empty(n, n_in, dtype=torch.float32)
            s_nm = torch.empty(n, dtype=torch.float32)
            buffers += [v, s_nm]
            if num_threads is None:
                threads = auto_threads(n, n_in, max(shared.widths))
            else:
                threads = int(num_threads)
            first = shared.peripheries[0]
            if shared._abs_max:
                dac = core.periphery_abs_max_input_stage
                dac_mid = (v.data_ptr(), s_nm.data_ptr(), n, n_in, *shared._dac_args, first.seed)
                s_ptr = s_nm.data_ptr()
            else:
                dac = core.periphery_input_stage
                dac_mid = (v.data_ptr(), n, n_in, 0, *shared._dac_args, first.seed)
                s_ptr = 0
            outputs = [
                (p, 4 * offset, (n, width, s_ptr, *outp), rest, (0, 0, hit.data_ptr(), threads,
                 total), offset, width, bm)
                for p, offset, width, outp, rest, bm in shared._outputs
            ]  # fmt: skip
            y = None if c == 0 else scratch[(c - 1) % 2]
            calls.append((shared, matrix, start, 4 * start, dac, dac_mid, (0, 0, threads, ld),
                          first, v, s_nm if shared._abs_max else None, threads, outputs, y))  # fmt: skip
        self._calls = calls
        self._buffers = tuple(buffers)
        self._shape = (n, ld)
        self._torch_threads = torch.get_num_threads()  # automatic thread counts follow it

    def thread_counts(self) -> list[int]:
        """The engine threads of each split's calls, as last worked out (empty before the
        first call)."""
        return [call[10] for call in self._calls]

    def __call__(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor | None:
        """``[N, total_width]`` float32: the grid's output for ``x`` (float32, contiguous,
        CPU), plus ``bias`` (float32 contiguous ``[total_width]``) when given; ``None``
        (nothing done, no counter moved) when a row of a split has a zero noise-management
        scale: the caller then runs the splits one by one."""
        with self._lock:
            return self._run(x, bias)

    def _run(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor | None:
        if x.shape[0] == 0:
            peripheries = [p for split in self.splits for p in split[0].peripheries]
            return empty_pass(peripheries, self.total_width)
        if x.shape != self._shape or torch.get_num_threads() != self._torch_threads:
            self._prepare(*x.shape)
        calls = self._calls
        x_ptr = x.data_ptr()
        for call in calls:  # every DAC first: a skipped row stops before any counter moves
            skipped = call[4](x_ptr + call[3], *call[5], call[7].call_index, *call[6])
            if skipped and call[9] is not None:
                return None
        out = torch.mm(calls[0][8], calls[0][1])
        last = len(calls) - 1
        for c in range(1, last + 1):
            torch.mm(calls[c][8], calls[c][1], out=calls[c][12])
            self._output_stages(x, calls[c - 1], out, None)
        self._output_stages(x, calls[last], out, bias if last > 0 else None)
        if bias is not None and last == 0:
            out.add_(bias)
        return out

    def _output_stages(self, x: torch.Tensor, call: tuple, out: torch.Tensor,
                       bias: torch.Tensor | None) -> None:  # fmt: skip
        """One split's ADCs (and bound-management re-runs), on ``out`` for the first split,
        else on its buffer, added (with ``bias``) into ``out``.

        The same engine calls as :meth:`SharedFirstPass.__call__` makes, with their fixed
        arguments prebuilt: calling that method's code from here instead measured about
        3% slower on the 1024 x 1024 forward (more Python steps while the caches are cold).
        """
        shared, matrix, start, _, _, _, _, _, _, s_nm, threads, outputs, y = call
        adc = _native.load().periphery_output_stage
        acc = None if y is None else out
        y = out if y is None else y
        y_ptr, out_ptr, total = y.data_ptr(), out.data_ptr(), self.total_width
        for p, off4, pre, rest, post, offset, width, bm in outputs:
            index = p.call_index
            p.call_index = (index + 1) & MASK32
            noise = p.noise_per_output
            n_hit = adc(
                y_ptr + off4, *pre, 0 if noise is None else noise.data_ptr(), *rest, index,
                *post, 0 if acc is None else out_ptr + off4, total,
                0 if bias is None else bias.data_ptr() + off4,
            )  # fmt: skip
            p.last_passes = 1
            p.last_bound_hits = n_hit
            if n_hit:
                shared._finish_bound_hits(p, x, matrix, y, s_nm, self._buffers[0], acc, bias,
                                          start, offset, width, index, bm, threads)  # fmt: skip

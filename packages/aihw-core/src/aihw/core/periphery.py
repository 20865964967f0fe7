"""The managed MVM of one direction of an analog tile (docs/physics/periphery.md, contract §8).

:class:`Periphery` holds one direction's :class:`~aihw.core.io_parameters.IOParameters`,
its call counter and running state. :meth:`Periphery.run` computes noise management,
runs the input stage (DAC), torch's matrix product and the output stage (ADC), and the
bound-management loop that re-runs only the samples whose output hit a bound. The two
stages run in the implementation :meth:`Periphery.run` is given (:mod:`aihw.core.dispatch`):
the compiled CPU engine (``"native"``, :mod:`aihw.core.engine`), the CUDA kernels
(``"cuda"``, :mod:`aihw.core.engine_cuda`) or plain torch (``"reference"``, their twins in
:mod:`aihw.core.reference.periphery`); all draw the same numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import torch

from . import engine, engine_cuda, ir_drop_time
from .dispatch import EngineName
from .first_pass import (
    MASK32,
    MAX_ROWS,
    FirstPassPlan,
    SharedFirstPass,
    auto_threads,
    empty_pass,
)
from .io_parameters import (
    AnalogMVType,
    BoundManagementType,
    IOParameters,
    NoiseManagementType,
    WeightNoiseType,
)
from .io_parameters_irdrop import IOParametersIRDropT
from .reference import periphery as reference_periphery
from .reference.periphery import STREAMS_BACKWARD, STREAMS_FORWARD
from .scratch import Scratch

__all__ = [
    "Periphery",
    "NM_ASSUMED_WMAX",
    "NM_DECAY",
]


class PeripheryKernels(Protocol):
    """The periphery stages, as :mod:`aihw.core.engine`, :mod:`aihw.core.engine_cuda` and
    :mod:`aihw.core.reference.periphery` provide them."""

    def input_stage(
        self,
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
    ) -> torch.Tensor: ...

    def output_stage(
        self,
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
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def row_abs_max(self, x: torch.Tensor, num_threads: int = 0) -> torch.Tensor: ...


def periphery_kernels(implementation: EngineName) -> PeripheryKernels:
    """The module whose stages run for ``implementation`` (``aihw.core.dispatch.engine_for``)."""
    if implementation == "native":
        return engine
    if implementation == "cuda":
        return engine_cuda
    if implementation == "reference":
        return reference_periphery
    raise ValueError(
        f"implementation={implementation!r} is invalid; allowed: 'native', 'cuda', 'reference'"
    )


#: C++-only constants of the reference toolkit (docs/physics/index.md#defaults).
NM_ASSUMED_WMAX = 0.6
NM_DECAY = 1e-3


class Periphery:
    """One direction (``"forward"`` or ``"backward"``) of a tile's periphery.

    Args:
        io: the direction's IO parameters (copied and validated).
        direction: ``"forward"`` or ``"backward"`` (bound management is off backward).
        out_size: number of outputs of this direction's MVM.
        seed: the tile seed (keys the random numbers; also draws the fixed per-output
            ``out_noise`` spread).

    Attributes:
        call_index: number of passes run (32-bit, wraps); counter word c2 of its numbers.
        last_passes: bound-management passes of the last call (1 without re-runs).
        last_bound_hits: samples still at a bound after the last call.
        average_abs_max: the running value of ``AverageAbsMax`` noise management.
        is_test: eval mode; the time-dependent IR drop of
            :class:`~aihw.core.io_parameters_irdrop.IOParametersIRDropT` acts only then.
        ir_drop_rows: the physical rows of that IR drop (0: the matrix's rows).
        ir_drop_converter: its conductance converter (``None``: one pair, 25 uS).
    """

    def __init__(self, io: IOParameters, direction: str, out_size: int, seed: int):
        if not isinstance(io, IOParameters):
            raise TypeError(
                f"{direction} IO parameters must be IOParameters; got {type(io).__name__}"
            )
        if direction not in ("forward", "backward"):
            raise ValueError(f"direction={direction!r}; allowed: 'forward', 'backward'")
        if direction == "backward" and isinstance(io, IOParametersIRDropT):
            raise ValueError(
                "backward IO parameters are IOParametersIRDropT; the time-dependent IR drop "
                "is a forward periphery (allowed backward: IOParameters)"
            )
        self.io = dataclasses.replace(io)  # validates; the user's copy stays theirs
        self.out_size = out_size  # outputs of this direction's MVM
        self.direction = direction
        self.streams = STREAMS_FORWARD if direction == "forward" else STREAMS_BACKWARD
        self.seed = seed
        self.call_index = 0
        self.last_passes = 0
        self._last_bound_hits = 0
        # The last pass's bound flags when nobody has counted them yet: on a GPU the count
        # is a device-to-host copy, made only when someone reads last_bound_hits.
        self._pending_hits: torch.Tensor | None = None
        self.average_abs_max: float | None = None
        self._plan: FirstPassPlan | None = None  # the compiled first pass's settings
        self._plan_ready = False  # whether _plan is worked out (None: no compiled pass)
        self._first_pass: SharedFirstPass | None = None  # built from _plan
        self._out_scratch = Scratch()  # the product's buffer, reused once it is free
        self.noise_per_output: torch.Tensor | None = None
        if not self.io.exact and self.io.out_noise_std > 0:
            gen = torch.Generator().manual_seed(
                (seed + (1 if direction == "forward" else 2)) % 2**63
            )
            spread = torch.randn(out_size, generator=gen, dtype=torch.float64)
            sigma = self.io.out_noise * (1.0 + self.io.out_noise_std * spread)
            self.noise_per_output = sigma.clamp(min=0.0).to(torch.float32)
        self.voltage_offsets: torch.Tensor | None = None
        if not self.io.exact and self.io.v_offset_std > 0:
            gen = torch.Generator().manual_seed(
                (seed + (5 if direction == "forward" else 6)) % 2**63
            )
            xi = torch.randn(out_size, generator=gen, dtype=torch.float64)
            self.voltage_offsets = (self.io.v_offset_std * xi).clamp(min=0.0).to(torch.float32)
        self._read_asymmetry: torch.Tensor | None = None  # drawn at the first pos/neg pass
        self.nonlinearity_per_output: torch.Tensor | None = None
        self.nonlinearity_gain = 1.0
        if not self.io.exact and self.io.out_nonlinearity > 0:
            self._draw_nonlinearity(out_size)
        # The time-dependent IR drop (IOParametersIRDropT): on in test mode only, on a
        # tile of ir_drop_rows physical rows (0: the matrix's), with the conductances of
        # ir_drop_converter (None: one pair, 25 uS); the inference tile sets all three.
        self.is_test = False
        self.ir_drop_rows = 0
        self.ir_drop_converter: Any = None
        self._ir_drop_model: ir_drop_time.ColumnModel | None = None  # during one call

    def __repr__(self) -> str:
        return f"Periphery({self.direction!r}, {self.io!r})"

    def __getstate__(self) -> dict[str, Any]:
        # Pickles and deep copies leave the compiled first pass (and its buffers) behind.
        state = self.__dict__.copy()
        state["_first_pass"] = None
        state["_last_bound_hits"] = self.last_bound_hits
        state["_pending_hits"] = None
        state["_ir_drop_model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "last_bound_hits" in state:  # pickled before the count became lazy
            state["_last_bound_hits"] = state.pop("last_bound_hits")
        state.setdefault("_pending_hits", None)
        state.setdefault("_out_scratch", Scratch())
        for name, default in (("is_test", False), ("ir_drop_rows", 0)):
            state.setdefault(name, default)
        state.setdefault("ir_drop_converter", None)
        state["_ir_drop_model"] = None
        self.__dict__.update(state)

    @property
    def last_bound_hits(self) -> int:
        """Samples still at a bound after the last call."""
        pending = self._pending_hits
        if pending is not None:
            self._last_bound_hits = int(pending.sum())
            self._pending_hits = None
        return self._last_bound_hits

    @last_bound_hits.setter
    def last_bound_hits(self, value: int) -> None:
        self._last_bound_hits = int(value)
        self._pending_hits = None

    def _draw_nonlinearity(self, out_size: int) -> None:
        """The fixed per-output non-linearity ``n_i`` and calibration gain ``f``
        (docs/physics/periphery.md#output-non-linearity), from their own generator (seed + 3
        forward, + 4 backward)."""
        io = self.io
        gen = torch.Generator().manual_seed(
            (self.seed + (3 if self.direction == "forward" else 4)) % 2**63
        )
        xi = torch.randn(out_size, generator=gen, dtype=torch.float64)
        n_i = (io.out_nonlinearity / io.out_bound * (1.0 + io.out_nonlinearity_std * xi)).abs()
        self.nonlinearity_per_output = n_i.to(torch.float32)
        if io.slope_calibration > 0:
            mean = float(n_i.mean()) + float(io.r_series)
            self.nonlinearity_gain = (1.0 + mean * io.slope_calibration * io.out_bound) ** 2

    # -- noise management -------------------------------------------------------------------
    def _nm_scale(
        self,
        x: torch.Tensor,
        nm: NoiseManagementType | str,
        implementation: EngineName = "reference",
        threads: int = 0,
    ) -> torch.Tensor | None:
        """``s_nm`` per row (float32), or ``None`` without noise management
        (docs/physics/periphery.md#noise-management)."""
        io = self.io
        thres = float(io.nm_thres)
        if nm == NoiseManagementType.NONE:
            return None
        if nm == NoiseManagementType.CONSTANT:
            return torch.full(
                (x.shape[0],), thres if thres > 0 else 1.0, dtype=torch.float32, device=x.device
            )
        if nm == NoiseManagementType.AVERAGE_ABS_MAX:
            m = float(x.abs().amax()) if x.numel() else 0.0
            a = (
                m
                if self.average_abs_max is None
                else (1 - NM_DECAY) * self.average_abs_max + NM_DECAY * m
            )
            self.average_abs_max = a
            return torch.full((x.shape[0],), a, dtype=torch.float32, device=x.device)
        if nm == NoiseManagementType.MAX:
            s = x.amax(1)
        else:
            kernels = periphery_kernels(implementation)
            compiled = implementation != "reference"
            s = kernels.row_abs_max(x.contiguous() if compiled else x, threads)
        if thres > 0:
            s = s.clamp(max=thres)
        if nm == NoiseManagementType.ABS_MAX_NP_SUM:
            s = s.to(torch.float64)
            x64 = x.to(torch.float64)
            total = torch.maximum(x64.clamp(min=0).sum(1), (-x64).clamp(min=0).sum(1))
            bound = float(io.out_bound) if io.out_bound > 0 else 1.0
            c = total * NM_ASSUMED_WMAX / bound
            if io.inp_step > 0:
                c = torch.minimum(c, s * (io.max_bm_res / io.inp_step))
            s = torch.maximum(s, c).to(torch.float32)
        return s

    # -- the managed MVM -----------------------------------------------------------------
    def run(
        self,
        x: torch.Tensor,
        matrix: torch.Tensor,
        implementation: EngineName,
        num_threads: int | None = 0,
    ) -> torch.Tensor:
        """``y = periphery(x @ matrix)``: the managed MVM of docs/physics/periphery.md#forward-pass
        (docs/physics/periphery.md#backward-pass backward).

        Args:
            x: float32 ``[N, in]``, contiguous.
            matrix: float32 ``[in, out]`` (e.g. ``W.T`` forward, ``W`` backward).
            implementation: where the stages run: ``"native"`` (the compiled CPU engine, CPU
                tensors), ``"cuda"`` (the CUDA kernels, tensors on a GPU) or
                ``"reference"`` (plain torch, any device); see
                ``aihw.core.dispatch.engine_for``.
            num_threads: threads of the compiled stages (``<= 0``: one per core; ``None``:
                torch's thread count, one thread for small passes).

        Returns:
            float32 ``[N, out]``.
        """
        io = self.io
        plan = self.first_pass_plan()
        # The product's buffer is reused once nobody holds the last one (page faults).
        scratch = (
            x.is_cpu
            and x.dtype == torch.float32
            and matrix.dtype == torch.float32
            and not (torch.is_grad_enabled() and (x.requires_grad or matrix.requires_grad))
        )
        if plan is None and io.exact:
            if io.out_scale != 1.0:
                return torch.mm(x, matrix) * io.out_scale
            if not scratch:
                return torch.mm(x, matrix)
            return torch.mm(x, matrix, out=self._out_scratch.take((x.shape[0], matrix.shape[1])))
        if x.shape[0] > MAX_ROWS:
            raise ValueError(f"batch of {x.shape[0]} rows; at most 2**31 - 1 samples per pass")
        if num_threads is None:
            num_threads = auto_threads(x.shape[0], x.shape[1], matrix.shape[1])
        if x.shape[0] == 0:
            # No storage to hand the engine; and both back-ends must leave the running
            # AverageAbsMax alone (an empty batch has no maximum).
            return empty_pass([self], matrix.shape[1], x.device)
        if implementation == "native" and plan is not None:
            # The compiled first pass (noise management fused into the DAC); it moves the
            # counter itself, and does nothing when a row has a zero scale.
            first = self._first_pass
            if first is None or first.plans[0] is not plan:
                first = self._first_pass = SharedFirstPass([self], [plan])
            buffer = self._out_scratch.take((x.shape[0], matrix.shape[1])) if scratch else None
            out = first(x, matrix, num_threads=int(num_threads), out=buffer)
            if out is not None:
                return out
        model = self._time_dependent_ir_drop(matrix)  # checked before the counter moves
        call = self.call_index
        self.call_index = (call + 1) & MASK32
        bm = io.bound_management if self.direction == "forward" else BoundManagementType.NONE
        self._ir_drop_model = model
        try:
            return self._run_general(x, matrix, call, bm, implementation, num_threads)
        finally:
            self._ir_drop_model = None

    def _time_dependent_ir_drop(self, matrix: torch.Tensor) -> ir_drop_time.ColumnModel | None:
        """The columns of the time-dependent IR drop for ``matrix``, or ``None`` where it
        is off (other IO parameters, training mode, ``ir_drop = 0``)."""
        io = self.io
        if not (isinstance(io, IOParametersIRDropT) and self.is_test and io.ir_drop > 0):
            return None
        converter = self.ir_drop_converter
        if converter is None:
            converter = ir_drop_time.default_converter()
        return ir_drop_time.column_model(io, matrix, int(self.ir_drop_rows), converter)

    def _run_general(
        self,
        x: torch.Tensor,
        matrix: torch.Tensor,
        call: int,
        bm: BoundManagementType | str,
        implementation: EngineName,
        num_threads: int,
    ) -> torch.Tensor:
        """Every noise- and bound-management type, stage by stage."""
        io = self.io
        n, n_out = x.shape[0], matrix.shape[1]
        device = x.device
        out: torch.Tensor | None = None
        forward = self.direction == "forward"
        s_nm = self._nm_scale(x, io.noise_management, implementation, num_threads)

        ids: torch.Tensor | None = None  # rows still computed (None: all of them)
        xa = x
        if s_nm is not None:
            if n and float(s_nm.min()) <= 0:
                nonpositive = s_nm <= 0
                if not forward or io.inp_noise <= 0:
                    # these rows give y = 0 (docs/physics/periphery.md#zero-inputs, #backward-pass)
                    keep = ~nonpositive
                    out = torch.zeros(n, n_out, dtype=torch.float32, device=device)
                    ids = torch.nonzero(keep).squeeze(1)
                    xa, s_nm = x[ids], s_nm[ids]
                else:
                    s_nm = torch.where(nonpositive, torch.ones_like(s_nm), s_nm)
        out = self._bound_management_loop(
            xa, matrix, s_nm, ids, out, call, bm, 0, implementation, num_threads
        )
        if out is None:  # no row to compute
            out = torch.zeros(n, n_out, dtype=torch.float32, device=device)
        return out

    def _bound_management_loop(
        self,
        xa: torch.Tensor,
        matrix: torch.Tensor,
        s_nm: torch.Tensor | None,
        ids: torch.Tensor | None,
        out: torch.Tensor | None,
        call: int,
        bm: BoundManagementType | str,
        passes: int,
        implementation: EngineName,
        num_threads: int,
        red: float = 1.0,
    ) -> torch.Tensor | None:
        """Run passes ``passes, passes + 1, ...`` on the rows ``ids`` until none hits a
        bound or the reduction limit is passed (docs/physics/periphery.md#bound-management); returns
        the filled ``out``."""
        io = self.io
        hits = self.last_bound_hits if passes else 0
        pending: torch.Tensor | None = None  # the last flags, counted only when read
        max_red = self.reduction_limit()
        while xa.shape[0] > 0:
            if bm == BoundManagementType.ITERATIVE_WORST_CASE and passes == 1:
                if io.noise_management != NoiseManagementType.ABS_MAX_NP_SUM:
                    s_nm = self._nm_scale(
                        xa, NoiseManagementType.ABS_MAX_NP_SUM, implementation, num_threads
                    )
                red = 1.0
            y, hit = self._one_pass(
                xa, matrix, s_nm, red, ids, call, passes, implementation, num_threads
            )
            if out is None:
                out = y  # the first pass computes every row
            else:
                out[ids] = y
            passes += 1
            if bm == BoundManagementType.NONE or red > max_red:
                pending = hit  # no re-run: the flags need not reach the host now
                break
            hits = int(hit.sum())  # on a GPU the one synchronisation of a pass
            if hits == 0:
                break
            sel = torch.nonzero(hit).squeeze(1)  # bool or uint8 flags
            ids = sel if ids is None else ids[sel]
            xa = xa[sel]
            if s_nm is not None:
                s_nm = s_nm[sel]
            red *= 2.0
        self.last_passes = passes
        self.last_bound_hits = hits
        self._pending_hits = pending
        return out

    # -- the compiled first pass -----------------------------------------------------------
    def first_pass_plan(self) -> FirstPassPlan | None:
        """The compiled first pass's settings (see :meth:`_make_plan`), kept until a field
        of the IO parameters changes; ``None`` where it does not apply."""
        io = self.io
        if io.changed_since_validation():
            io.validate()  # someone changed a field since it was last checked
            self._plan_ready = False
        if not self._plan_ready:
            self._plan = self._make_plan()
            self._plan_ready = True
        return self._plan

    def _make_plan(self) -> FirstPassPlan | None:
        """The compiled first pass's settings, or ``None`` where it does not apply.

        It applies in the common case: one analog pass, abs-max or no noise management, no
        weight noise, ``out_scale = 1``, plain iterative (or no) bound management and none
        of the MAC and ADC non-idealities, with the compiled engine there.
        """
        io = self.io
        bm = io.bound_management if self.direction == "forward" else BoundManagementType.NONE
        if (
            io.exact
            or bm == BoundManagementType.ITERATIVE_WORST_CASE
            or io.mv_type != AnalogMVType.ONE_PASS
            or io.noise_management not in (NoiseManagementType.ABS_MAX, NoiseManagementType.NONE)
            or not (io.w_noise_type == WeightNoiseType.NONE or io.w_noise <= 0)
            or io.out_scale != 1.0
            or io.ir_drop > 0
            or io.v_offset_std > 0
            or io.out_nonlinearity > 0
            or not engine.native_available()
        ):
            return None
        st = self.streams
        dac = (
            float(io.inp_step),
            bool(io.inp_sto_round),
            float(io.inp_bound),
            float(io.inp_noise),
            float(io.inp_asymmetry),
        )
        return FirstPassPlan(
            abs_max=io.noise_management == NoiseManagementType.ABS_MAX,
            nm_thres=float(io.nm_thres),
            dac_key=(*dac, st["inp_noise"], st["inp_round"]),
            dac=engine.input_stage_config(*dac, st),
            adc=engine.output_stage_config(
                float(io.out_step),
                bool(io.out_sto_round),
                float(io.out_bound),
                bool(io.bm_test_negative_bound),
                float(io.out_noise),
                float(io.out_asymmetry),
                st,
            ),
            bound_management=BoundManagementType(bm),
        )

    def rerun_bound_hits(
        self,
        x: torch.Tensor,
        matrix: torch.Tensor,
        s_nm: torch.Tensor | None,
        ids: torch.Tensor,
        out: torch.Tensor,
        call: int,
        bm: BoundManagementType,
        num_threads: int,
    ) -> None:
        """Bound management after a compiled first pass: re-run the rows ``ids`` (inputs
        ``x``, scales ``s_nm``) from the second pass on, into ``out``."""
        self._bound_management_loop(
            x, matrix, s_nm, ids, out, call, bm, 1, "native", num_threads, red=2.0
        )

    def reduction_limit(self) -> float:
        """The largest input reduction of bound management (``max_bm_factor``, and
        ``max_bm_res / inp_step`` with a DAC step)."""
        io = self.io
        max_red = float(io.max_bm_factor)
        if io.inp_step > 0:
            max_red = min(max_red, io.max_bm_res / io.inp_step)
        return max_red

    def _one_pass(
        self,
        xa: torch.Tensor,
        matrix: torch.Tensor,
        s_nm: torch.Tensor | None,
        red: float,
        ids: torch.Tensor | None,
        call: int,
        bm_pass: int,
        implementation: EngineName,
        num_threads: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One pass of the rows ``xa``: their outputs and bound flags (bool or uint8)."""
        io = self.io
        device = xa.device
        # Row scales, in float32: in = 1 / (s_nm * red), out = out_scale * s_nm * red.
        if s_nm is None:
            denom = (
                None
                if red == 1.0
                else torch.full((xa.shape[0],), red, dtype=torch.float32, device=device)
            )
        else:
            denom = s_nm if red == 1.0 else s_nm * red
        if denom is None:
            in_scale = None
            out_scale = None
            if io.out_scale != 1.0:
                out_scale = torch.full(
                    (xa.shape[0],), io.out_scale, dtype=torch.float32, device=device
                )
        else:
            in_scale = torch.reciprocal(denom)
            out_scale = denom if io.out_scale == 1.0 else denom * io.out_scale
        row_ids = None if ids is None else ids.to(torch.int32)
        kernels = periphery_kernels(implementation)
        compiled = implementation != "reference"  # the compiled stages need contiguous rows
        threads = int(num_threads)
        sub = bm_pass << 1
        v = kernels.input_stage(
            xa.contiguous() if compiled else xa, in_scale, step=io.inp_step,
            sto_round=io.inp_sto_round, bound=float(io.inp_bound), noise=float(io.inp_noise),
            asymmetry=float(io.inp_asymmetry), streams=self.streams, seed=self.seed,
            call_index=call, sub=sub, row_ids=row_ids, num_threads=threads,
        )  # fmt: skip
        mv = io.mv_type
        sigma = self.noise_per_output
        if sigma is not None and sigma.device != device:
            sigma = sigma.to(device)

        def adc(
            y: torch.Tensor, w_std: torch.Tensor | None, part: int = 0, whole: bool = False
        ) -> tuple[torch.Tensor, torch.Tensor]:
            # whole: part is the complete counter word (the bit-wise passes)
            return self._adc(kernels, compiled, y, out_scale, sigma, w_std, call,
                             part if whole else sub | part, row_ids, threads)  # fmt: skip

        if isinstance(io, IOParametersIRDropT):
            return self._pulse_passes(v, matrix, bm_pass, adc)
        if mv == AnalogMVType.ONE_PASS:
            y = self._mac(v, matrix)
            return adc(y, self._w_noise_std(v, matrix))
        v_pos, v_neg = v.clamp(min=0), v.clamp(max=0)
        y_pos = self._mac(v_pos, matrix)
        # The negative pass may see other weights (w_read_asymmetry_dtod,
        # docs/physics/periphery.md#positive-and-negative-passes).
        y_neg = self._mac(v_neg, self._negative_pass_matrix(matrix))
        w_pos, w_neg = self._w_noise_std(v_pos, matrix), self._w_noise_std(v_neg, matrix)
        if mv == AnalogMVType.POS_NEG_SEPARATE:
            w_std = (
                None
                if w_pos is None or w_neg is None
                else torch.sqrt(w_pos * w_pos + w_neg * w_neg)
            )
            return adc(y_pos + y_neg, w_std)
        # PosNegSeparateDigitalSum: one ADC per pass, summed digitally.
        y1, h1 = adc(y_pos, w_pos)
        y2, h2 = adc(y_neg, w_neg, part=1)
        return y1 + y2, h1.bool() | h2.bool()

    def _pulse_passes(
        self,
        v: torch.Tensor,
        matrix: torch.Tensor,
        bm_pass: int,
        adc: Callable[..., tuple[torch.Tensor, torch.Tensor]],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The passes of IOParametersIRDropT (docs/physics/periphery.md#time-dependent-ir-drop):
        each through the MAC (with the IR drop in test mode) and the ADC, summed digitally."""
        io = self.io
        assert isinstance(io, IOParametersIRDropT)
        model = self._ir_drop_model
        if model is None and io.mv_type == AnalogMVType.ONE_PASS:
            return adc(torch.mm(v, matrix), None)  # the exact product, as the normal forward
        passes = ir_drop_time.pulse_passes(io, v)
        bit_wise = io.mv_type == AnalogMVType.BIT_WISE
        total: torch.Tensor | None = None
        hits: torch.Tensor | None = None
        for p in passes:
            y = torch.mm(p.v, matrix) if model is None else ir_drop_time.pass_output(p, model)
            # The ADC's counters: part = the pass (sub = pass << 1 | part, or << 5 bit-wise).
            part = (bm_pass << ir_drop_time.BIT_SHIFT | p.part) if bit_wise else p.part
            y, hit = adc(y, None, part, bit_wise)
            total = y if total is None else total + y * p.weight
            hits = hit.bool() if hits is None else hits | hit.bool()
        assert total is not None and hits is not None
        return total, hits

    # -- non-idealities of the MAC and the ADC (docs/physics/periphery.md#mac-non-idealities) ------
    def _mac(self, v: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """``v @ matrix`` with the IR drop and the voltage offsets, in that order."""
        y = self._ir_drop(v, matrix, torch.mm(v, matrix))
        offsets = self.voltage_offsets
        if offsets is None:
            return y
        # v_offset_w_min = 0: y (1 - o_i); otherwise the implicit reference g = -v_offset_w_min
        # adds -2 o_i g sum_j v_j (no series resistance).
        o = offsets.to(y.device)
        y = y * (1.0 - o)
        g = -float(self.io.v_offset_w_min)
        if g != 0.0:
            y = y - (o * (2.0 * g)) * v.sum(dim=1, keepdim=True)
        return y

    def _negative_pass_matrix(self, matrix: torch.Tensor) -> torch.Tensor:
        """``matrix`` with each weight times its fixed ``1 + w_read_asymmetry_dtod xi``."""
        if self.io.w_read_asymmetry_dtod <= 0:
            return matrix
        factor = self._read_asymmetry
        if factor is None or factor.shape != matrix.shape:
            gen = torch.Generator().manual_seed(
                (self.seed + (7 if self.direction == "forward" else 8)) % 2**63
            )
            xi = torch.randn(matrix.shape, generator=gen, dtype=torch.float64)
            factor = (1.0 + self.io.w_read_asymmetry_dtod * xi).to(torch.float32)
            self._read_asymmetry = factor
        return matrix * factor.to(matrix.device)

    def _ir_drop(self, v: torch.Tensor, matrix: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y`` less the IR drop along the input lines (docs/physics/periphery.md#ir-drop), in
        float32 torch.

        Both back-ends run this same code (two more matrix products), so they agree.
        """
        io = self.io
        if io.ir_drop <= 0:
            return y
        n = matrix.shape[0]
        # a_i = (n / g_ratio) sum_j |W_ij| |v_j|, then the cubic c(a).
        a = torch.mm(v.abs(), matrix.abs()) * (n / float(io.ir_drop_g_ratio))
        c = a * (a * (a * 0.05 - 0.2) + 0.5)
        j = torch.arange(n, dtype=torch.float32, device=v.device)
        ramp = 1.0 - (1.0 - j / n) ** 2  # v'_j = v_j (1 - (1 - j/n)^2)
        return y - (c * torch.mm(v * ramp, matrix)) * float(io.ir_drop)

    def _adc(
        self,
        kernels: PeripheryKernels,
        compiled: bool,
        y: torch.Tensor,
        out_scale: torch.Tensor | None,
        sigma: torch.Tensor | None,
        w_std: torch.Tensor | None,
        call: int,
        sub: int,
        row_ids: torch.Tensor | None,
        threads: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The output stage; with an output non-linearity, the weight noise (the last step
        of the MAC) is added first, by the reference stage, then the non-linearity."""
        nonlinearity = self.nonlinearity_per_output
        if nonlinearity is not None:
            if w_std is not None:
                y, _ = reference_periphery.output_stage(
                    y, None, step=0.0, sto_round=False, bound=0.0, test_negative_bound=False,
                    noise=0.0, noise_per_output=None, asymmetry=0.0, w_noise_std=w_std,
                    streams=self.streams, seed=self.seed, call_index=call, sub=sub,
                    row_ids=row_ids,
                )  # fmt: skip
                w_std = None
            n_i = nonlinearity.to(y.device)
            y = (y * self.nonlinearity_gain) / (1.0 + (y * n_i).abs())
        io = self.io
        y, hit = kernels.output_stage(
            y.contiguous() if compiled else y, out_scale, step=io.out_step,
            sto_round=io.out_sto_round, bound=float(io.out_bound),
            test_negative_bound=io.bm_test_negative_bound, noise=float(io.out_noise),
            noise_per_output=sigma, asymmetry=float(io.out_asymmetry), w_noise_std=w_std,
            streams=self.streams, seed=self.seed, call_index=call, sub=sub, row_ids=row_ids,
            num_threads=threads,
        )  # fmt: skip
        return y, hit

    def _w_noise_std(self, v: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor | None:
        io = self.io
        if io.w_noise_type == WeightNoiseType.NONE or io.w_noise <= 0:
            return None
        w = torch.tensor(io.w_noise, dtype=torch.float32, device=v.device)
        std: torch.Tensor
        if io.w_noise_type == WeightNoiseType.ADDITIVE_CONSTANT:
            std = (w * torch.linalg.vector_norm(v, dim=1)).contiguous()
        else:
            std = (w * torch.sqrt(torch.mm(v * v, matrix.abs()))).contiguous()
        return std

    def to(self, device: torch.device) -> None:
        """Move the per-output tensors to ``device``; the compiled first pass's buffers
        (host memory of the last shape) are dropped and rebuilt on use; the last pass's
        bound count is taken before its flags would be left on the old device."""
        self._first_pass = None
        if self._pending_hits is not None:
            _ = self.last_bound_hits  # folds the flags into an int
        if self.noise_per_output is not None:
            self.noise_per_output = self.noise_per_output.to(device)
        if self.nonlinearity_per_output is not None:
            self.nonlinearity_per_output = self.nonlinearity_per_output.to(device)
        if self.voltage_offsets is not None:
            self.voltage_offsets = self.voltage_offsets.to(device)

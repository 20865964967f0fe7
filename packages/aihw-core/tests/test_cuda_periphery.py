"""The CUDA periphery stages (contract §8, §11.2) against the CPU engine, bit for bit.

Without a GPU the kernels' own work items run in their host emulation
(:func:`aihw.core.engine_cuda.host_emulation`); the tests marked ``cuda`` run the kernels
themselves on a GPU and skip elsewhere.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from aihw.core import engine, engine_cuda
from aihw.core.reference import periphery as reference_periphery
from aihw.core.reference.periphery import STREAMS_BACKWARD, STREAMS_FORWARD

pytestmark = pytest.mark.skipif(
    not engine.native_available(), reason="needs the compiled engine (its emulation)"
)

SEED = 0x1234_5678_9ABC_DEF0

# (rows, cols): a ragged last quad, one narrow row, a wider one.
SHAPES = [(5, 7), (1, 1), (9, 64), (3, 1030)]

INPUT_CASES = [
    dict(step=0.0, sto_round=False, bound=1.0, noise=0.0, asymmetry=0.0),
    dict(step=1 / 64, sto_round=False, bound=1.0, noise=0.0, asymmetry=0.0),
    dict(step=1 / 64, sto_round=True, bound=0.8, noise=0.0, asymmetry=0.0),
    dict(step=1 / 128, sto_round=False, bound=1.0, noise=0.05, asymmetry=0.0),
    dict(step=0.0, sto_round=False, bound=1.5, noise=0.1, asymmetry=0.3),
    dict(step=1 / 32, sto_round=True, bound=1.0, noise=0.02, asymmetry=0.1),
]

OUTPUT_CASES = [
    dict(step=0.0, sto_round=False, bound=0.0, noise=0.0, asymmetry=0.0),
    dict(step=1 / 256, sto_round=False, bound=2.0, noise=0.06, asymmetry=0.0),
    dict(step=1 / 256, sto_round=True, bound=1.0, noise=0.0, asymmetry=0.0),
    dict(step=0.0, sto_round=False, bound=0.5, noise=0.1, asymmetry=0.2),
    dict(step=1 / 64, sto_round=True, bound=0.7, noise=0.03, asymmetry=0.05),
]


def _inputs(rows: int, cols: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=gen) * 1.5


def _row_ids(rows: int) -> torch.Tensor:
    return (torch.arange(rows, dtype=torch.int32) * 7 + 3).contiguous()


def _input_args(case: dict, streams: dict, row_ids: torch.Tensor | None, sub: int) -> dict:
    return dict(**case, streams=streams, seed=SEED, call_index=11, sub=sub, row_ids=row_ids)


def _same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert torch.equal(a.view(torch.int32), b.view(torch.int32)), (a - b).abs().max()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", INPUT_CASES)
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("ids", [False, True])
def test_input_stage_emulation_equals_the_cpu_engine(shape, case, scaled, ids):
    rows, cols = shape
    x = _inputs(rows, cols)
    scale = (
        (torch.rand(rows, generator=torch.Generator().manual_seed(2)) + 0.25) if scaled else None
    )
    row_ids = _row_ids(rows) if ids else None
    for streams, sub in ((STREAMS_FORWARD, 0), (STREAMS_BACKWARD, 5)):
        args = _input_args(case, streams, row_ids, sub)
        want = engine.input_stage(x, scale, **args)
        with engine_cuda.host_emulation():
            got = engine_cuda.input_stage(x, scale, **args)
        _same(got, want)
        _same(reference_periphery.input_stage(x, scale, **args), want)


def _output_args(case, streams, row_ids, sub, test_negative, sigma, w_std) -> dict:
    return dict(
        **case,
        test_negative_bound=test_negative,
        noise_per_output=sigma,
        w_noise_std=w_std,
        streams=streams,
        seed=SEED,
        call_index=0xFFFF_FFFF,
        sub=sub,
        row_ids=row_ids,
    )


def _w_std(mode: int, rows: int, cols: int) -> torch.Tensor | None:
    gen = torch.Generator().manual_seed(9)
    if mode == 0:
        return None
    if mode == 1:
        return torch.rand(rows, generator=gen) * 0.1
    return torch.rand(rows, cols, generator=gen) * 0.1


def _run_output(kernels, y, scale, args):
    out, hit = kernels.output_stage(y.clone(), scale, **args)
    return out, hit.bool()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("w_mode", [0, 1, 2])
@pytest.mark.parametrize(
    "scaled, ids, per_output, test_negative",
    list(itertools.product([False, True], [False, True], [False, True], [True, False]))[::3],
)
def test_output_stage_emulation_equals_the_cpu_engine(
    shape, case, w_mode, scaled, ids, per_output, test_negative
):
    rows, cols = shape
    y = _inputs(rows, cols, seed=1)
    scale = None
    if scaled:
        scale = torch.rand(rows, generator=torch.Generator().manual_seed(3)) + 0.25
        scale[0] = 0.0  # a zero row: exactly +0, no flag, no numbers
    sigma = (
        (torch.rand(cols, generator=torch.Generator().manual_seed(4)) * 0.1) if per_output else None
    )
    args = _output_args(
        case, STREAMS_FORWARD, _row_ids(rows) if ids else None, 2, test_negative, sigma,
        _w_std(w_mode, rows, cols),
    )  # fmt: skip
    want, want_hit = _run_output(engine, y, scale, args)
    with engine_cuda.host_emulation():
        got, got_hit = _run_output(engine_cuda, y, scale, args)
    _same(got, want)
    assert torch.equal(got_hit, want_hit)
    ref, ref_hit = reference_periphery.output_stage(y.clone(), scale, **args)
    _same(ref, want)
    assert torch.equal(ref_hit, want_hit)
    if scaled:
        assert not got_hit[0] and torch.equal(
            got[0].view(torch.int32), torch.zeros(cols, dtype=torch.int32)
        )


def test_output_stage_flags_bound_hits_and_the_negative_bound_test():
    y = torch.tensor([[0.1, 0.2, -3.0, 0.0], [5.0, 0.0, 0.0, 0.0], [0.1, 0.1, 0.1, 0.1]])
    base = dict(step=0.0, sto_round=False, bound=1.0, noise=0.0, asymmetry=0.0)
    for test_negative, flags in ((True, [1, 1, 0]), (False, [0, 1, 0])):
        args = _output_args(base, STREAMS_FORWARD, None, 0, test_negative, None, None)
        with engine_cuda.host_emulation():
            out, hit = engine_cuda.output_stage(y.clone(), None, **args)
        assert hit.tolist() == flags
        assert out.abs().max() <= 1.0
        _same(out, engine.output_stage(y.clone(), None, **args)[0])


def test_row_abs_max_equals_the_cpu_engine():
    x = _inputs(6, 13)
    x[2] = 0.0
    with engine_cuda.host_emulation():
        got = engine_cuda.row_abs_max(x)
    _same(got, engine.row_abs_max(x))
    with engine_cuda.host_emulation():
        assert engine_cuda.row_abs_max(torch.zeros(3, 0)).tolist() == [0.0, 0.0, 0.0]


def test_bad_input_is_refused_before_anything_runs():
    x = _inputs(4, 8)
    args = _input_args(INPUT_CASES[3], STREAMS_FORWARD, None, 0)
    with engine_cuda.host_emulation():
        with pytest.raises(ValueError, match="x must be a contiguous torch.float32"):
            engine_cuda.input_stage(x.t().contiguous().t(), None, **args)
        with pytest.raises(ValueError, match="row_scale must have shape"):
            engine_cuda.input_stage(x, torch.ones(3), **args)
        with pytest.raises(ValueError, match="row_ids must be a contiguous torch.int32"):
            engine_cuda.input_stage(x, None, **{**args, "row_ids": torch.arange(4)})
        y = x.clone()
        out_args = _output_args(OUTPUT_CASES[1], STREAMS_FORWARD, None, 0, True, None, None)
        with pytest.raises(ValueError, match="noise_per_output must have shape"):
            engine_cuda.output_stage(y, None, **{**out_args, "noise_per_output": torch.ones(3)})
        with pytest.raises(ValueError, match="y must be a contiguous torch.float32"):
            engine_cuda.output_stage(y.double(), None, **out_args)
        assert torch.equal(y, x)  # nothing ran
    with pytest.raises(ValueError, match="x must be on a CUDA device"):
        engine_cuda.input_stage(x, None, **args)


# -- on a GPU ---------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.parametrize("case", INPUT_CASES)
@pytest.mark.parametrize("ids", [False, True])
def test_input_stage_kernel_equals_the_cpu_engine(case, ids):
    for rows, cols in SHAPES + [(64, 4096)]:
        x = _inputs(rows, cols)
        scale = torch.rand(rows, generator=torch.Generator().manual_seed(2)) + 0.25
        args = _input_args(case, STREAMS_FORWARD, _row_ids(rows) if ids else None, 4)
        want = engine.input_stage(x, scale, **args)
        gpu_args = {**args, "row_ids": None if not ids else args["row_ids"].cuda()}
        got = engine_cuda.input_stage(x.cuda(), scale.cuda(), **gpu_args)
        _same(got.cpu(), want)


@pytest.mark.cuda
@pytest.mark.parametrize("case", OUTPUT_CASES)
@pytest.mark.parametrize("w_mode", [0, 1, 2])
@pytest.mark.parametrize("per_output", [False, True])
def test_output_stage_kernel_equals_the_cpu_engine(case, w_mode, per_output):
    for rows, cols in SHAPES + [(64, 4096)]:
        y = _inputs(rows, cols, seed=1)
        scale = torch.rand(rows, generator=torch.Generator().manual_seed(3)) + 0.25
        scale[-1] = 0.0
        sigma = torch.rand(cols) * 0.1 if per_output else None
        w_std = _w_std(w_mode, rows, cols)
        args = _output_args(case, STREAMS_FORWARD, _row_ids(rows), 2, True, sigma, w_std)
        want, want_hit = _run_output(engine, y, scale, args)
        gpu = {
            **args,
            "row_ids": args["row_ids"].cuda(),
            "noise_per_output": None if sigma is None else sigma.cuda(),
            "w_noise_std": None if w_std is None else w_std.cuda(),
        }
        got, got_hit = _run_output(engine_cuda, y.cuda(), scale.cuda(), gpu)
        _same(got.cpu(), want)
        assert torch.equal(got_hit.cpu(), want_hit)


@pytest.mark.cuda
def test_row_abs_max_kernel_path_equals_the_cpu_engine():
    x = _inputs(33, 517)
    _same(engine_cuda.row_abs_max(x.cuda()).cpu(), engine.row_abs_max(x))


@pytest.mark.cuda
def test_bad_gpu_input_gives_a_clear_error_and_changes_nothing():
    x = _inputs(4, 8).cuda()
    args = _input_args(INPUT_CASES[3], STREAMS_FORWARD, None, 0)
    with pytest.raises(
        ValueError, match="row_scale must be a contiguous torch.float32 tensor on cuda"
    ):
        engine_cuda.input_stage(x, torch.ones(4), **args)  # a CPU scale with GPU x
    with pytest.raises(ValueError, match="not contiguous"):
        engine_cuda.input_stage(x.t().contiguous().t(), None, **args)
    y = x.clone()
    out_args = _output_args(OUTPUT_CASES[1], STREAMS_FORWARD, None, 0, True, None, None)
    with pytest.raises(ValueError, match="noise_per_output must be a contiguous"):
        engine_cuda.output_stage(y, None, **{**out_args, "noise_per_output": torch.ones(8)})
    with pytest.raises(ValueError, match="y must be a contiguous torch.float32"):
        engine_cuda.output_stage(y.half(), None, **out_args)
    assert torch.equal(y, x)


# -- the managed MVM (Periphery.run) on the CUDA functions -------------------------------------
def _io_cases():
    from aihw.core.io_parameters import (
        AnalogMVType,
        BoundManagementType,
        IOParameters,
        NoiseManagementType,
        WeightNoiseType,
    )

    return [
        IOParameters(),
        IOParameters(out_bound=2.0, inp_noise=0.02, inp_sto_round=True, out_sto_round=True),
        IOParameters(
            out_bound=0.05, bound_management=BoundManagementType.ITERATIVE_WORST_CASE,
            noise_management=NoiseManagementType.ABS_MAX_NP_SUM,
        ),
        IOParameters(out_bound=0.8, bm_test_negative_bound=False, out_noise_std=0.3),
        IOParameters(
            w_noise=0.02, w_noise_type=WeightNoiseType.ADDITIVE_CONSTANT,
            mv_type=AnalogMVType.POS_NEG_SEPARATE_DIGITAL_SUM, out_asymmetry=0.1,
        ),
        IOParameters(
            w_noise=0.02, w_noise_type=WeightNoiseType.PCM_READ, inp_asymmetry=0.05, out_bound=0.3,
            noise_management=NoiseManagementType.NONE, bound_management=BoundManagementType.NONE,
        ),
        IOParameters(noise_management=NoiseManagementType.MAX, ir_drop=0.5, out_bound=1.0),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(7))
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_periphery_run_on_the_cuda_functions_equals_the_cpu_engine(case, direction):
    """Periphery.run with implementation 'cuda' (its kernels' emulation here) gives the CPU
    engine's outputs, bound-management passes and hits, call after call."""
    from aihw.core.periphery import Periphery

    io = _io_cases()[case]
    gen = torch.Generator().manual_seed(case)
    matrix = torch.randn(24, 10, generator=gen) * 0.4
    x = torch.randn(12, 24, generator=gen)
    x[3] = 0.0  # a zero row
    cpu, cuda = (Periphery(io, direction, 10, seed=99) for _ in range(2))
    for _ in range(3):
        want = cpu.run(x, matrix, "native")
        with engine_cuda.host_emulation():
            got = cuda.run(x, matrix, "cuda")
        _same(got, want)
        assert (cuda.last_passes, cuda.last_bound_hits, cuda.call_index) == (
            cpu.last_passes,
            cpu.last_bound_hits,
            cpu.call_index,
        )


@pytest.mark.cuda
@pytest.mark.parametrize("case", range(7))
def test_periphery_run_on_a_gpu_equals_the_cpu_engine(case):
    from aihw.core.periphery import Periphery

    io = _io_cases()[case]
    gen = torch.Generator().manual_seed(case)
    matrix = torch.randn(300, 70, generator=gen) * 0.2
    x = torch.randn(40, 300, generator=gen)
    cpu, gpu = (Periphery(io, "forward", 70, seed=99) for _ in range(2))
    gpu.to(torch.device("cuda"))
    for _ in range(2):
        want = cpu.run(x, matrix, "native")
        got = gpu.run(x.cuda(), matrix.cuda(), "cuda")
        _same(got.cpu(), want)
        assert (gpu.last_passes, gpu.last_bound_hits) == (cpu.last_passes, cpu.last_bound_hits)

"""The prepared first pass of peripheries that read one input (what layers run for
inference): it must give exactly what each periphery's own ``run`` gives, compiled and in
plain torch, read its input columns in place and add into an accumulator exactly as
``torch.add`` would."""

from __future__ import annotations

import pytest
import torch

import aihw.core._core as core
from aihw.core import IOParameters, first_pass, native_available
from aihw.core.first_pass import SharedFirstPass
from aihw.core.periphery import Periphery

pytestmark = pytest.mark.skipif(
    not native_available(), reason="the prepared pass needs the compiled engine"
)

WIDTHS = (5, 7)
N_IN = 9
START = 3  # the input block starts at this column of a wider x


def _peripheries(io: IOParameters, seed: int = 21) -> list[Periphery]:
    return [Periphery(io, "forward", w, seed + 100 * k) for k, w in enumerate(WIDTHS)]


def _data(scale: float = 1.0):
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(11, START + N_IN + 2, generator=gen) * scale
    matrix = torch.randn(N_IN, sum(WIDTHS), generator=gen) * 0.3
    return x, matrix


def _one_by_one(io: IOParameters, x: torch.Tensor, matrix: torch.Tensor, native=True):
    xs = x[:, START : START + N_IN].contiguous()
    outs, offset = [], 0
    for p, w in zip(_peripheries(io), WIDTHS, strict=True):
        implementation = "native" if native else "reference"
        outs.append(p.run(xs, matrix[:, offset : offset + w].contiguous(), implementation))
        offset += w
    return torch.cat(outs, dim=1)


@pytest.mark.parametrize(
    "io",
    [
        IOParameters(),
        IOParameters(out_bound=0.5, out_noise=0.1),  # bound hits, re-run
        IOParameters(out_bound=0.5, bound_management="None"),  # bound hits, clipped
        IOParameters(noise_management="None", inp_bound=5.0),
    ],
    ids=["defaults", "re-runs", "clipped", "no management"],
)
def test_shared_pass_equals_each_periphery_and_accumulates_exactly(io):
    x, matrix = _data(scale=2.0)
    expected = _one_by_one(io, x, matrix)
    assert torch.equal(expected, _one_by_one(io, x, matrix, native=False))
    peripheries = _peripheries(io)
    shared = SharedFirstPass.build(peripheries)
    assert shared is not None
    y = shared(x, matrix, START, num_threads=1)
    assert torch.equal(y, expected)
    assert [p.call_index for p in peripheries] == [1, 1]

    # Into a buffer and added to an accumulator: the same numbers, added as torch adds.
    peripheries = _peripheries(io)
    shared = SharedFirstPass.build(peripheries)
    acc = torch.randn(x.shape[0], sum(WIDTHS), generator=torch.Generator().manual_seed(9))
    acc0 = acc.clone()
    buffer = torch.full_like(acc, float("nan"))
    shared(x, matrix, START, num_threads=2, out=buffer, accumulate=acc)
    assert torch.equal(buffer, expected)
    assert torch.equal(acc, acc0 + expected)
    # The rows that hit a bound were covered (re-run, or left clipped).
    if io.out_bound == 0.5 and io.bound_management == "None":
        assert max(p.last_bound_hits for p in peripheries) > 0
    elif io.out_bound == 0.5:
        assert max(p.last_passes for p in peripheries) > 1


@pytest.mark.parametrize("zero_rows", ["all", "some"])
def test_zero_rows_count_passes_as_the_general_path(zero_rows):
    """Rows with a zero input take the general path's zero output in the shared pass; a
    batch of only such rows runs no pass there, and the pass count says so here too."""
    io = IOParameters(bound_management="None")
    x, matrix = _data()
    if zero_rows == "all":
        x.zero_()
    else:
        x[::2] = 0.0
    general = _peripheries(io)
    xs = x[:, START : START + N_IN].contiguous()
    expected = torch.cat([p.run(xs, matrix[:, o : o + w].contiguous(), "reference")
                          for p, o, w in zip(general, (0, WIDTHS[0]), WIDTHS, strict=True)],
                         dim=1)  # fmt: skip
    peripheries = _peripheries(io)
    shared = SharedFirstPass.build(peripheries)
    assert shared is not None
    assert torch.equal(shared(x, matrix, START, num_threads=1), expected)
    assert [p.last_passes for p in peripheries] == [p.last_passes for p in general]
    assert [p.last_passes for p in general] == ([0, 0] if zero_rows == "all" else [1, 1])


def test_shared_pass_refuses_random_dacs_and_configurations_without_a_plan():
    assert SharedFirstPass.build(_peripheries(IOParameters(inp_noise=0.01))) is None
    assert SharedFirstPass.build(_peripheries(IOParameters(inp_sto_round=True))) is None
    assert SharedFirstPass.build(_peripheries(IOParameters(out_scale=2.0))) is None


def test_engine_rejects_short_row_strides():
    x = torch.zeros(2, 8)
    out = torch.zeros(2, 8)
    dac = core.InputStageConfig(0.1, False, 1.0, 0.0, 0.0, 6, 10)
    args = (dac, x.data_ptr(), out.data_ptr(), 2, 8, 0, 1, 0, 0, 0, 1)
    allowed = r"is invalid; allowed: 0 or >= n_cols \(8\)"
    with pytest.raises(ValueError, match="x_row_stride=7 " + allowed):
        core.input_stage(*args, x_row_stride=7)
    scale = torch.zeros(2)
    with pytest.raises(ValueError, match=r"x_row_stride=3 is invalid"):
        core.abs_max_input_stage(
            dac, 0.0, x.data_ptr(), out.data_ptr(), scale.data_ptr(), 2, 8, 1, 0, 0, 0, 1,
            x_row_stride=3,
        )  # fmt: skip
    hit = torch.zeros(2, dtype=torch.uint8)
    adc = core.OutputStageConfig(0.01, False, 1.0, True, 0.0, 0.0, 7, 11, 12)
    with pytest.raises(ValueError, match="accumulate_row_stride=5 " + allowed):
        core.output_stage(
            adc, out.data_ptr(), 2, 8, 0, 0, 0, 0, 1, 0, 0, 0, hit.data_ptr(), 1, 0,
            x.data_ptr(), 5,
        )  # fmt: skip
    with pytest.raises(ValueError, match="noise_stream=16 is out of range; allowed: 1 to 15"):
        core.InputStageConfig(0.1, False, 1.0, 0.0, 0.0, 16, 10)
    assert torch.equal(out, torch.zeros(2, 8))  # a rejected call leaves the buffers alone


def test_small_passes_stay_on_one_thread():
    """Automatic threads: torch's count, but one for passes below the threshold of the pool
    the engine runs on (lower on torch's OpenMP team, whose threads are awake)."""
    openmp = core.engine_pool() == "openmp"
    small = first_pass.SMALL_PASS_OPENMP if openmp else first_pass.SMALL_PASS
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert first_pass.auto_threads(1, small // 2 - 1, small // 2 - 1) == 1
        assert first_pass.auto_threads(1, small // 2, small // 2) == 2
    finally:
        torch.set_num_threads(previous)


def test_a_pickled_pass_runs_in_a_fresh_process(tmp_path):
    """A prepared pass (with its typed stage configurations) pickles, and runs where the
    engine was not loaded yet, with the numbers of the pass it was copied from."""
    import pickle
    import subprocess
    import sys

    shared = SharedFirstPass.build(_peripheries(IOParameters()))
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(4))
    matrix = torch.randn(8, sum(WIDTHS), generator=torch.Generator().manual_seed(5))
    path = tmp_path / "pass.pt"
    path.write_bytes(pickle.dumps((shared, x, matrix)))
    expected = shared(x, matrix, 0, num_threads=1)
    script = (
        "import pickle, sys, torch\n"
        "shared, x, matrix = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "torch.save(shared(x, matrix, 0, num_threads=1), sys.argv[1] + '.out')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    assert torch.equal(torch.load(str(path) + ".out"), expected)

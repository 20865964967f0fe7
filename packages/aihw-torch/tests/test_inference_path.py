"""Inference through a tile grid shares each column split's DAC and matrix product; its
outputs must be exactly those of the tile-by-tile path (what training runs)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import IOParameters
from aihw.core import native_available as native_periphery_available
from aihw.core.first_pass import GridPass, SharedFirstPass
from aihw.devices import InferenceRPUConfig
from aihw.nn import AnalogLinear, MappingParameters

pytestmark = pytest.mark.skipif(
    not native_periphery_available(), reason="the shared path needs the compiled engine"
)


def _layer(
    io: IOParameters, seed: int = 3, out_size: int = 40, tile: tuple[int, int] = (16, 32)
) -> AnalogLinear:
    """A 70-input layer on tiles of at most ``tile`` (out, in); default: 3 x 3 tiles."""
    config = InferenceRPUConfig()
    config.forward = io
    mapping = MappingParameters(max_output_size=tile[0], max_input_size=tile[1])
    torch.manual_seed(0)  # the same initial weights
    return AnalogLinear(70, out_size, bias=True, rpu_config=config, mapping=mapping, seed=seed)


def _inputs(layer: AnalogLinear) -> torch.Tensor:
    x = torch.randn(9, 70, generator=torch.Generator().manual_seed(1))
    start, length = layer.grid.col_splits[1]
    x[5, start : start + length] = 0.0  # zero in one split: scale 0 there, tile by tile
    return x


@pytest.mark.parametrize(
    "io",
    [
        IOParameters(),
        IOParameters(out_bound=0.3, out_noise=0.1),  # bound management re-runs rows
        IOParameters(out_bound=0.3, bound_management="None"),  # hits stay clipped
        IOParameters(noise_management="None", inp_bound=4.0),
        IOParameters(out_noise_std=0.5),  # per-output noise
        IOParameters(inp_noise=0.05),  # random DAC: tile by tile
    ],
    ids=[
        "defaults",
        "bound hits",
        "clipped hits",
        "no management",
        "per-output noise",
        "input noise",
    ],  # fmt: skip
)
def test_inference_equals_tile_by_tile(io, monkeypatch):
    shared_columns = _count_shared_columns(monkeypatch)
    shared, tiled = _layer(io), _layer(io)
    x = _inputs(shared)
    for _ in range(2):  # the counters advance alike
        with torch.no_grad():
            y_shared = shared(x)
        y_tiled = tiled(x.requires_grad_(True)).detach()
        x = x.detach()
        assert torch.equal(y_shared, y_tiled)
        for a, b in zip(shared.analog_tiles(), tiled.analog_tiles(), strict=True):
            assert a.forward_periphery.call_index == b.forward_periphery.call_index
            assert a.forward_periphery.last_passes == b.forward_periphery.last_passes
    # Two forwards: the shared path ran for two of the three splits (under noise
    # management a zero row sends the middle one tile by tile), never with a random DAC.
    if io.inp_noise > 0:
        assert shared_columns() == 0
    else:
        assert shared_columns() == 2 * (3 if io.noise_management == "None" else 2)


def _count_shared_columns(monkeypatch):
    """Count the column splits computed by shared passes: all of a ``GridPass`` that ran,
    and each ``SharedFirstPass`` with several peripheries that ran alone (a single
    periphery's first pass uses the class too)."""
    calls = []
    # (GridPass.__call__ and a grid's prepared forward both run GridPass.run_checked)
    shared_call, grid_call = SharedFirstPass.__call__, GridPass.run_checked

    def counting_shared(self, *args, **kwargs):
        y = shared_call(self, *args, **kwargs)
        calls.append(int(y is not None and len(self.peripheries) > 1))
        return y

    def counting_grid(self, *args, **kwargs):
        y = grid_call(self, *args, **kwargs)
        calls.append(0 if y is None else len(self.splits))
        return y

    monkeypatch.setattr(SharedFirstPass, "__call__", counting_shared)
    monkeypatch.setattr(GridPass, "run_checked", counting_grid)
    return lambda: sum(calls)


def test_bound_hits_are_recomputed_in_the_shared_path():
    layer = _layer(IOParameters(out_bound=0.3, out_noise=0.0))
    with torch.no_grad():
        layer(_inputs(layer) * 3.0)
    assert max(t.forward_periphery.last_passes for t in layer.analog_tiles()) > 1


@pytest.mark.parametrize("max_input_size", [0, 32], ids=["one tile", "one row of tiles"])
@pytest.mark.parametrize("io", [IOParameters(), IOParameters(inp_noise=0.05, out_bound=0.5)])
def test_layers_with_one_row_split_take_the_prepared_path_exactly(max_input_size, io):
    """One row split: each column has one tile, whose prepared pass may even draw DAC noise;
    the outputs and counters are those of the tile path."""

    shared, tiled = (_layer(io, seed=5, out_size=12, tile=(0, max_input_size)) for _ in range(2))
    x = torch.randn(6, 70, generator=torch.Generator().manual_seed(2))
    for _ in range(2):
        with torch.no_grad():
            y_shared = shared(x)
        y_tiled = tiled(x.clone().requires_grad_(True)).detach()
        assert torch.equal(y_shared, y_tiled)
        for a, b in zip(shared.analog_tiles(), tiled.analog_tiles(), strict=True):
            assert a.forward_periphery.call_index == b.forward_periphery.call_index
    columns, _ = shared.grid.inference_passes  # every column took a prepared pass
    assert all(isinstance(pass_, SharedFirstPass) for pass_, _ in columns)


@pytest.mark.parametrize("zero_row", [False, True], ids=["grid pass", "split by split"])
def test_the_bias_goes_into_the_last_splits_pass(monkeypatch, zero_row):
    """Under ``no_grad`` the digital bias is added by the engine together with the last
    column split's sum (rows that hit a bound: by the driver after their re-runs), in the
    grid pass and in the split-by-split path that a zero row of a split falls back to; the
    result is bit for bit ``out + bias`` of the tile path."""
    biases = []
    shared_call, grid_call = SharedFirstPass.__call__, GridPass.run_checked

    def recording_shared(self, x, matrix, start=0, num_threads=None, out=None,
                         accumulate=None, bias=None):  # fmt: skip
        if len(self.peripheries) > 1:  # not a tile's own first pass
            biases.append(("split", bias is not None))
        return shared_call(self, x, matrix, start, num_threads, out, accumulate, bias)

    def recording_grid(self, x, bias, n, ld):
        y = grid_call(self, x, bias, n, ld)
        biases.append(("grid", y is not None and bias is not None))
        return y

    monkeypatch.setattr(SharedFirstPass, "__call__", recording_shared)
    monkeypatch.setattr(GridPass, "run_checked", recording_grid)
    io = IOParameters(out_bound=0.3, out_noise=0.1)  # bound hits in every split
    shared, tiled = _layer(io), _layer(io)
    x = (
        _inputs(shared)
        if zero_row
        else torch.randn(9, 70, generator=torch.Generator().manual_seed(4))
    )
    with torch.no_grad():
        y_shared = shared(x)
    if zero_row:  # the grid pass declines, the splits run one by one (the middle one
        # declines too and runs tile by tile)
        assert biases == [("grid", False), ("split", False), ("split", False), ("split", True)]
    else:
        assert biases == [("grid", True)]
    last_split = list(shared.analog_tiles())[2::3]  # tiles are numbered row by row
    assert max(t.forward_periphery.last_passes for t in last_split) > 1
    y_tiled = tiled(x.clone().requires_grad_(True)).detach()
    assert torch.equal(y_shared, y_tiled)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_trainable_bias_on_frozen_weights_keeps_its_gradient(dtype):
    """Nothing but the bias needs a gradient: the inference path runs, and the bias is
    added by autograd (once), not in place."""
    layer, reference = _layer(IOParameters()).to(dtype), _layer(IOParameters()).to(dtype)
    for p in layer.grid.weights:
        p.requires_grad_(False)
    x = torch.randn(5, 70, generator=torch.Generator().manual_seed(6), dtype=dtype)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == dtype
    assert torch.equal(layer.bias.grad, torch.full((40,), 5.0, dtype=dtype))
    with torch.no_grad():
        assert torch.equal(y.detach(), reference(x))


def test_inference_from_several_threads_gives_the_sequential_outputs():
    """The prepared passes reuse their buffers; calls from several threads take turns
    instead of writing into each other's. Without output noise the results do not depend
    on the order of the calls."""
    from concurrent.futures import ThreadPoolExecutor

    io = IOParameters(out_noise=0.0)
    layer = _layer(io)  # the grid pass: no zero rows in these inputs
    inputs = [torch.randn(64, 70, generator=torch.Generator().manual_seed(k)) for k in range(16)]
    with torch.no_grad():
        expected = [layer(x) for x in inputs]

        def run(k: int) -> bool:
            with torch.no_grad():
                return all(torch.equal(layer(inputs[k]), expected[k]) for _ in range(10))

        with ThreadPoolExecutor(max_workers=4) as pool:
            assert all(pool.map(run, range(16)))


@pytest.mark.parametrize("io", [IOParameters(), IOParameters(out_bound=0.3, out_noise=0.1)],
                         ids=["defaults", "bound hits"])  # fmt: skip
def test_a_grid_of_five_column_splits_equals_tile_by_tile(io):
    """The grid pass alternates two buffers for the splits after the first; with five
    splits each buffer is reused, and the outputs are still those of the tile path."""
    shared, tiled = (_layer(io, seed=7, tile=(24, 16)) for _ in range(2))  # 2 x 5 tiles
    x = torch.randn(11, 70, generator=torch.Generator().manual_seed(8))
    for _ in range(2):
        with torch.no_grad():
            y_shared = shared(x)
        assert shared.grid.inference_passes[1] is not None  # a grid pass (no zero rows)
        y_tiled = tiled(x.clone().requires_grad_(True)).detach()
        assert torch.equal(y_shared, y_tiled)


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_an_empty_batch_gives_an_empty_output(backend):
    """No rows: an empty result, with and without autograd, and no tile sees the empty
    batch (no counter moves), on either back-end."""
    layer = _layer(IOParameters())
    for tile in layer.analog_tiles():
        tile.backend = backend
    with torch.no_grad():
        assert layer(torch.randn(0, 70)).shape == (0, 40)
        assert layer(torch.randn(2, 0, 70)).shape == (2, 0, 40)
    x = torch.randn(0, 70, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.shape == (0, 40) and x.grad.shape == (0, 70)
    assert all(t.forward_periphery.call_index == 0 for t in layer.analog_tiles())


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_a_tile_pass_over_no_rows_moves_its_counter_once(backend):
    """A tile's own forward on an empty batch is one pass (the compiled first pass cannot
    hand the engine an empty tensor's missing storage, so it does what the general path
    does)."""
    tile = _layer(IOParameters()).analog_tile
    tile.backend = backend
    with torch.no_grad():
        assert tile.forward(torch.randn(0, tile.in_size)).shape == (0, tile.out_size)
    assert tile.forward_periphery.call_index == 1
    assert tile.forward_periphery.last_passes == 0


def test_the_grid_pass_follows_torchs_thread_count():
    """Automatic thread counts are worked out with the call arguments; a new torch thread
    count makes the grid pass work them out again (the bits do not change)."""
    layer = _layer(IOParameters(out_noise=0.0))
    x = torch.randn(400, 70, generator=torch.Generator().manual_seed(9))  # large enough
    previous = torch.get_num_threads()
    try:
        with torch.no_grad():
            torch.set_num_threads(1)
            y1 = layer(x)
            grid = layer.grid.inference_passes[1]
            assert grid.thread_counts() == [1, 1, 1]
            torch.set_num_threads(2)
            y2 = layer(x)
            assert grid.thread_counts() == [2, 2, 2]
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(y1, y2)

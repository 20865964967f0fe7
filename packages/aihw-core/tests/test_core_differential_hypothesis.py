"""The compiled engine against the plain-torch reference on drawn cases (engine contract).

Hypothesis draws shapes, device parameters and step laws, pulse types and update
parameters, periphery (IO) parameters, batch sizes (0 and 1 included), memory layouts of
the inputs (transposed, strided, 3-D, float64) and thread counts, and runs the same
operations on a tile that uses the engine and one that uses the reference. The contract
promises the same bits for the pulse counts, for the weights under every law (with
cycle-to-cycle noise too; ``exp``/``pow`` are the same float32 polynomials on both sides),
for every periphery stage and for every device operation; the comparison is
``torch.equal``.

The number of examples per test is ``AIHW_HYPOTHESIS_EXAMPLES`` (default 30); the search
is derandomized and keeps no database, so a run is reproducible.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aihw.core import (
    AnalogTile,
    IOParameters,
    PulseType,
    TileConfig,
    TileGrid,
    UpdateParameters,
    native_available,
)
from aihw.core.device_model import DeviceModel
from aihw.core.device_ops import DECAY_SCALE, DIFFUSION_RATE, RESET_BIAS
from aihw.core.mapping import MappingParameters
from aihw.core.tiles import InferenceTile

pytestmark = pytest.mark.skipif(
    not native_available() and not os.environ.get("AIHW_REQUIRE_NATIVE"),
    reason="aihw.core._core is not built (set AIHW_REQUIRE_NATIVE=1 to fail instead)",
)

EXAMPLES = int(os.environ.get("AIHW_HYPOTHESIS_EXAMPLES", "30"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
THREADS = st.sampled_from([1, 2, 3, 0])
# An empty batch and a single sample are the edge cases; the shrinker tries them first.
BATCHES = st.sampled_from([0, 1, 2, 3, 5, 8, 12])


# -- a device whose law and parameters are drawn ------------------------------------------
@dataclasses.dataclass
class DrawnParameters:
    dw_min: float = 0.01
    dw_min_std: float = 0.0
    dw_dtod: float = 0.0
    w_bound: float = 0.6
    bound_dtod: float = 0.0
    slope_spread: float = 0.0
    reference: float = 0.0
    gamma: float = 1.0
    law_scalars: dict[str, Any] = dataclasses.field(default_factory=dict)
    lifetime: float = 0.0
    diffusion: float = 0.0
    reset: float = 0.0
    reset_dtod: float = 0.0
    reset_std: float = 0.0
    write_noise_std: float = 0.0


class DrawnDevice(DeviceModel):
    """A device of any compiled law; the subclasses below fix the law."""

    parameters_class = DrawnParameters

    def granularity(self) -> float:
        return float(self.params.dw_min)

    def law_scalars(self) -> dict[str, Any]:
        return {"dw_min_std": self.params.dw_min_std, **self.params.law_scalars}

    def reset_std(self) -> float:
        return float(self.params.reset_std)

    def write_noise_scale(self) -> float:
        return float(self.params.write_noise_std * self.params.dw_min)

    def sample(self, d_size: int, x_size: int, generator: torch.Generator) -> dict[str, Any]:
        p = self.params
        shape = (d_size, x_size)

        def normal() -> torch.Tensor:
            return torch.randn(shape, generator=generator)

        dw_up = (p.dw_min * (1 + p.dw_dtod * normal())).abs()
        dw_down = (p.dw_min * (1 + p.dw_dtod * normal())).abs()
        w_max = (p.w_bound * (1 + p.bound_dtod * normal())).abs()
        w_min = -(p.w_bound * (1 + p.bound_dtod * normal())).abs()
        arrays = {"dw_up": dw_up, "dw_down": dw_down, "w_min": w_min, "w_max": w_max}
        if self.law in ("linear_step", "soft_bounds_reference"):
            arrays["slope_up"] = -dw_up / w_max * (1 + p.slope_spread * normal())
            arrays["slope_down"] = -dw_down / w_min * (1 + p.slope_spread * normal())
        if self.law == "soft_bounds_reference":  # the bounds of w = v - reference
            arrays["reference"] = p.reference * normal()
            arrays["w_min"] = w_min - arrays["reference"]
            arrays["w_max"] = w_max - arrays["reference"]
        if self.law == "pow_step":
            arrays["gamma_up"] = (p.gamma * (1 + 0.3 * normal())).abs()
            arrays["gamma_down"] = (p.gamma * (1 + 0.3 * normal())).abs()
        if p.lifetime > 0:
            arrays[DECAY_SCALE] = torch.full(shape, 1.0 - 1.0 / p.lifetime)
        if p.diffusion > 0:
            arrays[DIFFUSION_RATE] = (p.diffusion * (1 + 0.2 * normal())).abs()
        if p.reset != 0 or p.reset_dtod > 0:
            arrays[RESET_BIAS] = p.reset + p.reset_dtod * normal()
        return arrays


def _device_class(law: str) -> type[DrawnDevice]:
    return type(f"Drawn_{law}", (DrawnDevice,), {"name": f"TestDrawn_{law}", "law": law})


DEVICE_CLASSES = {
    law: _device_class(law)
    for law in (
        "constant_step",
        "linear_step",
        "soft_bounds_reference",
        "exp_step",
        "pow_step",
        "piecewise_step",
    )
}


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _maybe(strategy: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    """0 (the feature off) or a drawn value."""
    return st.one_of(st.just(0.0), strategy)


@st.composite
def law_scalars(draw: st.DrawFn, law: str) -> dict[str, Any]:
    if law in ("linear_step", "soft_bounds_reference"):
        return {"mult_noise": draw(st.sampled_from([0.0, 1.0]))}
    if law == "exp_step":
        return {
            "A_up": draw(_floats(0.0, 0.5)),
            "A_down": draw(_floats(0.0, 0.5)),
            "gamma_up": draw(_floats(0.0, 15.0)),
            "gamma_down": draw(_floats(0.0, 15.0)),
            "a": draw(_floats(-0.5, 0.5)),
            "b": draw(_floats(-0.5, 0.5)),
            "dw_min_std_add": draw(_maybe(_floats(0.0, 0.01))),
            "dw_min_std_slope": draw(_maybe(_floats(0.0, 0.2))),
        }
    if law == "piecewise_step":
        n = draw(st.integers(1, 6))
        table = st.lists(_floats(0.0, 1.5), min_size=n, max_size=n).map(tuple)
        return {"piecewise_up": draw(table), "piecewise_down": draw(table)}
    return {}


@st.composite
def devices(draw: st.DrawFn, device_ops: bool = True) -> DrawnDevice:
    law = draw(st.sampled_from(sorted(DEVICE_CLASSES)))
    params: dict[str, Any] = {
        "dw_min": draw(_floats(0.002, 0.05)),
        "dw_min_std": draw(_maybe(_floats(0.01, 0.5))),
        "dw_dtod": draw(_maybe(_floats(0.0, 0.5))),
        "w_bound": draw(_floats(0.05, 1.5)),
        "bound_dtod": draw(_maybe(_floats(0.0, 0.5))),
        "slope_spread": draw(_maybe(_floats(0.0, 0.2))),
        "reference": draw(_maybe(_floats(0.0, 0.3))),
        "gamma": draw(_floats(0.0, 3.0)),
        "law_scalars": draw(law_scalars(law)),
    }
    if device_ops:
        params.update(
            lifetime=draw(_maybe(_floats(0.5, 100.0))),
            diffusion=draw(_maybe(_floats(0.0, 0.02))),
            reset=draw(_maybe(_floats(-0.2, 0.2))),
            reset_dtod=draw(_maybe(_floats(0.0, 0.1))),
            reset_std=draw(_maybe(_floats(0.0, 0.05))),
            write_noise_std=draw(_maybe(_floats(0.0, 2.0))),
        )
    return DEVICE_CLASSES[law](**params)


@st.composite
def update_parameters(draw: st.DrawFn) -> UpdateParameters:
    pulsed = [t for t in PulseType if t not in (PulseType.NONE, PulseType.NONE_WITH_DEVICE)]
    return UpdateParameters(
        pulse_type=draw(st.sampled_from(pulsed)),
        desired_bl=draw(st.integers(1, 40)),
        fixed_bl=draw(st.booleans()),
        update_management=draw(st.booleans()),
        update_bl_management=draw(st.booleans()),
        um_grad_scale=draw(_floats(0.1, 3.0)),
        res=draw(_maybe(_floats(0.01, 0.3))),
        sto_round=draw(st.booleans()),
        x_res_implicit=draw(_maybe(_floats(0.01, 0.3))),
        d_res_implicit=draw(_maybe(_floats(0.01, 0.3))),
    )


# -- inputs in every layout ----------------------------------------------------------------
LAYOUTS = ("contiguous", "transposed", "strided", "3d", "float64")


def _layout(t: torch.Tensor, layout: str) -> torch.Tensor:
    """The same values as ``t`` ``[n, k]`` in another memory layout or dtype."""
    if layout == "transposed":  # column-major
        return t.T.contiguous().T
    if layout == "strided":  # every other column of a wider tensor
        wide = torch.zeros(t.shape[0], 2 * t.shape[1])
        wide[:, ::2] = t
        return wide[:, ::2]
    if layout == "3d" and t.shape[0] % 2 == 0:  # [2, n/2, k]: rows are samples
        return t.reshape(2, -1, t.shape[1])
    if layout == "float64":  # exact: float32 values widen and narrow back unchanged
        return t.double()
    return t


@st.composite
def matrices(draw: st.DrawFn, rows: int, cols: int, zero_row: bool = True) -> torch.Tensor:
    """A float32 ``[rows, cols]`` with zeros, tiny and large values (and maybe a zero row)."""
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    scale = draw(st.sampled_from([1.0, 0.1, 10.0, 1e-3]))
    t = torch.randn(rows, cols, generator=gen) * scale
    zeros = draw(st.sampled_from([0.2, 0.0, 0.7]))
    t[torch.rand(rows, cols, generator=gen) < zeros] = 0.0
    if zero_row and rows and draw(st.booleans()):
        t[draw(st.integers(0, rows - 1))] = 0.0  # a sample that does nothing
    return t


def _assert_same_tile_state(native: AnalogTile, ref: AnalogTile) -> None:
    assert native.update_index == ref.update_index
    assert native.diffusion_index == ref.diffusion_index
    assert native.reset_index == ref.reset_index
    assert native.write_noise_index == ref.write_noise_index
    pairs = [(native.weights, ref.weights)]
    if native.hidden_weights is not None or ref.hidden_weights is not None:
        pairs.append((native.hidden_weights, ref.hidden_weights))
    for a, b in pairs:
        assert torch.equal(a, b), (a - b).abs().max()


# -- the pulsed update and the device operations --------------------------------------------
@SETTINGS
@given(
    device=devices(),
    update=update_parameters(),
    d_size=st.integers(1, 24),
    x_size=st.integers(1, 24),
    bias=st.booleans(),
    threads=THREADS,
    seed=st.integers(0, 2**64 - 1),
    data=st.data(),
)
def test_pulsed_update_and_device_ops(device, update, d_size, x_size, bias, threads, seed, data):
    """Same pulse counts; same weights (hidden and visible), counters and post-update
    decay/diffusion/write noise, bit for bit."""
    tiles = []
    for backend in ("native", "reference"):
        tile = AnalogTile(d_size, x_size, device, bias=bias, seed=seed, update=update)
        tile.backend = backend
        tiles.append(tile)
    native, ref = tiles
    native.num_threads = threads
    assert native.uses_native() and not ref.uses_native()
    for _ in range(data.draw(st.integers(1, 3), label="updates")):
        batch = data.draw(BATCHES, label="batch")
        x = data.draw(matrices(batch, x_size), label="x")
        d = data.draw(matrices(batch, d_size), label="d")
        lr = data.draw(st.one_of(_floats(0.01, 0.5), st.just(0.0), _floats(1e-4, 0.01)), label="lr")
        layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
        native.update(_layout(x, layout), _layout(d, layout), lr)
        ref.update(x, d, lr)
        assert native.last_update_pulses == ref.last_update_pulses
        _assert_same_tile_state(native, ref)
        event("pulses fired" if native.last_update_pulses else "no pulse")
    # The explicit device operations, on the weights the updates left.
    alpha = data.draw(_floats(0.0, 2.0), label="alpha")
    columns = x_size + bias
    start = data.draw(st.integers(0, columns - 1), label="reset start")
    count = data.draw(st.integers(1, columns - start), label="reset columns")
    prob = data.draw(st.sampled_from([0.0, 0.5, 1.0]), label="reset prob")
    for tile in (native, ref):
        tile.decay_weights(alpha)
        tile.diffuse_weights()
        tile.reset_columns(start, count, prob)
    _assert_same_tile_state(native, ref)


# -- the periphery of forward and backward ---------------------------------------------------
@st.composite
def io_parameters(draw: st.DrawFn, first_pass: bool = False) -> IOParameters:
    """Periphery settings; with ``first_pass`` only those of the compiled first pass (one
    pass, abs-max or no noise management, a DAC that draws no random numbers, none of the
    MAC non-idealities), which the grid's shared inference needs."""

    def unless_first_pass(strategy: st.SearchStrategy[Any], default: Any) -> Any:
        return default if first_pass else draw(strategy)

    mv_type = unless_first_pass(
        st.sampled_from(["OnePass", "PosNegSeparate", "PosNegSeparateDigitalSum"]), "OnePass"
    )
    management = ["AbsMax", "None"]
    if not first_pass:
        management += ["AbsMaxNPSum", "Max", "Constant", "AverageAbsMax"]
    noise_management = draw(st.sampled_from(management))
    bound_management = draw(
        st.sampled_from(["Iterative", "None"] + ([] if first_pass else ["IterativeWorstCase"]))
    )
    bounded = bound_management != "None" or draw(st.booleans())
    out_bound = draw(_floats(0.2, 20.0)) if bounded else 0.0
    resolution = st.one_of(
        st.just(1 / 126), st.just(0.0), _floats(0.005, 0.2), st.sampled_from([15.0, 255.0])
    )
    w_noise = unless_first_pass(_maybe(_floats(0.0, 0.05)), 0.0)
    return IOParameters(
        mv_type=mv_type,
        noise_management=noise_management,
        bound_management=bound_management,
        inp_bound=1.0 if noise_management != "None" else draw(_floats(0.5, 5.0)),
        inp_res=draw(resolution),
        inp_sto_round=unless_first_pass(st.booleans(), False),
        inp_noise=unless_first_pass(_maybe(_floats(0.0, 0.1)), 0.0),
        inp_asymmetry=draw(_maybe(_floats(0.0, 0.3))),
        out_bound=out_bound,
        out_noise=draw(_maybe(_floats(0.0, 0.2))),
        out_noise_std=draw(_maybe(_floats(0.0, 0.5))),
        out_res=draw(resolution),
        out_sto_round=draw(st.booleans()),
        out_scale=unless_first_pass(st.sampled_from([1.0, 0.5, -2.0]), 1.0),
        out_asymmetry=draw(_maybe(_floats(0.0, 0.3))),
        w_noise=w_noise,
        w_noise_type=draw(st.sampled_from(["None", "AdditiveConstant", "PCMRead"])),
        ir_drop=unless_first_pass(_maybe(_floats(0.0, 1.0)), 0.0),
        ir_drop_g_ratio=draw(st.sampled_from([50.0, 1.0 / 0.35 / 5e-6])),
        out_nonlinearity=unless_first_pass(_maybe(_floats(0.0, 1.0)), 0.0) if bounded else 0.0,
        out_nonlinearity_std=draw(_maybe(_floats(0.0, 0.3))),
        slope_calibration=draw(_maybe(_floats(0.0, 1.0))),
        v_offset_std=unless_first_pass(_maybe(_floats(0.0, 0.1)), 0.0),
        w_read_asymmetry_dtod=draw(_maybe(_floats(0.0, 0.3))) if mv_type != "OnePass" else 0.0,
        max_bm_factor=draw(st.sampled_from([1000, 4])),
        bm_test_negative_bound=draw(st.booleans()),
        nm_thres=draw(_maybe(_floats(0.1, 3.0))),
    )


# Widths past 1024 cross the stages' column chunks.
SIZES = st.one_of(st.integers(1, 40), st.integers(1020, 1100))


def _assert_same_bits(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal values, NaN where the other has NaN (``torch.equal`` fails on any NaN)."""
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


@SETTINGS
@given(
    forward=io_parameters(),
    backward=io_parameters(),
    out_size=st.integers(1, 40),
    in_size=SIZES,
    bias=st.booleans(),
    threads=THREADS,
    seed=st.integers(0, 2**64 - 1),
    data=st.data(),
)
def test_periphery_forward_backward(forward, backward, out_size, in_size, bias, threads, seed,
                                    data):  # fmt: skip
    """Forward and backward through every periphery: the same bits, passes and counters."""
    config = TileConfig(forward=forward, backward=backward)
    weights = data.draw(matrices(out_size, in_size + bias), label="weights") * 0.1
    tiles = []
    for backend in ("native", "reference"):
        tile = InferenceTile(out_size, in_size, config, bias=bias, seed=seed)
        tile.set_weights(weights[:, :in_size], weights[:, in_size] if bias else None)
        tile.backend = backend
        tiles.append(tile)
    native, ref = tiles
    native.num_threads = threads
    assert native.periphery_uses_native() and not ref.periphery_uses_native()
    for _ in range(data.draw(st.integers(1, 2), label="calls")):
        batch = data.draw(BATCHES, label="batch")
        layout = data.draw(st.sampled_from(LAYOUTS), label="layout")
        x = data.draw(matrices(batch, in_size), label="x")
        d = data.draw(matrices(batch, out_size), label="d")
        # Bit for bit; a NaN must be a NaN on both back-ends (IterativeWorstCase can give
        # NaN rows for zero inputs: a known bug of both, see docs/choices.md).
        y = native.forward(_layout(x, layout))
        _assert_same_bits(y.reshape(batch, out_size).float(), ref.forward(x))
        z = native.backward(_layout(d, layout))
        _assert_same_bits(z.reshape(batch, in_size).float(), ref.backward(d))
        for direction in ("forward_periphery", "backward_periphery"):
            a, b = getattr(native, direction), getattr(ref, direction)
            assert a.call_index == b.call_index
            assert a.last_passes == b.last_passes
        event(f"forward passes: {native.forward_periphery.last_passes}")


# -- inference through a tile grid (the shared first pass) ----------------------------------
# More examples: they are fast, and a grid needs several splits, several rows and abs-max
# noise management at once to read its input in place under each DAC.
@settings(SETTINGS, max_examples=4 * EXAMPLES)
@given(
    # mostly the settings of the shared pass, sometimes any (the grid falls back)
    io=st.one_of(io_parameters(first_pass=True), io_parameters()),
    out_size=st.integers(1, 40),
    in_size=st.integers(1, 60),
    max_out=st.integers(1, 40),
    max_in=st.integers(1, 24),  # mostly several column splits
    with_bias=st.booleans(),
    threads=THREADS,
    seed=st.integers(0, 2**64 - 1),
    data=st.data(),
)
def test_grid_inference(io, out_size, in_size, max_out, max_in, with_bias, threads, seed, data):
    """Inference of a grid (the engine's shared DAC reading column splits of the input in
    place, one product, each tile's ADC, the sum and bias fused) against the reference
    tile by tile: the same bits, and the same counters and passes per tile."""
    # torch.mm's columns depend on the matrix's width (a one-column product runs another
    # kernel), and the grid multiplies by all its tiles' rows at once where the reference
    # goes tile by tile. So the products are made exact: DAC levels and weights on a grid
    # of powers of two, whose products and sums float32 holds exactly in any order. The
    # comparison then checks the periphery and the grid's bookkeeping, not the BLAS.
    io = dataclasses.replace(
        io,
        inp_res=data.draw(st.sampled_from([1 / 128, 1 / 32]), label="inp_res"),
        inp_bound=io.inp_bound if io.noise_management != "None" else 2.0,
        inp_asymmetry=0.0,
    )
    mapping = MappingParameters(max_input_size=max_in, max_output_size=max_out)
    grids = []
    for backend in ("native", "reference"):
        grid = TileGrid(
            (out_size, in_size), mapping=mapping, rpu_config=TileConfig(forward=io), seed=seed
        )
        for tile in grid.tiles:
            tile.backend = backend
            tile.num_threads = threads
        grids.append(grid)
    native, ref = grids
    weights = (
        torch.randint(
            -64,
            65,
            (out_size, in_size),
            generator=torch.Generator().manual_seed(
                data.draw(st.integers(0, 2**31 - 1), label="weight seed")
            ),
        )
        / 64.0
    )
    for grid in grids:
        grid.set_weights(weights)
    bias = data.draw(matrices(1, out_size), label="bias")[0] if with_bias else None
    for _ in range(data.draw(st.integers(1, 2), label="calls")):
        batch = data.draw(BATCHES, label="batch")
        # no zero row: under abs-max noise management it sends the batch tile by tile
        x = data.draw(matrices(batch, in_size, zero_row=False), label="x")
        layout = data.draw(st.sampled_from(["contiguous", "transposed", "strided"]), label="lay")
        with torch.no_grad():
            y = native.matmul(_layout(x, layout), None if bias is None else bias.clone())
            expected = ref.matmul(x, None if bias is None else bias.clone())
        # Same bits; NaN where the reference has NaN too (IterativeWorstCase can give NaN
        # for a split whose inputs are zero: a separate issue, the same in both back-ends).
        torch.testing.assert_close(y, expected, rtol=0, atol=0, equal_nan=True)
        passes = native.inference_passes
        event(
            "general path"
            if passes is None or passes[0] is None
            else f"{sum(s is not None for s, _ in passes[0])} of {len(passes[0])} splits shared, "
            f"grid pass: {passes[1] is not None}"
        )
        for a, b in zip(native.tiles, ref.tiles, strict=True):
            assert a.forward_periphery.call_index == b.forward_periphery.call_index
            assert a.forward_periphery.last_passes == b.forward_periphery.last_passes


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_empty_batch_leaves_the_running_average_alone(backend):
    """Found by the periphery test above: an empty batch moved the reference's
    ``AverageAbsMax`` running value to 0 (the engine skips empty batches), so the next
    forward divided by ~0 there and the two back-ends disagreed."""
    io = IOParameters(noise_management="AverageAbsMax", out_noise=0.0, inp_res=0.0, out_res=0.0)
    tile = InferenceTile(1, 1, TileConfig(forward=io), seed=0)
    tile.set_weights(torch.tensor([[0.15]]))
    tile.backend = backend
    assert tile.forward(torch.zeros(0, 1)).shape == (0, 1)
    assert tile.forward_periphery.average_abs_max is None
    assert tile.forward_periphery.call_index == 1  # the counter moves, as for any call
    y = tile.forward(torch.tensor([[1.5]]))
    assert tile.forward_periphery.average_abs_max == 1.5
    torch.testing.assert_close(y, torch.tensor([[0.225]]))

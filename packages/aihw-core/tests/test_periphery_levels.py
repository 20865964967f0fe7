"""With every noise off, outputs are exactly the quantised values of
docs/physics/periphery.md#resolutions, #forward-pass."""

from __future__ import annotations

import pytest
import torch
from _periphery_helpers import BACKENDS, make_tile, quiet

from aihw.core import IOParameters


@pytest.mark.parametrize("backend", BACKENDS)
def test_dac_levels_and_clipping(backend):
    # Identity weights, unbounded and unquantised ADC: the output is the DAC's output.
    n = 9
    x = torch.tensor([[0.0, 0.004, 1 / 63, 0.49, -0.51, 0.9999, 1.2, -7.0, 0.3 / 63]])
    io = quiet(noise_management="None", bound_management="None", out_res=0.0, out_bound=0.0)
    tile = make_tile(torch.eye(n), io, backend=backend)
    y = tile.forward(x)
    k = y * 63
    assert torch.allclose(k, k.round(), atol=1e-4), "values are k/63"
    assert (k.round().abs() <= 63).all(), "127 signed levels"
    expected = torch.tensor([[0, 0, 1, 31, -32, 63, 63, -63, 0]]) / 63
    assert torch.allclose(y, expected, atol=1e-6)
    assert y.max() == 1.0 and y.min() == -1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_dac_with_abs_max_noise_management(backend):
    # Rows are divided by max|x|: the largest input lands on the DAC's last level.
    x = torch.tensor([[2.0, -0.9, 0.55, 0.0], [0.1, 0.047, -0.026, 0.0]])
    io = quiet(bound_management="None", out_res=0.0, out_bound=0.0)
    tile = make_tile(torch.eye(4), io, backend=backend)
    y = tile.forward(x)
    s = x.abs().amax(1, keepdim=True)
    levels = torch.round(x / s * 63)
    assert torch.allclose(y, levels / 63 * s, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adc_levels_and_bounds(backend):
    # Unquantised DAC and big enough DAC range: the output is the ADC's output.
    step = 24 / 510
    x = torch.tensor([[0.0, 0.02, 0.03, 1.0, 11.99, 12.01, 30.0, -0.5 * step, -40.0]])
    io = quiet(noise_management="None", bound_management="None", inp_res=0.0, inp_bound=100.0)
    tile = make_tile(torch.eye(9), io, backend=backend)
    y = tile.forward(x)
    k = y / step
    assert torch.allclose(k, k.round(), atol=1e-3), "values are multiples of 24/510"
    assert (k.round().abs() <= 255).all(), "511 signed levels"
    expected_k = torch.tensor([[0, 0, 1, 21, 255, 255, 255, 0, -255]])  # 0.425 -> 0; -0.5 -> -0
    assert torch.equal(k.round(), expected_k.float())
    assert y.max() == 12.0 and y.min() == -12.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_output_levels_in_the_managed_domain(backend):
    # With noise and bound management the ADC levels sit at multiples of step * s_nm.
    torch.manual_seed(0)
    w = torch.randn(16, 32) * 0.2
    x = torch.randn(8, 32)
    io = quiet(bound_management="None")
    tile = make_tile(w, io, backend=backend)
    y = tile.forward(x)
    s = x.abs().amax(1, keepdim=True)
    k = y / s / (24 / 510)
    assert torch.allclose(k, k.round(), atol=2e-3)
    # And the result is close to the exact product (7-bit DAC, 9-bit ADC).
    assert torch.allclose(y, x @ w.T, atol=0.1 * float(s.max()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_asymmetries(backend):
    io = quiet(
        noise_management="None",
        bound_management="None",
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
        inp_asymmetry=0.25,
        out_asymmetry=0.5,
    )
    w = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    tile = make_tile(w, io, backend=backend)
    y = tile.forward(torch.tensor([[0.5, -0.5]]))
    # v = (0.5, -0.375); y0 = 0.125 and 0.875: both positive, untouched by out_asymmetry.
    assert torch.allclose(y, torch.tensor([[0.125, 0.875]]))
    y = tile.forward(torch.tensor([[-0.5, 0.0]]))
    # v = (-0.375, 0); y0 = (-0.375, -0.375) -> halved.
    assert torch.allclose(y, torch.tensor([[-0.1875, -0.1875]]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_perfect_and_ideal_apply_only_out_scale(backend):
    torch.manual_seed(1)
    w, x = torch.randn(5, 7), torch.randn(3, 7)
    for io in (quiet(is_perfect=True, out_scale=2.0), quiet(mv_type="Ideal", out_scale=2.0)):
        tile = make_tile(w, io, backend=backend)
        assert torch.allclose(tile.forward(x), 2.0 * x @ w.T, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_scale_multiplies_the_managed_result(backend):
    torch.manual_seed(2)
    w, x = torch.randn(5, 7) * 0.3, torch.randn(3, 7)
    a = make_tile(w, quiet(), backend=backend).forward(x)
    b = make_tile(w, quiet(out_scale=3.0), backend=backend).forward(x)
    assert torch.allclose(b, 3.0 * a, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_input_gives_zero_output(backend):
    # Abs-max noise management with max|x| = 0 and no input noise: y = 0
    # (docs/physics/periphery.md#zero-inputs).
    w = torch.randn(4, 6)
    tile = make_tile(w, IOParameters(), backend=backend)
    y = tile.forward(torch.zeros(3, 6))
    assert torch.equal(y, torch.zeros(3, 4))


@pytest.mark.parametrize("backend", BACKENDS)
def test_noise_management_types(backend):
    x = torch.tensor([[4.0, -2.0, 1.0, 0.0]])
    w = torch.eye(4)
    base = dict(bound_management="None", inp_res=0.0, out_res=0.0, out_bound=0.0)
    # Max: divided by the signed max (4); Constant: by nm_thres; abs-max with a threshold
    # clips what is above it.
    y = make_tile(w, quiet(noise_management="Max", **base), backend=backend).forward(x)
    assert torch.allclose(y, x)
    y = make_tile(w, quiet(noise_management="Constant", nm_thres=2.0, **base), backend=backend)
    assert torch.allclose(y.forward(x), torch.tensor([[2.0, -2.0, 1.0, 0.0]]))
    y = make_tile(w, quiet(noise_management="AbsMax", nm_thres=1.0, **base), backend=backend)
    assert torch.allclose(y.forward(x), torch.tensor([[1.0, -1.0, 1.0, 0.0]]))
    # Negative signed max: zero output.
    y = make_tile(w, quiet(noise_management="Max", **base), backend=backend)
    assert torch.equal(y.forward(-x.abs()), torch.zeros(1, 4))


def test_average_abs_max_is_a_running_value():
    w = torch.eye(3)
    io = quiet(
        noise_management="AverageAbsMax",
        bound_management="None",
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
    )
    tile = make_tile(w, io)
    tile.forward(torch.tensor([[2.0, 0.0, 0.0]]))
    assert tile.forward_periphery.average_abs_max == 2.0
    tile.forward(torch.tensor([[4.0, 0.0, 0.0]]))
    assert tile.forward_periphery.average_abs_max == pytest.approx(0.999 * 2 + 0.001 * 4)


def test_abs_max_np_sum_scale():
    from aihw.core.periphery import Periphery

    io = quiet(noise_management="AbsMaxNPSum")
    p = Periphery(io, "forward", 3, 0)
    x = torch.tensor([[1.0] * 100, [0.5, -0.5] + [0.0] * 98])
    s = p._nm_scale(x, io.noise_management)
    # Row 0: m = 1, S = 100, c = 100 * 0.6 / 12 = 5 (below 1 * 0.25 * 63): s = 5.
    # Row 1: m = 0.5, S = 0.5, c = 0.025: s = 0.5.
    assert s.tolist() == pytest.approx([5.0, 0.5])

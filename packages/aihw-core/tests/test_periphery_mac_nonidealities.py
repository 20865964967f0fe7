"""IR drop, voltage offsets, read asymmetry and the ADC non-linearity
(docs/physics/periphery.md#mac-non-idealities): values against the formulas, and errors."""

from __future__ import annotations

import pytest
import torch
from _periphery_helpers import BACKENDS, make_tile

from aihw.core import IOParameters

# Everything else off: no quantisation, no noise, no noise or bound management, so the
# output is the MAC with only the non-ideality under test.
PLAIN = {
    "inp_res": 0.0,
    "out_res": 0.0,
    "out_noise": 0.0,
    "noise_management": "None",
    "bound_management": "None",
    "inp_bound": 10.0,
    "out_bound": 0.0,
}


def _case(seed=4, out_size=5, in_size=40, batch=6):
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(out_size, in_size, generator=g) * 0.2 - 0.05
    x = torch.rand(batch, in_size, generator=g) * 2.0 - 0.5
    return w, x


def _ir_drop_expected(w, x, ir_drop, g_ratio):
    """docs/physics/periphery.md#ir-drop, in float64."""
    w, x = w.double(), x.double()
    n = w.shape[1]
    a = (n / g_ratio) * (x.abs() @ w.abs().T)
    c = a * (a * (0.05 * a - 0.2) + 0.5)
    ramp = 1.0 - (1.0 - torch.arange(n, dtype=torch.float64) / n) ** 2
    return x @ w.T - ir_drop * c * ((x * ramp) @ w.T)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ir_drop_follows_the_formula(backend):
    w, x = _case()
    io = IOParameters(**PLAIN, ir_drop=0.5, ir_drop_g_ratio=20.0)
    y = make_tile(w, io, backend=backend).forward(x)
    expected = _ir_drop_expected(w, x, 0.5, 20.0)
    assert torch.allclose(y.double(), expected, rtol=1e-5, atol=1e-6)
    # Mostly positive weights and inputs: the drop lowers every output.
    assert (y.double() < x.double() @ w.double().T).all()


def test_ir_drop_grows_with_the_wire_resistance():
    w, x = _case()
    exact = x @ w.T
    drops = []
    for g_ratio in (1000.0, 100.0, 10.0):
        io = IOParameters(**PLAIN, ir_drop=1.0, ir_drop_g_ratio=g_ratio)
        drops.append(float((exact - make_tile(w, io).forward(x)).abs().mean()))
    assert drops[0] < drops[1] < drops[2]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("calibration", [0.0, 0.3])
def test_output_nonlinearity_follows_the_formula(backend, calibration):
    w, x = _case(out_size=4)
    bound, strength = 2.0, 0.8
    io = IOParameters(
        **{**PLAIN, "out_bound": bound},
        out_nonlinearity=strength,
        slope_calibration=calibration,
    )
    y = make_tile(w, io, backend=backend).forward(x)
    lin = (x @ w.T).double()
    n = strength / bound  # no spread: the same n_i for every output
    f = (1.0 + n * calibration * bound) ** 2 if calibration > 0 else 1.0
    expected = (f * lin / (1.0 + (n * lin).abs())).clamp(-bound, bound)
    assert torch.allclose(y.double(), expected, rtol=1e-5, atol=1e-6)
    # The curve compresses: |y| <= f |y_lin|, strictly where y_lin is not 0.
    big = lin.abs() > 1e-3
    assert (y.double().abs()[big] < (f * lin).abs()[big]).all()


def test_nonlinearity_spread_is_fixed_per_output_and_seeded():
    w, x = _case(out_size=64)
    io = IOParameters(**{**PLAIN, "out_bound": 5.0}, out_nonlinearity=1.0, out_nonlinearity_std=0.3)
    a = make_tile(w, io, seed=3)
    b = make_tile(w, io, seed=3)
    c = make_tile(w, io, seed=4)
    n_a = a.forward_periphery.nonlinearity_per_output
    assert torch.equal(n_a, b.forward_periphery.nonlinearity_per_output)
    assert not torch.equal(n_a, c.forward_periphery.nonlinearity_per_output)
    # n_i = |1/5 (1 + 0.3 xi)|: mean 0.2, relative spread 0.3 (64 outputs: 4 sigma bounds).
    assert abs(float(n_a.mean()) - 0.2) < 4 * 0.2 * 0.3 / 8
    assert 0.15 < float(n_a.std() / n_a.mean()) < 0.45
    assert torch.equal(a.forward(x), b.forward(x))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("w_min", [-1.0, 0.0])
def test_voltage_offsets_follow_the_formula(backend, w_min):
    w, x = _case(out_size=32)
    io = IOParameters(**PLAIN, v_offset_std=0.3, v_offset_w_min=w_min)
    tile = make_tile(w, io, backend=backend)
    o = tile.forward_periphery.voltage_offsets.double()
    # o_i = max(0.3 xi, 0): about half the outputs have no offset, none is negative.
    assert (o >= 0).all() and 4 <= int((o == 0).sum()) <= 28
    lin = (x @ w.T).double()
    expected = (1.0 - o) * lin - 2.0 * o * (-w_min) * x.double().sum(dim=1, keepdim=True)
    assert torch.allclose(tile.forward(x).double(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_read_asymmetry_changes_only_the_negative_pass(backend):
    w, x = _case(out_size=16)
    io = IOParameters(**PLAIN, mv_type="PosNegSeparate", w_read_asymmetry_dtod=0.25)
    tile = make_tile(w, io, backend=backend)
    positive, negative = x.clamp(min=0), x.clamp(max=0)
    assert torch.allclose(tile.forward(positive), positive @ w.T, rtol=1e-5, atol=1e-6)
    y_neg = tile.forward(negative)
    factor = tile.forward_periphery._read_asymmetry  # [in, out], fixed per weight
    assert torch.allclose(y_neg, negative @ (w.T * factor), rtol=1e-5, atol=1e-6)
    assert abs(float(factor.mean()) - 1.0) < 0.02 and abs(float(factor.std()) - 0.25) < 0.02
    assert not torch.allclose(y_neg, negative @ w.T, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ir_drop": -0.1}, r"IOParameters\.ir_drop=-0\.1 must be >= 0"),
        ({"ir_drop": 1.0, "ir_drop_g_ratio": 0.0}, r"ir_drop_g_ratio=0\.0 must be > 0"),
        ({"out_nonlinearity": -1.0}, r"IOParameters\.out_nonlinearity=-1\.0 must be >= 0"),
        (
            {"out_nonlinearity": 0.5, "out_bound": 0.0, "bound_management": "None"},
            r"out_bound=0\.0 must be > 0 when out_nonlinearity=0\.5",
        ),
        ({"slope_calibration": -0.2}, r"slope_calibration=-0\.2 must be >= 0"),
        ({"v_offset_std": -0.1}, r"IOParameters\.v_offset_std=-0\.1 must be >= 0"),
        (
            {"w_read_asymmetry_dtod": 0.1},
            r"w_read_asymmetry_dtod=0\.1 needs a separate negative pass; mv_type='OnePass'",
        ),
    ],
)
def test_invalid_values_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        IOParameters(**kwargs)

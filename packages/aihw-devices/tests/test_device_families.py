"""The single-device laws, pulse types, presets, response and plot CLI
(docs/physics/pulsed-update.md#pulse-types, docs/physics/devices.md)."""

from __future__ import annotations

import math

import pytest
import torch

from aihw.core import AnalogTile, UpdateParameters, native_available
from aihw.core.laws import get_law
from aihw.core.reference import deterministic_counts
from aihw.devices import (
    ExpStepDevice,
    IdealDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowStepDevice,
    PowStepReferenceDevice,
    SoftBoundsDevice,
    SoftBoundsPmaxDevice,
    SoftBoundsReferenceDevice,
    get_device,
)
from aihw.devices._pulsed import sample_base
from aihw.devices.cli import main
from aihw.devices.presets import PRESETS
from aihw.devices.response import pulse_response

QUIET = {
    "dw_min_dtod": 0.0,
    "up_down_dtod": 0.0,
    "w_max_dtod": 0.0,
    "w_min_dtod": 0.0,
    "dw_min_std": 0.0,
}


def _ups(device, n, size=4, seed=0):
    return pulse_response(device, n_pulses=n, size=size, seed=seed)


# -- characteristic shapes -----------------------------------------------------------------
def test_constant_step_until_hard_bound():
    dev = get_device("ConstantStep", dw_min=0.1, w_max=0.55, w_min=-0.55, **QUIET)
    r = _ups(dev, 8)
    steps = r.mean.diff()[:8]
    torch.testing.assert_close(steps[:5], torch.full((5,), 0.1), rtol=0, atol=1e-6)
    assert r.mean[8].item() == pytest.approx(0.55)
    assert steps[6:].abs().max() < 1e-7  # stuck at the bound


def test_soft_bounds_approach_w_max_geometrically():
    dev = SoftBoundsDevice(dw_min=0.05, w_max=0.5, w_min=-0.5, **QUIET)
    r = _ups(dev, 30)
    gap = 0.5 - r.mean[:31].double()
    ratios = gap[1:] / gap[:-1]
    # each UP step shrinks the distance to w_max by 1 - dw_min / w_max
    torch.testing.assert_close(ratios, torch.full_like(ratios, 1 - 0.05 / 0.5), rtol=0, atol=1e-4)


def test_soft_bounds_pmax_reaches_range_max_after_p_max_pulses():
    dev = SoftBoundsPmaxDevice(p_max=200, alpha=0.01, **QUIET, up_down=0.0)
    r = _ups(dev, 200)
    # B (1 - (1 - alpha)^p) from range_min ~ range_max - range_min; here from w = 0
    p = dev.effective_params()
    expected = p.w_max - p.w_max * (1 - p.dw_min / p.w_max) ** 200
    assert r.mean[200].item() == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("up_down", [0.3, -0.3])
def test_asymmetry_factor(up_down):
    dev = get_device("ConstantStep", dw_min=0.01, up_down=up_down, **QUIET)
    r = _ups(dev, 5)
    up = r.mean.diff()[0].item()
    down = -r.mean.diff()[5].item()
    if up_down > 0:
        assert up == pytest.approx(0.01) and down == pytest.approx(0.01 * (1 - up_down))
    else:
        assert down == pytest.approx(0.01) and up == pytest.approx(0.01 * (1 + up_down))


def test_cycle_to_cycle_spread_matches_dw_min_std():
    q = dict(QUIET, dw_min_std=0.3)
    dev = get_device("ConstantStep", dw_min=0.001, w_max=10.0, w_min=-10.0, **q)
    r = pulse_response(dev, n_pulses=20, size=500, seed=3)
    steps = r.weights.diff(dim=0)[:20].flatten().double() / 0.001
    assert steps.mean().item() == pytest.approx(1.0, abs=0.03)
    assert steps.std().item() == pytest.approx(0.3, rel=0.05)


def test_linear_step_shrinks_by_one_minus_gamma_at_the_bound():
    dev = LinearStepDevice(
        dw_min=0.01,
        gamma_up=0.5,
        gamma_down=0.5,
        gamma_up_dtod=0.0,
        gamma_down_dtod=0.0,
        w_max=1.0,
        w_min=-1.0,
        **QUIET,
    )
    tile = AnalogTile(1, 1, dev, seed=0)
    law = get_law("linear_step")
    w = (torch.tensor([1.0 - 1e-6]),)
    a = {k: v.view(-1) for k, v in tile.device_arrays.items()}
    at_top = law.reference_step(
        torch.tensor([0.9]), torch.tensor([True]), a, tile.law_scalars, None
    )
    assert (at_top - 0.9).item() == pytest.approx(0.01 * (1 - 0.5 * 0.9), rel=1e-5)
    del w


def test_linear_step_additive_noise_leaves_slope_noiseless():
    dev = LinearStepDevice(
        dw_min=0.01,
        gamma_up=1.0,
        gamma_up_dtod=0.0,
        mult_noise=False,
        **dict(QUIET, dw_min_std=0.5),
    )
    tile = AnalogTile(1, 1, dev, seed=0)
    law = get_law("linear_step")
    a = {k: v.view(-1) for k, v in tile.device_arrays.items()}
    xi = torch.tensor([1.0])
    new = law.reference_step(torch.tensor([0.3]), torch.tensor([True]), a, tile.law_scalars, xi)
    slope = a["slope_up"].item()
    assert new.item() == pytest.approx(0.3 + slope * 0.3 + 0.01 * 1.5, rel=1e-5)


def test_exp_step_steps_fall_towards_the_bound():
    dev = ExpStepDevice(dw_min=0.01, **QUIET)
    r = _ups(dev, 60)
    steps = r.mean.diff()[:60]
    assert steps[0] > steps[-1] > 0
    assert (steps[1:] <= steps[:-1] + 1e-7).all()


def test_exp_step_complex_noise():
    dev = ExpStepDevice(
        dw_min=0.01,
        dw_min_std=0.5,
        dw_min_std_add=0.02,
        dw_min_std_slope=0.1,
        **{k: v for k, v in QUIET.items() if k != "dw_min_std"},
    )
    tile = AnalogTile(1, 1, dev, seed=0)
    law = get_law("exp_step")
    a = {k: v.view(-1) for k, v in tile.device_arrays.items()}
    w = torch.tensor([0.2])
    clean = law.reference_step(
        w, torch.tensor([True]), a, dict(tile.law_scalars, dw_min_std=0.0), None
    )
    noisy = law.reference_step(w, torch.tensor([True]), a, tile.law_scalars, torch.tensor([1.0]))
    dw = (clean - w).item()
    assert (noisy - clean).item() == pytest.approx(0.5 * (abs(dw) + 0.02 + 0.1 * 0.2), rel=1e-4)


def test_pow_step_with_gamma_one_is_range_scaled_soft_bounds():
    dev = PowStepDevice(
        dw_min=0.05, pow_gamma=1.0, pow_gamma_dtod=0.0, w_max=0.5, w_min=-0.5, **QUIET
    )
    r = _ups(dev, 20)
    gap = 0.5 - r.mean[:21].double()
    torch.testing.assert_close(
        gap[1:] / gap[:-1],
        torch.full((20,), 1 - 0.05 / 1.0, dtype=torch.float64),
        rtol=0,
        atol=1e-4,
    )
    assert dev.granularity() == pytest.approx(0.025)


def test_pow_step_reference_shifts_the_bounds():
    dev = PowStepReferenceDevice(reference_mean=0.1, pow_gamma_dtod=0.0, **QUIET)
    tile = AnalogTile(2, 2, dev, seed=0)
    torch.testing.assert_close(tile.device_arrays["w_max"], torch.full((2, 2), 0.5))
    sym = PowStepReferenceDevice(
        subtract_symmetry_point=True, up_down=0.2, pow_gamma_dtod=0.0, **QUIET
    )
    # the shifted range puts the symmetry point at 0: equal mean UP and DOWN steps there
    t = AnalogTile(1, 1, sym, seed=0)
    a = {k: v.view(-1) for k, v in t.device_arrays.items()}
    law = get_law("pow_step")
    w = torch.zeros(1)
    up = law.reference_step(w, torch.tensor([True]), a, t.law_scalars, None) - w
    down = w - law.reference_step(w, torch.tensor([False]), a, t.law_scalars, None)
    assert up.item() == pytest.approx(down.item(), rel=1e-4)


def test_pow_step_reference_law_is_the_direct_reference_pulse():
    # docs/physics/devices.md#power-step: v = w + ref; the power step on v with the device's bounds;
    # clip; v - ref.
    dev = PowStepReferenceDevice(
        pow_gamma=1.5, pow_up_down=0.2, reference_mean=0.05, reference_std=0.1, dw_min=0.05
    )
    shape, seed = (30, 40), 2
    tile = AnalogTile(*shape, dev, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    base = sample_base(dev.params, shape, gen)
    gammas = PowStepDevice._extra_arrays(dev, base, shape, gen)  # the plain power step's
    ref = 0.05 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
    flat = {k: v.reshape(-1) for k, v in {**base, **gammas, "ref": ref}.items()}
    b_min, b_max = flat["w_min"], flat["w_max"]
    arrays = {k: v.reshape(-1) for k, v in tile.device_arrays.items()}
    rng = torch.Generator().manual_seed(5)
    n = shape[0] * shape[1]
    w = (b_min + (b_max - b_min) * torch.rand(n, generator=rng, dtype=torch.float64)) - flat["ref"]
    for _ in range(10):
        up = torch.rand(n, generator=rng) < 0.5
        xi = torch.randn(n, generator=rng).float()
        v = w + flat["ref"]
        span = b_max - b_min
        step_up = flat["dw_up"] * ((b_max - v) / span) ** flat["gamma_up"]
        step_down = flat["dw_down"] * ((v - b_min) / span) ** flat["gamma_down"]
        step = torch.where(up, step_up, -step_down) * (1 + dev.params.dw_min_std * xi.double())
        expected = torch.minimum(torch.maximum(v + step, b_min), b_max) - flat["ref"]
        got = get_law("pow_step").reference_step(w.float(), up, arrays, tile.law_scalars, xi)
        torch.testing.assert_close(got.double(), expected, rtol=0, atol=2e-6)
        w = expected


def test_piecewise_step_interpolates_the_table():
    dev = PiecewiseStepDevice(
        dw_min=0.01,
        piecewise_up=(1.0, 0.5, 0.0),
        piecewise_down=(0.0, 0.5, 1.0),
        w_max=1.0,
        w_min=-1.0,
        **QUIET,
    )
    tile = AnalogTile(1, 1, dev, seed=0)
    law = get_law("piecewise_step")
    a = {k: v.view(-1) for k, v in tile.device_arrays.items()}
    for w, factor in ((-1.0, 1.0), (-0.5, 0.75), (0.0, 0.5), (0.5, 0.25)):
        new = law.reference_step(torch.tensor([w]), torch.tensor([True]), a, tile.law_scalars, None)
        assert (new.item() - w) == pytest.approx(0.01 * factor, abs=1e-7)
    assert dev.granularity() == pytest.approx(0.005)
    assert law.flat_scalars(tile.law_scalars) == [0.0, 3.0, 1.0, 0.5, 0.0, 3.0, 0.0, 0.5, 1.0]


# -- pulse types ---------------------------------------------------------------------------
def _quiet_tile(pulse_type, **update):
    dev = get_device("ConstantStep", dw_min=0.01, **QUIET)
    params = UpdateParameters(pulse_type=pulse_type, **update)
    return AnalogTile(3, 4, dev, seed=0, update=params)


def test_deterministic_implicit_counts():
    up = UpdateParameters(
        pulse_type="DeterministicImplicit",
        update_management=False,
        update_bl_management=False,
        desired_bl=10,
    )
    x = torch.tensor([[1.0, 0.5, 0.0, -0.25]])
    d = torch.tensor([[1.0, -0.5, 0.2]])
    lr, g = 0.1, 0.01  # A = B = sqrt(lr / (g BL)) = 1
    n = deterministic_counts(x, d, lr, g, up, seed=0, update_index=0)[0]
    expected = torch.round(10 * d.abs().T.double() * x.abs().double()).to(torch.int64)
    assert torch.equal(n, expected)
    coarse = UpdateParameters(
        pulse_type="DeterministicImplicit",
        update_management=False,
        update_bl_management=False,
        desired_bl=10,
        x_res_implicit=0.5,
    )
    n2 = deterministic_counts(x, d, lr, g, coarse, seed=0, update_index=0)[0]
    qx = torch.tensor([1.0, 0.5, 0.0, 0.0], dtype=torch.float64)  # 0.25 rounds to 0 (half even)
    assert torch.equal(n2, torch.round(10 * d.abs().T.double() * qx).to(torch.int64))


def test_mean_count_counts():
    up = UpdateParameters(
        pulse_type="MeanCount", update_management=False, update_bl_management=False, desired_bl=10
    )
    x = torch.tensor([[1.0, 0.5, -0.3]])
    d = torch.tensor([[0.7, -0.2]])
    n = deterministic_counts(x, d, 0.1, 0.01, up, seed=0, update_index=0)[0]
    cx = torch.round(10 * x.abs().double()).clamp(0, 10)
    cd = torch.round(10 * d.abs().double()).clamp(0, 10)
    assert torch.equal(n, torch.round(cd.T * cx / 10).to(torch.int64))


def test_deterministic_update_moves_weights_by_counts():
    tile = _quiet_tile(
        "DeterministicImplicit", update_management=False, update_bl_management=False, desired_bl=10
    )
    x = torch.tensor([[1.0, 0.5, 0.0, -0.25]])
    d = torch.tensor([[1.0, -0.5, 0.2]])
    tile.update(x, d, 0.1)
    # one dw_min per pulse, descending; counts from the float32 values widened to double
    expected = (-0.01 * torch.round(10 * d.T.double() * x.double())).float()
    torch.testing.assert_close(tile.weights, expected, rtol=0, atol=1e-6)
    # the compiled engine runs the deterministic types when it is built
    assert tile.uses_native() == native_available()


def test_stochastic_equals_stochastic_compressed():
    a = _quiet_tile("Stochastic")
    b = _quiet_tile("StochasticCompressed")
    x, d = torch.randn(5, 4), torch.randn(5, 3)
    a.update(x, d, 0.05)
    b.update(x, d, 0.05)
    assert torch.equal(a.weights, b.weights) and a.last_update_pulses == b.last_update_pulses


def test_none_is_exact_and_unbounded_none_with_device_clips():
    exact, clipped = _quiet_tile("None"), _quiet_tile("NoneWithDevice")
    x, d = torch.ones(1, 4), torch.ones(1, 3)
    exact.update(x, d, 5.0)
    clipped.update(x, d, 5.0)
    assert torch.equal(exact.weights, torch.full((3, 4), -5.0))
    assert torch.equal(clipped.weights, clipped.device_arrays["w_min"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x_res_implicit": 2.0}, "x_res_implicit=2.0 is out of range"),
        ({"d_res_implicit": -0.1}, "d_res_implicit=-0.1 is out of range"),
        ({"pulse_type": "Bogus"}, "is not a pulse type"),
    ],
)
def test_invalid_update_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UpdateParameters(**kwargs)


def test_d_sparsity_not_supported():
    with pytest.raises(NotImplementedError, match="d_sparsity=True is not supported"):
        UpdateParameters(d_sparsity=True)


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (
            LinearStepDevice,
            {"gamma_up_dtod": -1.0},
            ValueError,
            r"gamma_up_dtod=-1.0 is invalid; allowed: gamma_up_dtod >= 0",
        ),
        (
            LinearStepDevice,
            {"reverse_up": True, "mult_noise": False},
            ValueError,
            "mult_noise=False is invalid",
        ),
        (
            LinearStepDevice,
            {"write_noise_std": -1.0},
            ValueError,
            "write_noise_std=-1.0 is invalid; allowed: write_noise_std >= 0",
        ),
        (
            SoftBoundsDevice,
            {"mult_noise": 1},
            ValueError,
            "mult_noise=1 is invalid; allowed: True or False",
        ),
        (
            SoftBoundsPmaxDevice,
            {"p_max": 0.0},
            ValueError,
            "p_max=0.0 is invalid; allowed: p_max > 0",
        ),
        (SoftBoundsPmaxDevice, {"range_max": -2.0}, ValueError, "range_max=-2.0 is invalid"),
        (
            SoftBoundsPmaxDevice,
            {"w_max": 0.8},
            ValueError,
            "w_max=0.8 is invalid; allowed: the default 0.6: w_max is derived from p_max",
        ),
        (
            PowStepReferenceDevice,
            {"n_estimation_steps": 100},
            ValueError,
            r"n_estimation_steps=100 is invalid; allowed: -1 \(the symmetry point is solved",
        ),
        (ExpStepDevice, {"dw_min_std_add": -0.1}, ValueError, "dw_min_std_add=-0.1 is invalid"),
        (
            ExpStepDevice,
            {"A_up": math.nan},
            ValueError,
            "A_up=nan is invalid; allowed: a finite number",
        ),
        (
            PowStepDevice,
            {"pow_gamma": -1.0},
            ValueError,
            "pow_gamma=-1.0 is invalid; allowed: pow_gamma >= 0",
        ),
        (
            PowStepReferenceDevice,
            {"reference_std": -1.0},
            ValueError,
            "reference_std=-1.0 is invalid",
        ),
        (PiecewiseStepDevice, {"piecewise_up": ()}, ValueError, "piecewise_up=.* is invalid"),
        (
            PiecewiseStepDevice,
            {"piecewise_up": (1.0, 1.0)},
            ValueError,
            "the same length as piecewise_up",
        ),
        (
            PiecewiseStepDevice,
            {"piecewise_down": (1.0, -1.0), "piecewise_up": (1.0, 1.0)},
            ValueError,
            ">= 0",
        ),
        (IdealDevice, {"diffusion": -0.1}, ValueError, "diffusion=-0.1 is invalid"),
        (IdealDevice, {"lifetime": float("inf")}, ValueError, "lifetime=inf is invalid"),
        (IdealDevice, {"reset_std": -1.0}, ValueError, "reset_std=-1.0 is invalid"),
        (
            SoftBoundsDevice,
            {"dw_min": 0.0},
            ValueError,
            "dw_min=0.0 is invalid; allowed: dw_min > 0",
        ),
    ],
)
def test_validation_errors_name_the_parameter(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_ideal_device_is_floating_point():
    assert get_device("IdealDevice").is_floating_point
    with pytest.raises(ValueError, match="sends no pulses"):
        pulse_response("Ideal")


@pytest.mark.parametrize(
    "name",
    [
        "LinearStepDevice",
        "SoftBoundsResistiveDevice",
        "ExpStepDevice",
        "PowStepDevice",
        "PowStepReferenceDevice",
        "PiecewiseStepDevice",
        "SoftBoundsPmaxDevice",
        "IdealResistiveDevice",
    ],
)
def test_aliases_registered(name):
    assert get_device(name) is not None


# -- presets -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_and_train_a_tiny_layer(name):
    device = get_device(name)
    assert get_device(name + "Device") == device
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, generator=gen)
    target = x @ torch.tensor([[0.3], [-0.2], [0.1]]) + 0.2
    tile = AnalogTile(1, 3, device, bias=True, seed=1)

    def loss():
        return ((tile.forward(x) - target) ** 2).mean().item()

    before = loss()
    for _ in range(15):
        y = tile.forward(x)
        tile.update(x, 2 * (y - target) / x.shape[0], 0.2)
    after = loss()
    assert math.isfinite(after)
    if name != "PCMPreset":  # a single PCM device holds only non-negative weights
        assert after < before


def test_preset_values_are_the_reference_values():
    p = get_device("ReRamESPreset").params
    assert (p.dw_min, p.up_down, p.A_up, p.A_down, p.dw_min_std) == (
        0.00135,
        0.259359,
        -1.18445,
        -0.081404,
        5.0,
    )
    assert get_device("EcRamMOPreset").params.dw_min == 2.8214e-4
    assert get_device("GokmenVlasovPreset").params.dw_min == 0.0016


# -- response and plot ---------------------------------------------------------------------
def test_pulse_response_shape_and_direction():
    r = pulse_response("SoftBounds", n_pulses=10, size=8, seed=1)
    assert r.weights.shape == (21, 8) and r.mean.shape == (21,) and r.std.shape == (21,)
    assert r.mean[10] > r.mean[0] and r.mean[20] < r.mean[10]
    with pytest.raises(ValueError, match="n_pulses=0"):
        pulse_response("SoftBounds", n_pulses=0)


def test_plot_cli(tmp_path, capsys, needs_matplotlib):
    out = tmp_path / "response.png"
    assert main(["plot", "SoftBounds", "-o", str(out), "--pulses", "5", "--size", "4"]) == 0
    assert out.stat().st_size > 1000
    assert main(["plot", "NoSuchDevice", "-o", str(out)]) == 1
    assert "NoSuchDevice" in capsys.readouterr().err


# -- native against reference, for every law the engine knows ----------------------------
LAW_DEVICES = {
    "constant_step": lambda: get_device("ConstantStep", dw_min_std=0.0),
    "linear_step": lambda: LinearStepDevice(gamma_up=0.3, gamma_down=0.2, dw_min_std=0.0),
    "soft_bounds": lambda: SoftBoundsDevice(dw_min_std=0.0),
    "soft_bounds_reference": lambda: SoftBoundsReferenceDevice(
        reference_mean=0.1, reference_std=0.05, dw_min_std=0.0
    ),
    "exp_step": lambda: ExpStepDevice(dw_min_std=0.0),
    "pow_step": lambda: PowStepDevice(pow_gamma=1.5, dw_min_std=0.0),
    "piecewise_step": lambda: PiecewiseStepDevice(
        piecewise_up=(1.0, 0.8, 0.3), piecewise_down=(0.3, 0.8, 1.0), dw_min_std=0.0
    ),
}


@pytest.mark.parametrize(
    "pulse_type", ["StochasticCompressed", "Stochastic", "DeterministicImplicit", "MeanCount"]
)
@pytest.mark.parametrize("law", sorted(LAW_DEVICES))
def test_native_matches_reference(law, pulse_type):
    device = LAW_DEVICES[law]()
    update = UpdateParameters(pulse_type=pulse_type)
    native = AnalogTile(6, 5, device, seed=7, update=update)
    if not native.uses_native():
        pytest.skip(f"the compiled engine does not run step law {device.law!r} yet")
    ref = AnalogTile(6, 5, device, seed=7, update=update)
    ref.backend = "reference"
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        x, d = torch.randn(4, 5, generator=gen), torch.randn(4, 6, generator=gen)
        native.update(x, d, 0.05)
        ref.update(x, d, 0.05)
        assert native.last_update_pulses == ref.last_update_pulses
        torch.testing.assert_close(native.weights, ref.weights, rtol=0, atol=1e-6)

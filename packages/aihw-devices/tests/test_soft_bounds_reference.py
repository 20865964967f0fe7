"""The soft-bounds reference device (docs/physics/devices.md#soft-bounds-reference) and its law
``soft_bounds_reference``."""

from __future__ import annotations

import math

import pytest
import torch

from aihw.core import AnalogTile
from aihw.core.laws import get_law
from aihw.devices import (
    SoftBoundsDevice,
    SoftBoundsReferenceDevice,
    SoftBoundsReferenceResistiveDevice,
    get_device,
    get_device_class,
    list_devices,
)
from aihw.devices._pulsed import sample_base
from aihw.devices.cli import main
from aihw.devices.response import pulse_response, single_pulse_tile
from aihw.devices.testing import check_device_model

QUIET = {
    "dw_min_dtod": 0.0,
    "up_down_dtod": 0.0,
    "w_max_dtod": 0.0,
    "w_min_dtod": 0.0,
    "dw_min_std": 0.0,
}


# -- the C.10 pulse written out directly, to compare the tile's law against ----------------
def _direct_draws(device, shape, seed):
    """Steps, bounds and reference of docs/physics/devices.md#soft-bounds-reference, drawn from the
    tile's generator.

    The draws follow the device's order: the common ones (C.2), then one normal array
    each for the DOWN slope, the UP slope and the reference.
    """
    p = device.params
    generator = torch.Generator().manual_seed(seed)
    base = sample_base(p, shape, generator)
    xi_down, xi_up, xi_ref = (
        torch.randn(shape, generator=generator, dtype=torch.float64) for _ in range(3)
    )
    b_min, b_max = base["w_min"], base["w_max"]
    straddles = (b_min < 0) & (b_max > 0)
    b_max = torch.where(straddles, b_max / (1 + p.slope_up_dtod * xi_up).abs(), b_max)
    b_min = torch.where(straddles, b_min / (1 + p.slope_down_dtod * xi_down).abs(), b_min)
    ref = p.reference_mean + p.reference_std * xi_ref
    if p.subtract_symmetry_point:
        up, down = base["dw_up"], base["dw_down"]
        ref = ref + (up - down) / (up / b_max - down / b_min)
    return {
        "dw_up": base["dw_up"],
        "dw_down": base["dw_down"],
        "b_min": b_min,
        "b_max": b_max,
        "ref": ref,
    }


def _direct_pulse(w, up, d, sigma, xi, mult_noise):
    """``v = w + ref``; the soft-bounds step of C.6 on ``v``; clip; ``w = v - ref``."""
    v = w.double() + d["ref"]
    noise = sigma * xi.double()
    if mult_noise:
        step_up = d["dw_up"] * (1 - v / d["b_max"]) * (1 + noise)
        step_down = d["dw_down"] * (1 - v / d["b_min"]) * (1 + noise)
    else:
        step_up = d["dw_up"] * (1 - v / d["b_max"] + noise)
        step_down = d["dw_down"] * (1 - v / d["b_min"] + noise)
    v = torch.where(up, v + step_up, v - step_down)
    v = torch.minimum(torch.maximum(v, d["b_min"]), d["b_max"])
    return v - d["ref"]


CASES = {
    "mult noise, spread reference": dict(
        mult_noise=True,
        dw_min_std=0.3,
        reference_mean=0.05,
        reference_std=0.1,
        slope_up_dtod=0.2,
        slope_down_dtod=0.3,
    ),
    "mult noise, symmetry point": dict(
        mult_noise=True,
        dw_min_std=0.3,
        up_down=0.2,
        subtract_symmetry_point=True,
    ),
    "additive noise, no reference": dict(mult_noise=False, dw_min_std=0.3, slope_up_dtod=0.2),
    "additive noise, spread reference": dict(
        mult_noise=False,
        dw_min_std=0.3,
        reference_mean=0.05,
        reference_std=0.1,
        slope_up_dtod=0.2,
        slope_down_dtod=0.3,
    ),
    "additive noise, symmetry point": dict(
        mult_noise=False, dw_min_std=0.3, up_down=0.2, subtract_symmetry_point=True
    ),
    "additive, noiseless, reference": dict(
        mult_noise=False,
        dw_min_std=0.0,
        reference_mean=-0.1,
        reference_std=0.05,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_law_with_the_sampled_arrays_is_the_reference_pulse(case):
    device = SoftBoundsReferenceDevice(dw_min=0.05, **CASES[case])
    shape, seed = (40, 50), 3
    tile = AnalogTile(*shape, device, seed=seed)
    direct = {k: v.reshape(-1) for k, v in _direct_draws(device, shape, seed).items()}
    arrays = {k: v.reshape(-1) for k, v in tile.device_arrays.items()}
    gen = torch.Generator().manual_seed(11)
    n = shape[0] * shape[1]
    law = get_law(device.law)
    sigma = device.params.dw_min_std
    w = (torch.rand(n, generator=gen) * 1.6 - 0.8).float()  # some outside the bounds
    for _ in range(20):  # a sequence of pulses, so the clip is met on both sides
        up = torch.rand(n, generator=gen) < 0.5
        xi = torch.randn(n, generator=gen).float() if sigma else None
        expected = _direct_pulse(
            w, up, direct, sigma, xi if xi is not None else torch.zeros(n), device.params.mult_noise
        )
        w = law.reference_step(w, up, arrays, tile.law_scalars, xi)
        torch.testing.assert_close(w.double(), expected, rtol=0, atol=2e-6)
        w = expected.float()


def test_a_tile_follows_the_reference_pulse_when_driven():
    device = SoftBoundsReferenceDevice(
        mult_noise=True,
        dw_min=0.02,
        dw_min_std=0.0,
        reference_mean=0.1,
        reference_std=0.1,
        slope_up_dtod=0.2,
        slope_down_dtod=0.2,
    )
    size, n = 30, 60
    response = pulse_response(device, n_pulses=n, size=size, seed=5)
    d = {k: v[:, 0] for k, v in _direct_draws(device, (size, 1), 5).items()}
    w = torch.clamp(
        torch.zeros(size, dtype=torch.float64), d["b_min"] - d["ref"], d["b_max"] - d["ref"]
    )
    zeros = torch.zeros(size)
    for k in range(2 * n):
        up = torch.full((size,), k < n)
        w = _direct_pulse(w.float(), up, d, 0.0, zeros, True)
        torch.testing.assert_close(response.weights[k + 1].double(), w, rtol=0, atol=2e-6)


# -- characteristic shapes -----------------------------------------------------------------
def _alternate(device, n, size=4, seed=0):
    """The weights after ``n`` alternating UP/DOWN pulses (starting UP) on each device."""
    tile = single_pulse_tile(device, size, seed)
    x, up = torch.ones(1, 1), -torch.ones(1, size)
    for k in range(n):
        tile.update(x, up if k % 2 == 0 else -up, tile.granularity)
    return tile.weights[:, 0].clone()


ASYMMETRIC = dict(QUIET, dw_min=0.01, up_down=0.3, w_max=0.5, w_min=-0.5, mult_noise=True)


def test_a_reference_offset_moves_the_fixed_point_of_alternating_pulses_by_minus_ref():
    plain = _alternate(SoftBoundsReferenceDevice(**ASYMMETRIC), 2000)
    shifted = _alternate(SoftBoundsReferenceDevice(reference_mean=0.1, **ASYMMETRIC), 2000)
    torch.testing.assert_close(shifted - plain, torch.full_like(plain, -0.1), rtol=0, atol=1e-4)
    # and without a reference it is the plain soft-bounds device
    soft = _alternate(SoftBoundsDevice(**ASYMMETRIC), 2000)
    torch.testing.assert_close(plain, soft, rtol=0, atol=1e-6)


def test_with_additive_noise_a_reference_moves_the_fixed_point_by_minus_ref():
    # The additive noise dw s xi does not depend on v, so with the same normals the device
    # weights v of both tiles converge and the read weights differ by -ref alone.
    noisy = dict(ASYMMETRIC, mult_noise=False, dw_min_std=0.3)
    plain = _alternate(SoftBoundsReferenceDevice(**noisy), 2000)
    shifted = _alternate(SoftBoundsReferenceDevice(reference_mean=0.1, **noisy), 2000)
    assert (plain - plain.mean()).abs().max() > 1e-3  # the noise is there
    torch.testing.assert_close(shifted - plain, torch.full_like(plain, -0.1), rtol=0, atol=1e-4)


def test_subtracting_the_symmetry_point_settles_alternating_pulses_near_zero():
    plain = _alternate(SoftBoundsReferenceDevice(**ASYMMETRIC), 2000)
    # up_down=0.3 shrinks DOWN steps: the symmetry point is (1 - 0.7)/(1/0.5 + 0.7/0.5)
    assert plain.mean().item() == pytest.approx(0.3 / (2 + 1.4), abs=0.01)
    centred = _alternate(
        SoftBoundsReferenceDevice(subtract_symmetry_point=True, **ASYMMETRIC), 2000
    )
    assert centred.abs().max().item() < 0.01  # within one step of 0


@pytest.mark.parametrize("direction", ["up", "down"])
def test_slope_spread_scales_each_slope_by_one_plus_dtod_xi(direction):
    dtod = 0.2
    device = SoftBoundsReferenceDevice(**QUIET, **{f"slope_{direction}_dtod": dtod})
    arrays = device.sample(200, 100, torch.Generator().manual_seed(0))
    p = device.params
    mean_slope = -p.dw_min / (p.w_max if direction == "up" else p.w_min)
    factor = arrays[f"slope_{direction}"].double() / mean_slope
    # |1 + 0.2 xi|: mean 1, std 0.2 (the absolute value hardly matters at this spread)
    assert factor.mean().item() == pytest.approx(1.0, abs=0.01)
    assert factor.std().item() == pytest.approx(dtod, rel=0.03)
    assert factor.min().item() >= 0
    other = "down" if direction == "up" else "up"
    other_slope = -p.dw_min / (p.w_max if other == "up" else p.w_min)
    torch.testing.assert_close(
        arrays[f"slope_{other}"].double(), torch.full((200, 100), other_slope, dtype=torch.float64)
    )


def test_the_reference_is_drawn_per_device_and_shifts_the_bounds():
    device = SoftBoundsReferenceDevice(**QUIET, reference_mean=0.05, reference_std=0.02)
    arrays = device.sample(200, 100, torch.Generator().manual_seed(1))
    ref = device.params.w_max - arrays["w_max"].double()
    torch.testing.assert_close(device.params.w_min - arrays["w_min"].double(), ref)
    assert ref.mean().item() == pytest.approx(0.05, abs=0.001)
    assert ref.std().item() == pytest.approx(0.02, rel=0.03)


# -- parameters, registry, response --------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"slope_up_dtod": -0.1},
            ValueError,
            r"slope_up_dtod=-0.1 is invalid; allowed: slope_up_dtod >= 0",
        ),
        (
            {"slope_down_dtod": math.inf},
            ValueError,
            r"slope_down_dtod=inf is invalid; allowed: a finite",
        ),
        (
            {"reference_std": -0.5},
            ValueError,
            r"reference_std=-0.5 is invalid; allowed: reference_std >= 0",
        ),
        (
            {"reference_mean": math.nan},
            ValueError,
            r"reference_mean=nan is invalid; allowed: a finite",
        ),
        (
            {"subtract_symmetry_point": 1},
            ValueError,
            r"subtract_symmetry_point=1 is invalid; allowed: True or False",
        ),
        ({"mult_noise": "yes"}, ValueError, r"mult_noise='yes' is invalid; allowed: True or False"),
        (
            {"write_noise_std": float("nan")},
            ValueError,
            r"write_noise_std=nan is invalid; allowed: a finite number",
        ),
    ],
)
def test_invalid_parameters_name_the_parameter_and_the_allowed_range(kwargs, error, match):
    with pytest.raises(error, match=match):
        SoftBoundsReferenceDevice(**kwargs)


def test_every_noise_and_reference_combination_builds_on_the_law():
    for mult_noise in (False, True):
        for reference in ({}, {"reference_mean": 0.1}, {"subtract_symmetry_point": True}):
            device = SoftBoundsReferenceDevice(mult_noise=mult_noise, **reference)
            assert device.law == "soft_bounds_reference"


def test_registered_under_its_names_and_listed():
    for name in (
        "SoftBoundsReference",
        "SoftBoundsReferenceDevice",
        "SoftBoundsReferenceResistiveDevice",
    ):
        assert get_device_class(name) is SoftBoundsReferenceResistiveDevice
    info = {i.name: i for i in list_devices()}["SoftBoundsReference"]
    assert info.law == "soft_bounds_reference" and info.native
    assert get_device("SoftBoundsReference", mult_noise=True).params.mult_noise is True


def test_follows_the_device_model_contract():
    check_device_model(SoftBoundsReferenceResistiveDevice)
    params = SoftBoundsReferenceResistiveDevice.parameters_class(
        mult_noise=True, reference_std=0.05, subtract_symmetry_point=True, slope_up_dtod=0.1
    )
    check_device_model(SoftBoundsReferenceResistiveDevice, params)


def test_pulse_response_and_plot(tmp_path, request):
    r = pulse_response(
        "SoftBoundsReference", n_pulses=10, size=8, seed=1, mult_noise=True, reference_mean=0.05
    )
    assert r.weights.shape == (21, 8)
    assert r.mean[10] > r.mean[0] and r.mean[20] < r.mean[10]
    request.getfixturevalue("needs_matplotlib")  # the response above is checked regardless
    out = tmp_path / "response.png"
    assert (
        main(["plot", "SoftBoundsReference", "-o", str(out), "--pulses", "5", "--size", "4"]) == 0
    )
    assert out.stat().st_size > 1000

"""Iterative bound management (docs/physics/periphery.md#bound-management): only saturated samples
re-run."""

from __future__ import annotations

import pytest
import torch
from _periphery_helpers import BACKENDS, make_tile, quiet


@pytest.mark.parametrize("backend", BACKENDS)
def test_saturated_sample_is_recomputed_with_reduced_input(backend):
    # y = 64 in the normalised domain: 64 > 12 at red = 1, 2, 4; 8 passes at red = 8.
    w = torch.ones(8, 64)
    x = torch.ones(1, 64)
    tile = make_tile(w, quiet(), backend=backend)
    y = tile.forward(x)
    p = tile.forward_periphery
    assert p.last_passes == 4
    assert p.last_bound_hits == 0
    assert (y.abs() < 12 * 8).all()
    assert torch.allclose(y, torch.full((1, 8), 64.0), rtol=0.02)
    # Without bound management the same input is clipped at the ADC bound.
    clipped = make_tile(w, quiet(bound_management="None"), backend=backend).forward(x)
    assert torch.equal(clipped, torch.full((1, 8), 12.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_saturated_samples_rerun(backend):
    torch.manual_seed(0)
    w = torch.ones(4, 64) * 0.25
    x = torch.rand(6, 64) * 0.1  # y / max|x| is about 8: unsaturated
    x[2] = 1.0  # y = 16: saturated
    x[4] = -1.0  # y = -16: saturated negatively
    io = quiet(out_noise=0.05)
    managed = make_tile(w, io, backend=backend)
    plain = make_tile(w, quiet(out_noise=0.05, bound_management="None"), backend=backend)
    ym, yp = managed.forward(x), plain.forward(x)
    ok = torch.tensor([0, 1, 3, 5])
    assert (yp[ok].abs() < 12 * x[ok].abs().amax(1, keepdim=True)).all()
    assert managed.forward_periphery.last_passes == 2  # red 1, 2 (16 / 2 = 8 < 12)
    # The unsaturated samples keep their first-pass result, noise included.
    assert torch.equal(ym[ok], yp[ok])
    assert torch.allclose(ym[2], torch.full((4,), 16.0), rtol=0.05)
    assert torch.allclose(ym[4], torch.full((4,), -16.0), rtol=0.05)
    assert torch.equal(yp[2], torch.full((4,), 12.0))


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_bound_test_can_be_switched_off(backend):
    w = torch.ones(2, 64)
    io = quiet(bm_test_negative_bound=False)
    tile = make_tile(w, io, backend=backend)
    y = tile.forward(-torch.ones(1, 64))
    assert tile.forward_periphery.last_passes == 1
    assert torch.equal(y, torch.full((1, 2), -12.0))


@pytest.mark.parametrize(
    ("kwargs", "passes"),
    [
        ({}, 5),  # red 1..16: max_bm_res / inp_step = 0.25 * 63 = 15.75
        ({"max_bm_factor": 4}, 4),  # red 1, 2, 4, 8: 8 > 4 stops
        ({"inp_res": 0.0}, 9),  # red 1..256: 2048 / 256 = 8 < 12
        ({"inp_res": 0.0, "max_bm_factor": 1000}, 9),
        ({"inp_res": 0.0, "max_bm_factor": 10}, 5),  # red 1..16: 16 > 10 stops
    ],
)
@pytest.mark.parametrize("backend", BACKENDS)
def test_number_of_passes_respects_the_limits(backend, kwargs, passes):
    w = torch.ones(3, 2048)
    x = torch.ones(2, 2048)
    tile = make_tile(w, quiet(**kwargs), backend=backend)
    y = tile.forward(x)
    p = tile.forward_periphery
    assert p.last_passes == passes
    red = 2 ** (passes - 1)
    if 2048 / red > 12:
        assert p.last_bound_hits == 2
        assert torch.allclose(y, torch.full((2, 3), 12.0 * red))  # clipped at the last red
    else:
        assert p.last_bound_hits == 0
        assert torch.allclose(y, torch.full((2, 3), 2048.0), rtol=0.01)


@pytest.mark.parametrize("backend", BACKENDS)
def test_iterative_worst_case_switches_to_np_sum(backend):
    w = torch.ones(4, 64)
    x = torch.ones(1, 64)
    tile = make_tile(w, quiet(bound_management="IterativeWorstCase"), backend=backend)
    y = tile.forward(x)
    # Pass 2 uses s = max(1, 64 * 0.6 / 12 = 3.2) and red = 1: y0 = 20 > 12 hits; red = 2:
    # 10 < 12 passes. Three passes in all.
    assert tile.forward_periphery.last_passes == 3
    assert tile.forward_periphery.last_bound_hits == 0
    assert torch.allclose(y, torch.full((1, 4), 64.0), rtol=0.02)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_has_no_bound_management(backend):
    w = torch.ones(64, 4)
    io = quiet()  # Iterative by default: ignored backward (docs/physics/periphery.md#backward-pass)
    tile = make_tile(w, quiet(), io, backend=backend)
    z = tile.backward(torch.ones(1, 64))
    assert tile.backward_periphery.last_passes == 1
    assert torch.equal(z, torch.full((1, 4), 12.0))


def test_backward_zero_error_gives_zero():
    w = torch.randn(5, 3)
    io = quiet(inp_noise=0.1)  # input noise does not rescue a zero error backward
    tile = make_tile(w, quiet(), io)
    assert torch.equal(tile.backward(torch.zeros(2, 5)), torch.zeros(2, 3))

"""Noise statistics (docs/physics/periphery.md#forward-pass, #mac-non-idealities): the error's std
over many forwards, in real units.

Quantisation is off here so that only the noise under test acts. Each test draws
``N`` = 64 samples x 64 outputs x 40 forwards = 163840 errors; the std of a std estimate
is about ``1/sqrt(2N)`` = 0.17 %, so the 2 % tolerance is far outside chance.
"""

from __future__ import annotations

import math

import pytest
import torch
from _periphery_helpers import BACKENDS, make_tile, quiet

from aihw.core.reference.philox import periphery_normals_from_words

TOL = 0.02
REPEATS = 40


def _errors(tile, x, exact, repeats=REPEATS):
    return torch.cat([(tile.forward(x) - exact).flatten() for _ in range(repeats)]).double()


def _inputs(scale: float) -> torch.Tensor:
    # Every row has max|x| = scale, so abs-max noise management divides by `scale`.
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(64, 64, generator=g) * 2 - 1) * scale
    x[:, 0] = scale
    return x


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_noise_std_is_out_noise_times_the_nm_scale(backend):
    s, sigma = 2.5, 0.06
    w = torch.randn(64, 64, generator=torch.Generator().manual_seed(0)) * 0.1
    x = _inputs(s)
    io = quiet(out_noise=sigma, inp_res=0.0, out_res=0.0, bound_management="None")
    tile = make_tile(w, io, backend=backend)
    err = _errors(tile, x, x @ w.T)
    assert abs(err.mean()) < 3 * sigma * s / math.sqrt(err.numel())
    assert err.std().item() == pytest.approx(sigma * s, rel=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_inp_noise_std(backend):
    # y = W (x/s + sigma xi) s: error std = sigma * s * ||W_i||; W = 0.5 I gives 0.5 sigma s.
    s, sigma = 1.5, 0.05
    w = 0.5 * torch.eye(64)
    x = _inputs(s)
    io = quiet(inp_noise=sigma, inp_res=0.0, out_res=0.0, bound_management="None")
    tile = make_tile(w, io, backend=backend)
    err = _errors(tile, x, x @ w.T)
    assert err.std().item() == pytest.approx(0.5 * sigma * s, rel=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_additive_w_noise_std(backend):
    # y_i += w_noise ||v|| xi with v = x / s = +-1: std = w_noise * sqrt(n) * s.
    s, sigma, n = 2.0, 0.01, 64
    g = torch.Generator().manual_seed(4)
    x = torch.where(torch.rand(64, n, generator=g) < 0.5, -s, s)
    w = torch.randn(64, n, generator=g) * 0.05
    io = quiet(
        w_noise=sigma,
        w_noise_type="AdditiveConstant",
        inp_res=0.0,
        out_res=0.0,
        bound_management="None",
    )
    tile = make_tile(w, io, backend=backend)
    err = _errors(tile, x, x @ w.T)
    assert err.std().item() == pytest.approx(sigma * math.sqrt(n) * s, rel=TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pcm_read_w_noise_std(backend):
    # y_i += w_noise sqrt(sum_j |W_ij| v_j^2) xi; |W_ij| = 0.25 and v = +-1: sqrt(0.25 n).
    s, sigma, n = 3.0, 0.02, 64
    g = torch.Generator().manual_seed(5)
    x = torch.where(torch.rand(64, n, generator=g) < 0.5, -s, s)
    w = torch.where(torch.rand(64, n, generator=g) < 0.5, -0.25, 0.25)
    io = quiet(
        w_noise=sigma, w_noise_type="PCMRead", inp_res=0.0, out_res=0.0, bound_management="None"
    )
    tile = make_tile(w, io, backend=backend)
    err = _errors(tile, x, x @ w.T)
    assert err.std().item() == pytest.approx(sigma * math.sqrt(0.25 * n) * s, rel=TOL)


def test_out_noise_std_spreads_the_noise_per_output():
    w = torch.eye(64)
    io = quiet(
        out_noise=0.1,
        out_noise_std=0.5,
        inp_res=0.0,
        out_res=0.0,
        bound_management="None",
        noise_management="None",
        out_bound=0.0,
    )
    tile = make_tile(w, io)
    sigma = tile.forward_periphery.noise_per_output
    assert sigma.shape == (64,) and (sigma >= 0).all()
    assert sigma.std() > 0.01  # really spread
    x = torch.zeros(64, 64)
    err = torch.stack([tile.forward(x) for _ in range(100)]).reshape(-1, 64).double()
    assert torch.allclose(err.std(0), sigma.double(), rtol=0.15)


def test_backward_noise_uses_its_own_streams():
    w = torch.eye(8)
    io = quiet(
        out_noise=0.1,
        inp_res=0.0,
        out_res=0.0,
        noise_management="None",
        bound_management="None",
        out_bound=0.0,
    )
    tile = make_tile(w, io, io)
    x = torch.zeros(4, 8)
    assert not torch.equal(tile.forward(x), tile.backward(x))


def test_noises_change_between_calls_and_repeat_with_the_seed():
    w = torch.eye(8)
    io = quiet(out_noise=0.1)
    a, b = make_tile(w, io, seed=5), make_tile(w, io, seed=5)
    x = torch.ones(2, 8)
    ya1, ya2 = a.forward(x), a.forward(x)
    assert not torch.equal(ya1, ya2)
    assert torch.equal(b.forward(x), ya1) and torch.equal(b.forward(x), ya2)
    assert not torch.equal(make_tile(w, io, seed=6).forward(x), ya1)


def test_periphery_normals_are_standard_normal():
    words = torch.randint(
        0, 2**32, (250000, 4), generator=torch.Generator().manual_seed(0), dtype=torch.int64
    )
    z = periphery_normals_from_words(words).flatten().double()
    assert abs(z.mean()) < 0.005
    assert z.std().item() == pytest.approx(1.0, abs=0.003)
    assert (z**4).mean().item() == pytest.approx(3.0, abs=0.05)
    tail = (z.abs() > 3).double().mean().item()
    assert tail == pytest.approx(0.0027, rel=0.15)
    assert z.abs().max() < math.sqrt(48 * math.log(2)) + 1e-4  # u >= 2^-24

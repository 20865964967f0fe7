"""Decay, diffusion and column reset of AnalogTile (docs/physics/device-operations.md, engine
contract §9)."""

from __future__ import annotations

import pytest
import torch
from _device_op_helpers import OpsDevice

from aihw.core import native_available
from aihw.core.tiles import AnalogTile
from aihw.core.tiles.state import tile_from_state, tile_state

HAVE_NATIVE = native_available()
BACKENDS = ["reference"] + (["native"] if HAVE_NATIVE else [])


WIDE = {"w_min": -10.0, "w_max": 10.0, "w_min_dtod": 0.0, "w_max_dtod": 0.0}


def _tile(backend, out_size=8, in_size=6, bias=False, seed=5, **params):
    tile = AnalogTile(out_size, in_size, OpsDevice(**params), bias=bias, seed=seed)
    tile.backend = backend
    return tile


def _idle_update(tile):
    """An accepted update that fires no pulse: only the post-update step acts."""
    tile.update(torch.zeros(1, tile.in_size), torch.zeros(1, tile.out_size), lr=0.1)


# -- decay ---------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_decay_moves_weights_geometrically_toward_the_reset_bias(backend):
    tile = _tile(backend, lifetime=20.0, reset=0.1, **WIDE)
    w0 = torch.linspace(-0.5, 0.5, 48).reshape(8, 6)
    tile.set_weights(w0)
    for _ in range(5):
        _idle_update(tile)
    expected = 0.1 + (w0 - 0.1) * (1 - 1 / 20.0) ** 5
    torch.testing.assert_close(tile.get_weights()[0], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_explicit_decay_takes_alpha(backend):
    tile = _tile(backend, lifetime=10.0, **WIDE)
    w0 = torch.full((8, 6), 0.4)
    tile.set_weights(w0)
    tile.decay_weights(alpha=0.5)
    torch.testing.assert_close(tile.get_weights()[0], w0 * (1 - 0.5 / 10.0), rtol=0, atol=1e-7)
    assert tile.update_index == 0  # an explicit step is not an update


@pytest.mark.parametrize("backend", BACKENDS)
def test_decay_clips_to_the_device_bounds(backend):
    # a reset bias beyond the bounds: decay moves toward it but stops at the bound
    tile = _tile(backend, lifetime=1.5, reset=5.0)
    tile.decay_weights()
    assert torch.equal(tile.weights, tile.device_arrays["w_max"])


def test_without_the_arrays_nothing_happens():
    tile = _tile("auto")
    tile.set_weights(torch.full((8, 6), 0.3))
    before = tile.weights.clone()
    tile.decay_weights()
    tile.diffuse_weights()
    _idle_update(tile)
    assert torch.equal(tile.weights, before)
    assert tile.diffusion_index == 0
    assert set(tile.device_arrays) == {"dw_up", "dw_down", "w_min", "w_max"}


# -- diffusion -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_diffusion_std_per_update_is_the_rate(backend):
    tile = _tile(backend, out_size=256, in_size=256, diffusion=0.01, **WIDE)
    _idle_update(tile)
    w = tile.weights.clone()
    # 65536 normals: the sample std is within 1.5% of 0.01, the mean within 4 sigma.
    assert abs(w.std().item() - 0.01) < 1.5e-4
    assert abs(w.mean().item()) < 4 * 0.01 / 256
    assert tile.diffusion_index == 1
    _idle_update(tile)
    step = tile.weights - w
    assert abs(step.std().item() - 0.01) < 1.5e-4
    assert abs(torch.corrcoef(torch.stack((w.flatten(), step.flatten())))[0, 1].item()) < 0.02


@pytest.mark.parametrize("backend", BACKENDS)
def test_diffusion_stays_within_the_bounds(backend):
    tile = _tile(backend, out_size=32, in_size=32, diffusion=1.0)
    tile.diffuse_weights()
    arrays = tile.device_arrays
    assert bool(((tile.weights >= arrays["w_min"]) & (tile.weights <= arrays["w_max"])).all())
    assert bool((tile.weights == arrays["w_max"]).any())


# -- reset ---------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_sets_columns_to_the_bias_plus_noise_and_leaves_the_others(backend):
    tile = _tile(backend, out_size=1024, in_size=8, reset=0.1, reset_std=0.05, **WIDE)
    w0 = torch.randn(1024, 8, generator=torch.Generator().manual_seed(1)) * 0.2
    tile.set_weights(w0)
    tile.reset_columns(start_column_idx=2, num_columns=3)
    w = tile.get_weights()[0]
    assert torch.equal(w[:, :2], w0[:, :2])
    assert torch.equal(w[:, 5:], w0[:, 5:])
    reset = w[:, 2:5]
    # 3072 samples: mean within 4 sigma, std within 5%
    assert abs(reset.mean().item() - 0.1) < 4 * 0.05 / 3072**0.5
    assert abs(reset.std().item() - 0.05) < 0.05 * 0.05
    assert tile.reset_index == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_probability(backend):
    tile = _tile(backend, out_size=1024, in_size=4, reset=0.25, reset_std=0.0, **WIDE)
    tile.set_weights(torch.zeros(1024, 4))
    tile.reset_columns(0, 4, reset_prob=0.3)
    w = tile.get_weights()[0]
    assert set(w.unique().tolist()) == {0.0, 0.25}
    assert abs((w == 0.25).float().mean().item() - 0.3) < 4 * (0.3 * 0.7 / 4096) ** 0.5
    tile.reset_columns(0, 4, reset_prob=0.0)
    assert torch.equal(tile.get_weights()[0], w)
    assert tile.reset_index == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_reaches_the_bias_column(backend):
    tile = _tile(backend, in_size=3, bias=True, reset=0.2, reset_std=0.0, **WIDE)
    tile.reset_columns(3)
    _, b = tile.get_weights()
    assert torch.equal(b, torch.full((8,), 0.2))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((6, 1, 1.0), r"start_column_idx=6 is invalid; allowed: an integer in \[0, 5\]"),
        ((-1, 1, 1.0), r"start_column_idx=-1 is invalid"),
        ((4, 3, 1.0), r"num_columns=3 is invalid; allowed: an integer in \[1, 2\]"),
        ((0, 0, 1.0), r"num_columns=0 is invalid"),
        ((0, 1, 1.5), r"reset_prob=1.5 is invalid; allowed: 0 <= reset_prob <= 1"),
        ((0, 1, float("nan")), r"reset_prob=nan is invalid"),
        ((True, 1, 1.0), r"start_column_idx=True is invalid"),
    ],
)
def test_a_rejected_reset_changes_nothing(args, message):
    tile = _tile("auto", reset=0.1)
    before = tile.weights.clone()
    with pytest.raises(ValueError, match=message):
        tile.reset_columns(*args)
    assert torch.equal(tile.weights, before)
    assert tile.reset_index == 0


@pytest.mark.parametrize("alpha", [-0.5, float("inf"), "1", None])
def test_a_rejected_decay_changes_nothing(alpha):
    tile = _tile("auto", lifetime=5.0)
    tile.set_weights(torch.full((8, 6), 0.3))
    before = tile.weights.clone()
    with pytest.raises(ValueError, match=r"decay_weights: alpha=.* is invalid; allowed: a finite"):
        tile.decay_weights(alpha)
    assert torch.equal(tile.weights, before)


def test_a_rejected_update_runs_no_post_update_step():
    tile = _tile("auto", lifetime=5.0, diffusion=0.01)
    tile.set_weights(torch.full((8, 6), 0.3))
    before = tile.weights.clone()
    with pytest.raises(ValueError):
        tile.update(torch.full((1, 6), float("nan")), torch.zeros(1, 8))
    assert torch.equal(tile.weights, before)
    assert (tile.update_index, tile.diffusion_index) == (0, 0)


# -- native vs reference, threads, state -----------------------------------------------------
def _train(backend, threads=None, steps=4):
    tile = _tile(
        backend,
        out_size=70,
        in_size=99,
        bias=True,
        seed=11,
        lifetime=8.0,
        diffusion=0.003,
        reset=0.05,
        reset_spread=0.02,
        reset_std=0.02,
    )
    tile.num_threads = threads
    g = torch.Generator().manual_seed(2)
    for k in range(steps):
        tile.update(torch.randn(3, 99, generator=g), torch.randn(3, 70, generator=g), 0.05)
        tile.reset_columns(7 * k + 1, 13, reset_prob=0.6)
        tile.decay_weights(0.3)
        tile.diffuse_weights()
    return tile


@pytest.mark.skipif(not HAVE_NATIVE, reason="needs the compiled engine")
def test_native_equals_reference_bit_for_bit():
    assert _train("native").uses_native()
    assert torch.equal(_train("native").weights, _train("reference").weights)


@pytest.mark.skipif(not HAVE_NATIVE, reason="needs the compiled engine")
def test_threads_do_not_change_the_result():
    one = _train("native", threads=1).weights
    assert torch.equal(_train("native", threads=2).weights, one)
    assert torch.equal(_train("native", threads=3).weights, one)


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_resumes_exactly(backend):
    tile = _train(backend, steps=2)
    assert (tile.diffusion_index, tile.reset_index) == (4, 2)
    state = tile_state(tile)
    assert state["device_op_counters"] == {"diffusion_index": 4, "reset_index": 2}
    resumed = tile_from_state(state, {OpsDevice.name: OpsDevice}.__getitem__)
    for t in (tile, resumed):
        t.update(torch.ones(2, 99), torch.ones(2, 70), 0.05)
        t.reset_columns(3, 5, 0.5)
    assert torch.equal(resumed.weights, tile.weights)
    assert (resumed.diffusion_index, resumed.reset_index) == (5, 3)


def test_state_without_counters_loads_with_zero():
    tile = _tile("auto", diffusion=0.01)
    state = tile_state(tile)
    del state["device_op_counters"]
    resumed = tile_from_state(state, {OpsDevice.name: OpsDevice}.__getitem__)
    assert (resumed.diffusion_index, resumed.reset_index) == (0, 0)

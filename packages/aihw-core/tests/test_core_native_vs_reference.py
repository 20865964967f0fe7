"""The compiled engine against the plain-torch reference (engine contract §2-§5).

Both draw every random number from its own Philox counter, so for the same seed they fire
the same pulses; without cycle-to-cycle noise they compute the same float32 weights.
"""

from __future__ import annotations

import pytest
import torch

from aihw.core import AnalogTile, UpdateParameters

UPDATE_VARIANTS = {
    "default": UpdateParameters(),
    "um_only": UpdateParameters(update_bl_management=False),
    "no_management": UpdateParameters(update_bl_management=False, update_management=False),
    "variable_bl": UpdateParameters(
        fixed_bl=False, update_bl_management=False, update_management=False, desired_bl=5
    ),
    "variable_bl_um": UpdateParameters(fixed_bl=False, update_bl_management=False, desired_bl=5),
    "res": UpdateParameters(res=0.05),
    "res_sto_round": UpdateParameters(res=0.05, sto_round=True),
    "um_grad_scale": UpdateParameters(um_grad_scale=0.3, desired_bl=12),
}

SHAPES = [(1, 1), (3, 5), (17, 9), (24, 48)]


def _inputs(batch, d_size, x_size, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, x_size, generator=gen)
    d = torch.randn(batch, d_size, generator=gen) * 0.5
    x[x.abs() < 0.2] = 0.0  # some inputs that never fire
    if batch > 2:
        d[1] = 0.0  # a sample that does nothing
    return x, d


def _pair(device, d_size, x_size, update, seed=123, bias=False):
    native = AnalogTile(d_size, x_size, device, seed=seed, update=update, bias=bias)
    ref = AnalogTile(d_size, x_size, device, seed=seed, update=update, bias=bias)
    native.backend = "native"
    ref.backend = "reference"
    return native, ref


def _update_both(native, ref, x, d, lr):
    native.update(x, d, lr)
    ref.update(x, d, lr)
    return native.last_update_pulses, ref.last_update_pulses


@pytest.mark.parametrize("variant", sorted(UPDATE_VARIANTS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(("batch", "lr"), [(1, 0.01), (4, 0.3), (16, 0.05)])
def test_noiseless_weights_equal(core, noiseless_device, variant, shape, batch, lr):
    d_size, x_size = shape
    native, ref = _pair(noiseless_device, d_size, x_size, UPDATE_VARIANTS[variant])
    for step in range(2):  # two calls: the update index moves on
        x, d = _inputs(batch, d_size, x_size, seed=step + 10 * batch)
        n_native, n_ref = _update_both(native, ref, x, d, lr)
        assert n_native == n_ref
        torch.testing.assert_close(native.weights, ref.weights, rtol=0, atol=1e-6)
    assert native.update_index == ref.update_index == 2


def test_noiseless_pulses_fire(core, noiseless_device):
    """The comparison above is not vacuous: pulses fire and weights move."""
    native, ref = _pair(noiseless_device, 17, 9, UpdateParameters())
    x, d = _inputs(16, 17, 9, seed=0)
    n_native, n_ref = _update_both(native, ref, x, d, 0.05)
    assert n_native == n_ref > 100
    assert native.weights.abs().sum() > 0
    assert torch.equal(native.weights, ref.weights)


@pytest.mark.parametrize("variant", ["default", "no_management", "res_sto_round", "variable_bl"])
def test_noisy_counts_equal_weights_close(core, make_device, variant):
    device = make_device(dw_min_std=0.3, dw_min=0.01)
    native, ref = _pair(device, 12, 20, UPDATE_VARIANTS[variant])
    for step in range(3):
        x, d = _inputs(8, 12, 20, seed=step)
        n_native, n_ref = _update_both(native, ref, x, d, 0.1)
        assert n_native == n_ref > 0
    # Same normals (rounded to float32); only the last bit of log/cos may differ.
    torch.testing.assert_close(native.weights, ref.weights, rtol=0, atol=1e-5)
    assert (native.weights == ref.weights).float().mean() > 0.99


def test_bias_tile(core, step_device):
    native, ref = _pair(step_device, 6, 5, UpdateParameters(), bias=True)
    x, d = _inputs(10, 6, 5, seed=3)
    n_native, n_ref = _update_both(native, ref, x, d, 0.1)
    assert n_native == n_ref > 0
    torch.testing.assert_close(native.weights, ref.weights, rtol=0, atol=1e-5)
    assert native.weights[:, -1].abs().sum() > 0  # the bias column was updated


def test_many_updates_stay_close_and_in_bounds(core, make_device):
    device = make_device(dw_min=0.05, dw_min_std=0.0)
    native, ref = _pair(device, 8, 9, UpdateParameters())
    for step in range(10):
        x, d = _inputs(6, 8, 9, seed=100 + step)
        n_native, n_ref = _update_both(native, ref, x, d, 0.5)
        assert n_native == n_ref
    assert torch.equal(native.weights, ref.weights)
    arrays = native.device_arrays
    assert (native.weights >= arrays["w_min"]).all() and (native.weights <= arrays["w_max"]).all()


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_thread_count_independent(core, make_device, noise):
    device = make_device(dw_min_std=noise)
    results = []
    # Large enough that the engine splits the work over threads.
    x, d = _inputs(16, 96, 160, seed=5)
    for threads in (1, 2, 3, 0):
        tile = AnalogTile(96, 160, device, seed=7)
        tile.backend = "native"
        tile.num_threads = threads
        tile.update(x, d, 0.2)
        results.append((tile.last_update_pulses, tile.weights.clone()))
    for torch_threads in (1, 2):
        torch.set_num_threads(torch_threads)
        tile = AnalogTile(96, 160, device, seed=7)
        tile.backend = "native"
        tile.update(x, d, 0.2)
        results.append((tile.last_update_pulses, tile.weights.clone()))
    pulses, weights = results[0]
    assert pulses > 1000
    for other_pulses, other_weights in results[1:]:
        assert other_pulses == pulses
        assert torch.equal(other_weights, weights)


@pytest.mark.parametrize(
    ("d_size", "x_size", "batch"),
    # a convolution's tile (one row block, many samples), and narrow row blocks whose d
    # trains are drawn a whole side per task
    [(16, 25, 3000), (100, 300, 600)],
    ids=["conv_tile", "narrow_row_blocks"],
)
def test_small_tiles_many_samples_thread_count_independent(
    core, noiseless_device, d_size, x_size, batch
):
    x, d = _inputs(batch, d_size, x_size, seed=11)
    d[::7] *= 40.0  # a few samples with long trains among the short ones (mixed BL)
    results = []
    for threads in (1, 2, 3):
        tile = AnalogTile(d_size, x_size, noiseless_device, seed=3)
        tile.backend = "native"
        tile.num_threads = threads
        tile.update(x, d, 0.05)
        results.append((tile.last_update_pulses, tile.weights.clone()))
    pulses, weights = results[0]
    assert pulses > 1000
    if d_size * x_size * batch <= 2_000_000:  # the reference is slow on the larger one
        ref = AnalogTile(d_size, x_size, noiseless_device, seed=3)
        ref.backend = "reference"
        ref.update(x, d, 0.05)
        assert pulses == ref.last_update_pulses
        torch.testing.assert_close(weights, ref.weights, rtol=0, atol=1e-6)
    for other_pulses, other_weights in results[1:]:
        assert other_pulses == pulses
        assert torch.equal(other_weights, weights)


def test_auto_backend_uses_native_on_cpu(core, step_device):
    tile = AnalogTile(3, 4, step_device, seed=1)
    assert tile.backend == "auto" and tile.uses_native()
    tile.backend = "reference"
    assert not tile.uses_native()


def test_non_contiguous_and_low_precision_inputs(core, noiseless_device):
    """The tile hands the engine contiguous float32 copies."""
    native, ref = _pair(noiseless_device, 5, 6, UpdateParameters())
    x, d = _inputs(8, 5, 6, seed=9)
    x_strided = x.T.contiguous().T  # same values, column-major
    assert not x_strided.is_contiguous()
    native.update(x_strided, d.double(), 0.1)
    ref.update(x, d, 0.1)
    assert native.last_update_pulses == ref.last_update_pulses
    assert torch.equal(native.weights, ref.weights)


def test_extreme_inputs(core, noiseless_device):
    """Huge and tiny magnitudes: probabilities saturate or vanish the same way."""
    native, ref = _pair(noiseless_device, 4, 6, UpdateParameters())
    x, d = _inputs(5, 4, 6, seed=4)
    x[0] *= 1e30
    d[2] *= 1e-30
    x[3, 0] = 3e38
    n_native, n_ref = _update_both(native, ref, x, d, 10.0)
    assert n_native == n_ref > 0
    assert torch.equal(native.weights, ref.weights)

"""Tiles: construction, forward/backward, updates, weights, recording, devices."""

from __future__ import annotations

import math

import pytest
import torch

import aihw.core
from aihw.core import (
    AnalogTile,
    FloatingPointTile,
    PulseType,
    UpdateParameters,
    create_tile,
)


def test_public_api():
    assert aihw.core.__version__ == "0.1.0"
    for name in aihw.core.__all__:
        assert hasattr(aihw.core, name), name
    assert isinstance(aihw.core.native_available(), bool)
    assert isinstance(aihw.core.cuda_available(), bool)


# -- construction ----------------------------------------------------------------------
def test_floating_point_initial_weights_like_linear():
    tile = FloatingPointTile(50, 40, seed=3)
    bound = 1 / math.sqrt(40)
    assert tile.weights.shape == (50, 40) and tile.weights.dtype == torch.float32
    assert tile.weights.abs().max() <= bound
    assert tile.weights.abs().max() > 0.9 * bound
    assert torch.equal(tile.weights, FloatingPointTile(50, 40, seed=3).weights)
    assert not torch.equal(tile.weights, FloatingPointTile(50, 40, seed=4).weights)


def test_seed_none_follows_torch_manual_seed(step_device):
    torch.manual_seed(11)
    a, b = FloatingPointTile(3, 4), AnalogTile(3, 4, step_device)
    torch.manual_seed(11)
    c, d = FloatingPointTile(3, 4), AnalogTile(3, 4, step_device)
    assert a.seed == c.seed and b.seed == d.seed
    assert 0 <= a.seed < 2**64
    assert torch.equal(a.weights, c.weights)
    for name in b.device_arrays:
        assert torch.equal(b.device_arrays[name], d.device_arrays[name])


def test_analog_tile_samples_arrays_and_starts_at_zero(step_device):
    tile = AnalogTile(3, 4, step_device, seed=5)
    assert set(tile.device_arrays) == {"dw_up", "dw_down", "w_min", "w_max"}
    for value in tile.device_arrays.values():
        assert value.shape == (3, 4) and value.dtype == torch.float32 and value.is_contiguous()
    assert not tile.weights.any()
    assert tile.update_index == 0 and tile.last_update_pulses == 0
    other = AnalogTile(3, 4, step_device, seed=6)
    assert not torch.equal(tile.device_arrays["dw_up"], other.device_arrays["dw_up"])


def test_create_tile(step_device, exact_device):
    assert isinstance(create_tile(None, 2, 3), FloatingPointTile)
    assert isinstance(create_tile(exact_device, 2, 3), FloatingPointTile)
    up = UpdateParameters(desired_bl=7)
    tile = create_tile(step_device, 2, 3, bias=True, seed=1, update=up)
    assert isinstance(tile, AnalogTile)
    assert tile.bias and tile.seed == 1 and tile.update_parameters.desired_bl == 7
    assert tile.update_parameters is not up  # the tile keeps its own copy
    with pytest.raises(TypeError, match="resistive_device"):
        create_tile("ConstantStep", 2, 3)
    with pytest.raises(ValueError, match="out_size=0"):
        create_tile(step_device, 0, 3)
    with pytest.raises(TypeError, match="in_size"):
        create_tile(None, 2, 3.5)


def test_constructor_type_checks(step_device, exact_device):
    with pytest.raises(TypeError, match="resistive_device"):
        AnalogTile(2, 3, object())
    with pytest.raises(ValueError, match="floating-point device"):
        AnalogTile(2, 3, exact_device)
    with pytest.raises(ValueError, match="pulsed device"):
        FloatingPointTile(2, 3, step_device)
    with pytest.raises(TypeError, match="update must be UpdateParameters"):
        AnalogTile(2, 3, step_device, update={"desired_bl": 3})
    with pytest.raises(TypeError, match="bias"):
        AnalogTile(2, 3, step_device, bias=1)


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, "7", True])
def test_bad_seed(seed, step_device):
    with pytest.raises((TypeError, ValueError), match=r"seed=.*\[0, 2\*\*64\)"):
        AnalogTile(2, 3, step_device, seed=seed)
    with pytest.raises((TypeError, ValueError), match="seed="):
        FloatingPointTile(2, 3, seed=seed)


def test_largest_seed(step_device):
    tile = AnalogTile(2, 3, step_device, seed=2**64 - 1)
    tile.update(torch.ones(1, 3), torch.ones(1, 2), lr=0.01)
    assert tile.update_index == 1


def test_repr(step_device):
    text = repr(AnalogTile(2, 3, step_device, bias=True, seed=9))
    assert text.startswith("AnalogTile(out_size=2, in_size=3, bias=True")
    assert "StepDevice(" in text and "seed=9" in text and "device=cpu" in text
    assert "seed=4" in repr(FloatingPointTile(2, 3, seed=4))


# -- forward, backward, bias -----------------------------------------------------------
def test_forward_backward_exact():
    tile = FloatingPointTile(3, 4, seed=0)
    x, d = torch.randn(5, 4), torch.randn(5, 3)
    torch.testing.assert_close(tile.forward(x), x @ tile.weights.T)
    torch.testing.assert_close(tile.backward(d), d @ tile.weights)
    # Any leading dimensions, and the input dtype is kept.
    x3 = torch.randn(2, 5, 4, dtype=torch.float64)
    y = tile.forward(x3)
    assert y.shape == (2, 5, 3) and y.dtype == torch.float64


def test_bias_column(step_device):
    tile = FloatingPointTile(3, 4, bias=True, seed=0)
    assert tile.weights.shape == (3, 5)
    w, b = tile.get_weights()
    assert w.shape == (3, 4) and b.shape == (3,)
    x = torch.randn(6, 4)
    torch.testing.assert_close(tile.forward(x), x @ w.T + b)
    assert tile.backward(torch.randn(6, 3)).shape == (6, 4)
    # The update sees the constant input 1: the bias moves by -lr * sum(d).
    d = torch.randn(6, 3)
    tile.update(x, d, lr=0.1)
    w2, b2 = tile.get_weights()
    torch.testing.assert_close(b2, b - 0.1 * d.sum(0))
    torch.testing.assert_close(w2, w - 0.1 * d.T @ x)

    analog = AnalogTile(3, 4, step_device, bias=True, seed=1)
    assert analog.device_arrays["w_min"].shape == (3, 5)
    analog.update(torch.zeros(2, 4), torch.ones(2, 3), lr=0.01)
    _, bias = analog.get_weights()
    assert (bias < 0).all()  # only the bias column had a nonzero input
    assert not analog.get_weights()[0].any()


def test_get_weights_returns_copies():
    tile = FloatingPointTile(2, 2, seed=0)
    w, _ = tile.get_weights()
    w.zero_()
    assert tile.weights.any()


def test_set_weights_clips_to_device_bounds(step_device):
    tile = AnalogTile(4, 5, step_device, seed=2)
    tile.set_weights(torch.full((4, 5), 10.0, dtype=torch.float64))
    assert torch.equal(tile.weights, tile.device_arrays["w_max"])
    tile.set_weights(torch.full((4, 5), -10.0))
    assert torch.equal(tile.weights, tile.device_arrays["w_min"])
    fp = FloatingPointTile(4, 5, seed=0)
    fp.set_weights(torch.full((4, 5), 10.0))
    assert (fp.weights == 10.0).all()


def test_set_weights_bias_rules():
    tile = FloatingPointTile(2, 3, bias=True, seed=0)
    with pytest.raises(ValueError, match="bias is required"):
        tile.set_weights(torch.zeros(2, 3))
    tile.set_weights(torch.zeros(2, 3), torch.ones(2))
    assert tile.weights[:, 3].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"bias has shape \(3,\); expected \(2,\)"):
        tile.set_weights(torch.zeros(2, 3), torch.ones(3))
    with pytest.raises(ValueError, match="bias must be None"):
        FloatingPointTile(2, 3, seed=0).set_weights(torch.zeros(2, 3), torch.ones(2))


def test_weights_storage_is_kept_by_updates(step_device):
    """Layers may share the tile's weight storage: updates must be in place."""
    for tile in (FloatingPointTile(3, 4, seed=0), AnalogTile(3, 4, step_device, seed=0)):
        view = tile.weights
        ptr = view.data_ptr()
        tile.update(torch.randn(4, 4), torch.randn(4, 3), lr=0.1)
        tile.set_weights(torch.zeros(3, 4))
        assert tile.weights is view and tile.weights.data_ptr() == ptr


# -- updates -----------------------------------------------------------------------------
def test_floating_point_update_is_exact():
    tile = FloatingPointTile(6, 5, seed=1)
    w0 = tile.weights.clone()
    x = torch.randn(8, 5)
    d = torch.randn(8, 6)
    tile.update(x, d, lr=0.05)
    torch.testing.assert_close(tile.weights, w0 - 0.05 * d.T @ x, rtol=0, atol=1e-6)
    assert tile.update_index == 1
    # lr=None uses the tile's learning rate.
    tile.set_learning_rate(0.2)
    assert tile.get_learning_rate() == 0.2
    w1 = tile.weights.clone()
    tile.update(x[:1], d[:1])
    torch.testing.assert_close(tile.weights, w1 - 0.2 * torch.outer(d[0], x[0]))


def test_analog_update_direction_and_index(noiseless_device):
    tile = AnalogTile(3, 4, noiseless_device, seed=0)
    x = torch.ones(10, 4)
    d = torch.ones(10, 3)
    tile.update(x, d, lr=0.01)
    assert tile.last_update_pulses > 0
    assert (tile.weights <= 0).all() and (tile.weights < 0).any()
    assert tile.update_index == 1
    # An accepted call with no pulses still counts.
    tile.update(torch.zeros(1, 4), d[:1], lr=0.01)
    assert tile.update_index == 2 and tile.last_update_pulses == 0
    tile.update(x, d, lr=0.0)
    assert tile.update_index == 3


def test_analog_update_reproducible(step_device):
    x, d = torch.randn(7, 4), torch.randn(7, 3)
    a, b = AnalogTile(3, 4, step_device, seed=13), AnalogTile(3, 4, step_device, seed=13)
    for tile in (a, b):
        tile.update(x, d, lr=0.05)
        tile.update(x, d, lr=0.05)
    assert torch.equal(a.weights, b.weights)
    assert a.last_update_pulses == b.last_update_pulses


def test_analog_expected_weight_change(make_device):
    """In expectation the pulsed update is the SGD update
    (docs/physics/pulsed-update.md#pulse-types)."""
    device = make_device(dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0, w_max_dtod=0.0)
    torch.manual_seed(0)
    x = torch.rand(400, 6) * 2 - 1
    d = torch.rand(400, 5) * 2 - 1
    tile = AnalogTile(5, 6, device, seed=1)
    tile.update(x, d, lr=0.01)
    exact = -0.01 * d.T @ x
    # Each pulse count is a sum of Bernoulli draws: its variance is at most its mean
    # lr * sum_b |x d| / g, so the error in units of its standard deviation is small.
    pulses = 0.01 * (d.abs().T @ x.abs()) / 0.001
    z = (tile.weights - exact) / (0.001 * pulses.sqrt())
    assert z.abs().max() < 5
    assert (z**2).mean() < 1.5
    assert torch.corrcoef(torch.stack((tile.weights.flatten(), exact.flatten())))[0, 1] > 0.9


def test_pulse_count_matches_expectation(make_device):
    device = make_device(dw_min=0.002)
    torch.manual_seed(1)
    x = torch.rand(300, 10) * 2 - 1
    d = torch.rand(300, 8) * 2 - 1
    tile = AnalogTile(8, 10, device, seed=2)
    lr = 0.02
    tile.update(x, d, lr=lr)
    expected = lr * (d.abs().T.double() @ x.abs().double()).sum().item() / 0.002
    # Tolerance: 3% (the Bernoulli spread is ~0.3% of the ~50,000 pulses).
    assert tile.last_update_pulses == pytest.approx(expected, rel=0.03)


def test_weights_stay_in_device_bounds(make_device):
    device = make_device(dw_min=0.05, dw_min_std=0.5)
    tile = AnalogTile(6, 7, device, seed=3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(12):
        x = torch.randn(8, 7, generator=gen)
        d = torch.randn(8, 6, generator=gen) * 3
        tile.update(x, d, lr=0.5)
        arrays = tile.device_arrays
        assert (tile.weights >= arrays["w_min"]).all() and (tile.weights <= arrays["w_max"]).all()
    at_bound = (tile.weights == tile.device_arrays["w_min"]) | (
        tile.weights == tile.device_arrays["w_max"]
    )
    assert at_bound.any()


def test_pulse_type_none_with_device_is_exact_then_clipped(step_device):
    update = UpdateParameters(pulse_type=PulseType.NONE_WITH_DEVICE)
    tile = AnalogTile(3, 4, step_device, seed=0, update=update)
    x, d = torch.randn(5, 4), torch.randn(5, 3)
    tile.update(x, d, lr=0.01)
    torch.testing.assert_close(tile.weights, -0.01 * d.T @ x, rtol=0, atol=1e-6)
    assert tile.last_update_pulses == 0 and tile.update_index == 1
    tile.update(x, d, lr=100.0)
    arrays = tile.device_arrays
    assert ((tile.weights == arrays["w_min"]) | (tile.weights == arrays["w_max"])).all()


def test_reference_backend_matches_auto_backend_without_engine(step_device):
    a, b = AnalogTile(3, 4, step_device, seed=1), AnalogTile(3, 4, step_device, seed=1)
    b.backend = "reference"
    x, d = torch.randn(3, 4), torch.randn(3, 3)
    a.update(x, d, 0.1)
    b.update(x, d, 0.1)
    if not a.uses_native():
        assert torch.equal(a.weights, b.weights)
    with pytest.raises(ValueError, match="backend='gpu' is not allowed"):
        a.backend = "gpu"


# -- recording -----------------------------------------------------------------------------
def test_record_and_apply(step_device):
    x1, d1 = torch.randn(3, 4), torch.randn(3, 2)
    x2, d2 = torch.randn(2, 4), torch.randn(2, 2)
    direct = AnalogTile(2, 4, step_device, seed=8)
    direct.update(torch.cat((x1, x2)), torch.cat((d1, d2)), lr=0.1)

    tile = AnalogTile(2, 4, step_device, seed=8)
    tile.apply_recorded_update(0.1)  # nothing recorded: no-op
    assert tile.update_index == 0
    tile.record_update_inputs(x1, d1)
    x2_kept = x2.clone()
    tile.record_update_inputs(x2, d2)
    x2.add_(100.0)  # the record is a copy
    assert tile.num_recorded == 5
    tile.apply_recorded_update(0.1)
    assert tile.num_recorded == 0 and tile.update_index == 1
    assert torch.equal(tile.weights, direct.weights)
    del x2_kept

    tile.record_update_inputs(x1, d1)
    tile.clear_recorded()
    tile.apply_recorded_update(0.1)
    assert tile.update_index == 1


def test_rejected_apply_keeps_records():
    tile = FloatingPointTile(2, 3, seed=0)
    tile.record_update_inputs(torch.ones(1, 3), torch.ones(1, 2))
    with pytest.raises(ValueError, match="lr=-1.0 must be >= 0"):
        tile.apply_recorded_update(-1.0)
    assert tile.num_recorded == 1
    w0 = tile.weights.clone()
    tile.apply_recorded_update(1.0)
    torch.testing.assert_close(tile.weights, w0 - 1.0)


# -- moving ----------------------------------------------------------------------------------
def test_to_and_cpu_keep_values(step_device):
    tile = AnalogTile(3, 4, step_device, seed=2, bias=True)
    tile.update(torch.randn(4, 4), torch.randn(4, 3), lr=0.1)
    w = tile.weights.clone()
    arrays = {k: v.clone() for k, v in tile.device_arrays.items()}
    tile.record_update_inputs(torch.ones(1, 4), torch.ones(1, 3))
    assert tile.to("cpu") is tile and tile.cpu() is tile
    assert tile.to(torch.device("cpu")) is tile
    assert torch.equal(tile.weights, w)
    for k, v in arrays.items():
        assert torch.equal(tile.device_arrays[k], v)
    assert tile.num_recorded == 1


@pytest.mark.cuda  # (tools/gpu_check.sh selects the GPU tests by this marker)
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_round_trip_and_reference_update(step_device):
    cpu = AnalogTile(3, 4, step_device, seed=2)
    gpu = AnalogTile(3, 4, step_device, seed=2).cuda()
    gpu.backend = cpu.backend = "reference"
    assert gpu.weights.is_cuda and all(v.is_cuda for v in gpu.device_arrays.values())
    x, d = torch.randn(5, 4), torch.randn(5, 3)
    cpu.update(x, d, 0.1)
    gpu.update(x.cuda(), d.cuda(), 0.1)
    assert gpu.last_update_pulses == cpu.last_update_pulses
    torch.testing.assert_close(gpu.cpu().weights, cpu.weights, rtol=0, atol=1e-6)


def test_create_tile_refuses_update_parameters_a_floating_point_tile_would_ignore():
    with pytest.raises(ValueError, match=r"update=UpdateParameters\(.*\) is not used by a "):
        create_tile(None, 2, 3, update=UpdateParameters())

"""Decay, diffusion and reset of the pulsed devices
(docs/physics/devices.md#device-to-device-sampling, docs/physics/device-operations.md) through the
tiles."""

from __future__ import annotations

import pytest
import torch

from aihw.core.tiles import AnalogTile
from aihw.devices import ConstantStepResistiveDevice, get_device
from aihw.devices.presets import REFERENCE_ONLY

SHAPE = (64, 64)
BASE = {"dw_up", "dw_down", "w_min", "w_max"}


def _sample(**params):
    device = ConstantStepResistiveDevice(**params)
    return device.sample(*SHAPE, torch.Generator().manual_seed(3))


def test_features_off_draw_exactly_what_they_drew_before():
    plain = _sample()
    assert set(plain) == BASE
    # the new arrays are drawn last: the base arrays do not change when they are on
    full = _sample(
        lifetime=50.0, lifetime_dtod=0.2, diffusion=0.01, diffusion_dtod=0.3, reset_dtod=0.1
    )
    assert set(full) == BASE | {"decay_scale", "diffusion_rate", "reset_bias"}
    for name in BASE:
        assert torch.equal(full[name], plain[name])


def test_arrays_without_spread_are_constant():
    arrays = _sample(lifetime=50.0, diffusion=0.02, reset=0.1)
    assert torch.equal(arrays["decay_scale"], torch.full(SHAPE, 1 - 1 / 50.0))
    assert torch.equal(arrays["diffusion_rate"], torch.full(SHAPE, 0.02))
    assert torch.equal(arrays["reset_bias"], torch.full(SHAPE, 0.1))


def test_sampled_spreads_follow_spec_c2():
    arrays = _sample(
        lifetime=2.0, lifetime_dtod=0.5, diffusion=0.01, diffusion_dtod=2.0, reset_dtod=0.1
    )
    kappa = arrays["decay_scale"]
    # L = 2 (1 + 0.5 xi) <= 1 for xi <= -1: kappa = 0 there (about 16% of the devices)
    assert 0.10 < (kappa == 0).float().mean().item() < 0.22
    assert bool(((kappa >= 0) & (kappa < 1)).all())
    rho = arrays["diffusion_rate"]
    assert bool((rho >= 0).all())  # |diffusion (1 + dtod xi)|
    r0 = arrays["reset_bias"]
    assert abs(r0.mean().item()) < 4 * 0.1 / 64
    assert abs(r0.std().item() - 0.1) < 0.01


@pytest.mark.parametrize("field", ["lifetime", "diffusion", "lifetime_dtod", "reset_dtod"])
def test_negative_values_are_rejected_by_name(field):
    with pytest.raises(ValueError, match=rf"{field}=-1.0 is invalid; allowed: {field} >= 0"):
        ConstantStepResistiveDevice(**{field: -1.0})


def test_constant_step_tile_decays_toward_reset_after_every_update():
    device = ConstantStepResistiveDevice(lifetime=10.0, reset=0.05, w_max_dtod=0.0, w_min_dtod=0.0)
    tile = AnalogTile(4, 3, device, seed=1)
    tile.set_weights(torch.full((4, 3), 0.5))
    for _ in range(3):
        tile.update(torch.zeros(1, 3), torch.zeros(1, 4), lr=0.01)
    expected = 0.05 + (0.5 - 0.05) * 0.9**3
    torch.testing.assert_close(
        tile.get_weights()[0], torch.full((4, 3), expected), rtol=0, atol=1e-6
    )


def test_constant_step_reset_columns_uses_reset_std():
    device = ConstantStepResistiveDevice(reset=0.1, reset_std=0.02, w_max_dtod=0.0, w_min_dtod=0.0)
    tile = AnalogTile(2048, 2, device, seed=2)
    tile.reset_columns(1, 1)
    w = tile.get_weights()[0]
    assert torch.equal(w[:, 0], torch.zeros(2048))
    assert abs(w[:, 1].mean().item() - 0.1) < 4 * 0.02 / 2048**0.5
    assert abs(w[:, 1].std().item() - 0.02) < 0.02 * 0.05


def test_capacitor_preset_has_the_reference_lifetime_and_leaks():
    device = get_device("CapacitorPreset")
    assert (device.params.lifetime, device.params.lifetime_dtod) == (1.0e6, 0.3)
    assert "CapacitorPreset" not in REFERENCE_ONLY
    tile = AnalogTile(8, 8, device, seed=4)
    assert "decay_scale" in tile.device_arrays
    tile.set_weights(torch.full((8, 8), 0.5))
    tile.update(torch.zeros(1, 8), torch.zeros(1, 8), lr=0.01)
    w = tile.get_weights()[0]
    assert bool((w < 0.5).all())
    # one mini-batch removes about 1/lifetime of the weight (L spread by 30%)
    assert 5e-7 < ((0.5 - w) / 0.5).median().item() < 2e-6


# -- the ideal device (docs/physics/devices.md#floating-point-devices) -----------------------------
def _ideal_tile(backend="auto", **params):
    from aihw.core.tiles import FloatingPointTile, create_tile
    from aihw.devices import IdealDevice

    tile = create_tile(IdealDevice(**params), 512, 64, seed=6)
    assert isinstance(tile, FloatingPointTile)
    tile.backend = backend
    return tile


@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_ideal_device_decays_without_bounds(backend):
    tile = _ideal_tile(backend, lifetime=4.0)
    tile.set_weights(torch.full((512, 64), 3.0))
    tile.update(torch.zeros(1, 64), torch.zeros(1, 512), lr=0.1)
    torch.testing.assert_close(tile.weights, torch.full((512, 64), 3.0 * 0.75))
    tile.decay_weights(alpha=2.0)  # w (1 - alpha / lifetime)
    torch.testing.assert_close(tile.weights, torch.full((512, 64), 3.0 * 0.75 * 0.5))


def test_ideal_device_lifetime_one_or_less_does_not_decay():
    tile = _ideal_tile(lifetime=1.0)
    assert tile.device_arrays == {}
    tile.set_weights(torch.full((512, 64), 0.5))
    tile.update(torch.zeros(1, 64), torch.zeros(1, 512), lr=0.1)
    assert torch.equal(tile.weights, torch.full((512, 64), 0.5))


@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_ideal_device_diffuses_and_resets(backend):
    tile = _ideal_tile(backend, diffusion=0.02, reset_std=0.3)
    tile.set_weights(torch.zeros(512, 64))
    tile.update(torch.zeros(1, 64), torch.zeros(1, 512), lr=0.1)
    # 32768 normals: std within 2%
    assert abs(tile.weights.std().item() - 0.02) < 0.02 * 0.02
    tile.reset_columns(0, 64)
    assert abs(tile.weights.std().item() - 0.3) < 0.3 * 0.02
    assert abs(tile.weights.mean().item()) < 4 * 0.3 / 32768**0.5


def test_ideal_device_state_resumes_exactly():
    from aihw.core.tiles.state import tile_from_state, tile_state

    tile = _ideal_tile(lifetime=10.0, diffusion=0.01)
    tile.update(torch.ones(2, 64), torch.ones(2, 512), lr=0.01)
    resumed = tile_from_state(tile_state(tile))
    for t in (tile, resumed):
        t.update(torch.ones(2, 64), torch.ones(2, 512), lr=0.01)
        t.reset_columns(5, 3)
    assert torch.equal(resumed.weights, tile.weights)

"""Write noise of the pulsed device families through the tiles
(docs/physics/device-operations.md#write-noise, contract §10)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import native_available
from aihw.core.tiles import AnalogTile
from aihw.core.tiles.state import tile_from_state, tile_state
from aihw.devices import get_device
from aihw.devices.presets import REFERENCE_ONLY

FAMILIES = [
    "LinearStep",
    "SoftBounds",
    "SoftBoundsPmax",
    "ExpStep",
    "PowStep",
    "PiecewiseStep",
    "SoftBoundsReference",
]
BACKENDS = ["reference"] + (["native"] if native_available() else [])


def _tile(name, backend="auto", seed=3, size=(48, 40), **params):
    tile = AnalogTile(*size, get_device(name, **params), seed=seed)
    tile.backend = backend
    return tile


def _train(tile, steps=3):
    g = torch.Generator().manual_seed(7)
    tile.set_weights(0.1 * torch.randn(tile.out_size, tile.in_size, generator=g))
    for _ in range(steps):
        x = torch.randn(4, tile.in_size, generator=g)
        tile.update(x, torch.randn(4, tile.out_size, generator=g), lr=0.05)


@pytest.mark.parametrize("name", FAMILIES)
def test_write_noise_is_dw_min_units_and_validated(name):
    device = get_device(name, write_noise_std=3.0)
    dw_min = device.effective_params().dw_min
    assert device.write_noise_scale() == pytest.approx(3.0 * dw_min)
    assert device.apply_write_noise_on_set()
    assert get_device(name).write_noise_scale() == 0.0
    with pytest.raises(ValueError, match="write_noise_std=-0.5 is invalid"):
        get_device(name, write_noise_std=-0.5)
    with pytest.raises(ValueError, match="apply_write_noise_on_set=1 is invalid"):
        get_device(name, apply_write_noise_on_set=1)


def test_constant_step_has_no_write_noise():
    assert get_device("ConstantStep").write_noise_scale() == 0.0
    assert AnalogTile(4, 4, get_device("ConstantStep")).hidden_weights is None


@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_hidden_weights_follow_the_law_exactly(name, backend):
    noisy, clean = _tile(name, backend, write_noise_std=4.0), _tile(name, backend)
    _train(noisy)
    _train(clean)
    assert torch.equal(noisy.hidden_weights, clean.weights)
    assert not torch.equal(noisy.weights, clean.weights)


@pytest.mark.parametrize("name", ["LinearStep", "SoftBounds", "ExpStep"])
def test_visible_weights_scatter_with_write_noise_std_times_dw_min(name):
    tile = _tile(name, size=(160, 125), write_noise_std=5.0)
    tile.set_weights(torch.zeros(160, 125))
    scale = 5.0 * tile.resistive_device.effective_params().dw_min
    diff = tile.weights - tile.hidden_weights
    # 2e4 devices: the sample std is within 3% of the true one (about 4 standard errors)
    assert abs(diff.std().item() - scale) < 0.03 * scale
    assert abs(diff.mean().item()) < 0.03 * scale


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_round_trip_resumes_exactly(backend):
    tile = _tile("SoftBounds", backend, write_noise_std=6.0, diffusion=0.001)
    _train(tile, steps=2)
    resumed = tile_from_state(tile_state(tile))
    assert torch.equal(resumed.hidden_weights, tile.hidden_weights)
    x, d = torch.ones(2, 40), -torch.ones(2, 48)
    for t in (tile, resumed):
        t.update(x, d, lr=0.05)
    assert torch.equal(resumed.weights, tile.weights)
    assert resumed.write_noise_index == tile.write_noise_index


def test_reram_presets_run_the_reference_write_noise():
    assert REFERENCE_ONLY == {}
    for name, std in (("ReRamESPreset", 75.0), ("ReRamSBPreset", 56.0)):
        device = get_device(name)
        assert device.params.write_noise_std == std
        assert device.write_noise_scale() == pytest.approx(std * device.params.dw_min)
        tile = AnalogTile(8, 8, device, seed=1)
        tile.set_weights(torch.zeros(8, 8))
        assert tile.hidden_weights is not None
        assert not torch.equal(tile.weights, tile.hidden_weights)

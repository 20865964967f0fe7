"""Write noise of AnalogTile: hidden persistent weights under visible ones
(docs/physics/device-operations.md#write-noise, engine contract §10)."""

from __future__ import annotations

import pytest
import torch
from _device_op_helpers import OpsDevice

from aihw.core import engine, native_available
from aihw.core.parameters import PulseType, UpdateParameters
from aihw.core.reference import device_ops as reference_device_ops
from aihw.core.reference import pulsed_update_reference
from aihw.core.tiles import AnalogTile
from aihw.core.tiles.state import TileStateError, tile_from_state, tile_state

HAVE_NATIVE = native_available()
BACKENDS = ["reference"] + (["native"] if HAVE_NATIVE else [])
needs_native = pytest.mark.skipif(not HAVE_NATIVE, reason="needs the compiled engine")


RESOLVE = {OpsDevice.name: OpsDevice}.__getitem__


def _tile(backend, out_size=40, in_size=30, seed=5, bias=False, **params):
    tile = AnalogTile(out_size, in_size, OpsDevice(**params), bias=bias, seed=seed)
    tile.backend = backend
    return tile


def _batch(tile, n=4, seed=1, zero_column=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, tile.in_size, generator=g)
    if zero_column is not None:
        x[:, zero_column] = 0.0
    return x, torch.randn(n, tile.out_size, generator=g)


# -- the kernel and the mask ------------------------------------------------------------------
@needs_native
@pytest.mark.parametrize("masked", [False, True])
def test_kernel_native_equals_reference_for_any_thread_count(masked):
    n_rows, n_cols = 37, 251  # not a multiple of the engine's chunk
    g = torch.Generator().manual_seed(3)
    hidden = torch.randn(n_rows, n_cols, generator=g)
    mask = (torch.rand(n_rows, n_cols, generator=g) < 0.3) if masked else None
    visible = torch.full_like(hidden, 9.0)
    expected = visible.clone()
    reference_device_ops.write_noise(expected, hidden, mask, 0.05, 2**40 + 7, 11)
    for threads in (1, 3):
        out = visible.clone()
        mask_u8 = None if mask is None else mask.to(torch.uint8)
        engine.write_noise(out, hidden, mask_u8, 0.05, 2**40 + 7, 11, threads)
        assert torch.equal(out, expected)
    if mask is not None:
        assert torch.equal(expected[~mask], visible[~mask])


@needs_native
def test_update_mask_native_equals_reference_and_marks_clipped_devices():
    tile = _tile("native", dw_min_std=0.0)  # no noise: an up pulse never steps down
    tile.set_weights(tile.device_arrays["w_max"].clone())  # at the upper bound
    x, d = _batch(tile, zero_column=4)
    x, d = x.abs(), -d.abs()  # sign(x) sign(d) < 0: every pulse goes up, into the bound
    masks = []
    for backend, dtype in (("native", torch.uint8), ("reference", torch.bool)):
        w = tile.weights.clone()
        mask = torch.ones(w.shape, dtype=dtype)  # overwritten
        if backend == "native":
            engine.pulsed_update(
                w,
                x,
                d,
                tile.law,
                tile.device_arrays,
                tile.law_scalars,
                0.1,
                tile.granularity,
                tile.update_parameters,
                tile.seed,
                0,
                mask,
                2,
            )
        else:
            pulsed_update_reference(
                w,
                x,
                d,
                tile.law,
                tile.device_arrays,
                tile.law_scalars,
                0.1,
                tile.granularity,
                tile.update_parameters,
                tile.seed,
                0,
                pulsed_mask=mask,
            )
        assert torch.equal(w, tile.weights)  # clipped: nothing moved
        masks.append(mask.bool())
    assert torch.equal(masks[0], masks[1])
    assert bool(masks[0].any())
    assert not bool(masks[0][:, 4].any())  # a column that never fires


# -- the tile -----------------------------------------------------------------------------------
def test_without_write_noise_there_are_no_hidden_weights():
    tile = _tile("auto")
    assert tile.hidden_weights is None and tile.write_noise_scale == 0.0
    tile.update(*_batch(tile), lr=0.1)
    assert tile.write_noise_index == 0
    assert "write_noise" not in tile_state(tile)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hidden_weights_follow_the_law_as_without_write_noise(backend):
    noisy = _tile(backend, write_noise_std=5.0, diffusion=0.002)
    clean = _tile(backend, diffusion=0.002)
    for t in (noisy, clean):
        t.set_weights(torch.full((40, 30), 0.1))
        for k in range(3):
            t.update(*_batch(t, seed=k), lr=0.1)
    # write noise draws from its own numbers: the pulses and the diffusion are unchanged
    assert torch.equal(noisy.hidden_weights, clean.weights)
    assert not torch.equal(noisy.weights, noisy.hidden_weights)


@pytest.mark.parametrize("backend", BACKENDS)
def test_visible_weights_scatter_around_the_hidden_ones(backend):
    tile = _tile(backend, out_size=200, in_size=100, write_noise_std=20.0)
    tile.set_weights(torch.zeros(200, 100))  # 20000 devices, all redrawn
    diff = tile.weights - tile.hidden_weights
    # std 20 * dw_min = 0.02; the sample std of 2e4 normals is within 3% of it (~4 sigma)
    assert abs(diff.std().item() - 0.02) < 0.02 * 0.03
    assert abs(diff.mean().item()) < 0.02 * 0.03


@pytest.mark.parametrize("backend", BACKENDS)
def test_only_pulsed_devices_are_redrawn(backend):
    tile = _tile(backend, write_noise_std=10.0)
    tile.set_weights(torch.full((40, 30), 0.05))
    before = tile.weights.clone()
    x, d = _batch(tile, zero_column=7)
    d[:, 3] = 0.0  # row 3 gets no pulse either
    tile.update(x, d, lr=0.1)
    assert tile.write_noise_index == 2
    assert torch.equal(tile.weights[:, 7], before[:, 7])
    assert torch.equal(tile.weights[3], before[3])
    assert int((tile.weights != before).sum()) > 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "operation",
    [
        lambda t: t.decay_weights(0.5),
        lambda t: t.diffuse_weights(),
        lambda t: t.reset_columns(0, 2, reset_prob=1.0),
        lambda t: t.update(torch.zeros(1, t.in_size), torch.zeros(1, t.out_size), 0.1),
    ],
    ids=["decay", "diffusion", "reset", "post-update"],
)
def test_device_operations_redraw_every_device(backend, operation):
    tile = _tile(backend, write_noise_std=10.0, lifetime=10.0, diffusion=0.001)
    tile.set_weights(torch.full((40, 30), 0.05))
    before = tile.weights.clone()
    index = tile.write_noise_index
    operation(tile)
    assert tile.write_noise_index == index + 1
    assert bool((tile.weights != before).all())
    reference_device_ops.write_noise(
        before, tile.hidden_weights, None, tile.write_noise_scale, tile.seed, index
    )
    assert torch.equal(tile.weights, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_weights_sets_the_hidden_weights(backend):
    target = torch.full((40, 30), 5.0)  # far outside the bounds: clipped
    quiet = _tile(backend, write_noise_std=10.0, apply_write_noise_on_set=False)
    quiet.set_weights(target)
    assert torch.equal(quiet.hidden_weights, quiet.device_arrays["w_max"])
    assert torch.equal(quiet.weights, quiet.hidden_weights)
    assert quiet.write_noise_index == 0
    noisy = _tile(backend, write_noise_std=10.0)
    noisy.set_weights(target)
    assert torch.equal(noisy.hidden_weights, quiet.hidden_weights)
    assert not bool((noisy.weights == noisy.hidden_weights).any())


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_pulse_types(backend):
    for pulse_type in (PulseType.NONE, PulseType.NONE_WITH_DEVICE):
        tile = AnalogTile(
            6,
            5,
            OpsDevice(write_noise_std=10.0),
            seed=2,
            update=UpdateParameters(pulse_type=pulse_type),
        )
        tile.backend = backend
        tile.set_weights(torch.full((6, 5), 0.1))
        offset = tile.weights - tile.hidden_weights
        tile.update(torch.ones(1, 5), torch.ones(1, 6), lr=0.01)
        assert torch.allclose(tile.hidden_weights, torch.full((6, 5), 0.09))
        same_noise = torch.allclose(tile.weights - tile.hidden_weights, offset)
        # "None": no device acts, the noise stays; "NoneWithDevice": the clip redraws it
        assert same_noise == (pulse_type == PulseType.NONE)


def _train(backend, threads=None, steps=3):
    tile = _tile(
        backend,
        out_size=50,
        in_size=70,
        seed=9,
        bias=True,
        write_noise_std=8.0,
        lifetime=20.0,
        diffusion=0.001,
    )
    tile.num_threads = threads
    tile.set_weights(torch.full((50, 70), 0.02), torch.zeros(50))
    for k in range(steps):
        tile.update(*_batch(tile, n=3, seed=k), lr=0.05)
        tile.reset_columns(k, 3, reset_prob=0.5)
    return tile


@needs_native
def test_tile_native_equals_reference_bit_for_bit():
    native = _train("native")
    assert native.uses_native()
    reference = _train("reference")
    assert torch.equal(native.weights, reference.weights)
    assert torch.equal(native.hidden_weights, reference.hidden_weights)
    assert torch.equal(_train("native", threads=3).weights, _train("native", threads=1).weights)


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_resumes_exactly(backend):
    tile = _train(backend, steps=2)
    state = tile_state(tile)
    assert state["write_noise"]["write_noise_index"] == tile.write_noise_index == 5
    resumed = tile_from_state(state, RESOLVE)
    assert torch.equal(resumed.weights, tile.weights)
    assert torch.equal(resumed.hidden_weights, tile.hidden_weights)
    for t in (tile, resumed):
        t.update(*_batch(t, n=2, seed=9), lr=0.05)
        t.reset_columns(3, 5, 0.5)
    assert torch.equal(resumed.weights, tile.weights)
    assert torch.equal(resumed.hidden_weights, tile.hidden_weights)
    assert resumed.write_noise_index == tile.write_noise_index


def test_state_must_match_the_write_noise_of_the_device():
    state = tile_state(_tile("auto", write_noise_std=3.0))
    del state["write_noise"]
    with pytest.raises(TileStateError, match="write_noise"):
        tile_from_state(state, RESOLVE)
    state = tile_state(_tile("auto"))
    state["write_noise"] = {"hidden_weights": torch.zeros(40, 30), "write_noise_index": 0}
    with pytest.raises(TileStateError, match="no write noise"):
        tile_from_state(state, RESOLVE)


def test_a_negative_write_noise_scale_is_refused():
    with pytest.raises(ValueError, match="write_noise_scale"):
        _tile("auto", write_noise_std=-1.0)

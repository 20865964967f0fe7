"""The buffered transfer compounds against hand-computed cases: the chopped compound's
automatic scaling options (auto_scale, correct_gradient_magnitudes, auto_granularity,
no_buffer, the buffer momentum), the buffered transfer compound (TTv2 under the reference
toolkit's name) and the dynamic transfer compound (AGAD)."""

from __future__ import annotations

import pytest
import torch
from _compound_helpers import PERFECT, batch, exact_tile, plain_device

from aihw.devices import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    DynamicTransferCompound,
    get_device,
    list_devices,
)
from aihw.devices.response import pulse_response


def _tile(cls=ChoppedTransferCompound, **params):
    device = cls(
        unit_cell_devices=[plain_device()] * 2,
        transfer_forward=PERFECT,
        scale_transfer_lr=False,
        **params,
    )
    return exact_tile(device, 2, 3)


def _ema(values, tau):
    m = 0.0
    for value in values:
        m = value if m <= 0 else (1 - tau) * m + tau * value
    return m


# -- ChoppedTransferCompound's scaling options ------------------------------------------------
def test_auto_scale_running_maxima_and_fast_rate():
    tile = _tile(in_chop_prob=0.0, transfer_lr=0.0, auto_scale=True, fast_lr=0.5,
                 scale_fast_lr=False, auto_momentum=0.9)  # fmt: skip
    x1, d1 = batch(1)
    x2, d2 = batch(2)
    tile.update(x1, d1, lr=0.1)
    tau = 0.1 / 4  # (1 - auto_momentum) / rows
    m_x = _ema(x1.abs().amax(dim=1).tolist(), tau)
    m_d = _ema(d1.abs().amax(dim=1).tolist(), tau)
    lr1 = 0.5 * 31 * 0.01 / (m_x * m_d)  # fast_lr * desired_bl * granularity / (m_x m_d)
    assert tile.counters["m_x"] == pytest.approx(m_x, rel=1e-12)
    assert tile.counters["m_d"] == pytest.approx(m_d, rel=1e-12)
    assert tile.counters["count_lr"] == pytest.approx(lr1, rel=1e-12)
    fast = -lr1 * d1.T @ x1
    assert torch.allclose(tile.get_hidden_weights()[0], fast, atol=1e-6)
    tile.update(x2, d2, lr=0.1)  # the averages go on from the first batch
    m_x = _ema(x1.abs().amax(dim=1).tolist() + x2.abs().amax(dim=1).tolist(), tau)
    m_d = _ema(d1.abs().amax(dim=1).tolist() + d2.abs().amax(dim=1).tolist(), tau)
    lr2 = 0.5 * 31 * 0.01 / (m_x * m_d)
    assert tile.counters["count_lr"] == pytest.approx(lr2, rel=1e-12)
    assert torch.allclose(tile.get_hidden_weights()[0], fast - lr2 * d2.T @ x2, atol=1e-6)


def test_auto_scale_scales_the_sgd_rate_with_scale_fast_lr():
    tile = _tile(in_chop_prob=0.0, transfer_lr=0.0, auto_scale=True, fast_lr=2.0)
    x, d = batch(3, rows=1)
    tile.update(x, d, lr=0.1)
    expected = 2.0 * 0.1 * 31 * 0.01 / (x.abs().max().item() * d.abs().max().item())
    assert tile.counters["count_lr"] == pytest.approx(expected, rel=1e-6)


def test_correct_gradient_magnitudes_divides_the_transfer_rate_by_the_fast_rate():
    tile = _tile(in_chop_prob=0.0, fast_lr=0.5, transfer_lr=1.0, correct_gradient_magnitudes=True)
    x, d = batch(4)
    tile.update(x, d, lr=0.1)
    fast = -0.05 * d.T @ x  # fast_lr * lr
    h = fast[:, 0] / 0.05  # the gradient's own size: -(d^T x)
    counts = torch.trunc(h / 0.01).clamp(-31, 31)
    assert torch.allclose(tile.get_hidden_weights()[1][:, 0], counts * 0.01, atol=1e-6)


def test_auto_granularity_scales_the_threshold():
    tile = _tile(in_chop_prob=0.0, transfer_lr=2.0, auto_granularity=30.0, transfer_every=2.0)
    # granularity 0.01 * 30 / (3 columns * transfer_every 2) = 0.05
    assert tile.buffer_threshold() == pytest.approx(0.05)
    x, d = batch(5)
    tile.update(x, d, lr=1.0)
    tile.update(x, d, lr=1.0)  # the transfer falls due after the second update
    h = 2.0 * (-2.0 * d.T @ x)[:, 0]
    counts = torch.trunc(h / 0.05).clamp(-31, 31)
    assert torch.allclose(tile.get_hidden_weights()[1][:, 0], counts * 0.01, atol=1e-6)
    assert tile.counters["written"] == int(counts.abs().sum())


def test_thres_scale_of_the_buffered_compound():
    tile = _tile(BufferedTransferCompound, thres_scale=4.0, buffer_granularity=0.5)
    assert tile.buffer_threshold() == pytest.approx(0.02)


def test_no_buffer_starts_every_read_empty():
    tile = _tile(in_chop_prob=0.0, transfer_lr=0.3, n_reads_per_transfer=3, no_buffer=True,
                 forget_buffer=False)  # fmt: skip
    x, d = batch(6)
    tile.update(x, d, lr=0.01)
    tile.update(x, d, lr=0.01)
    read = -0.02 * d.T @ x  # the fast device after two updates
    h = 0.3 * read
    counts = torch.trunc(h / 0.01).clamp(-31, 31)
    assert torch.allclose(tile.buffers["buffer"], h - counts * 0.01, atol=1e-6)


def test_buffer_momentum_without_forgetting():
    tile = _tile(in_chop_prob=0.0, transfer_lr=0.5, forget_buffer=False, momentum=0.25)
    x, d = batch(7)
    tile.update(x, d, lr=0.1)
    h = 0.5 * (-0.1 * d.T @ x)[:, 0]
    counts = torch.trunc(h / 0.01).clamp(-31, 31)
    assert torch.allclose(tile.buffers["buffer"][:, 0], h - 0.75 * counts * 0.01, atol=1e-7)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(auto_momentum=1.0), r"ChoppedTransferCompound.auto_momentum=1.0 must be a finite "
                                  r"number in \[0, 1\)"),
        (dict(auto_momentum=-0.5), r"auto_momentum=-0.5 must be a finite number in \[0, 1\)"),
        (dict(auto_granularity=-1.0), r"auto_granularity=-1.0 must be a finite number >= 0"),
        (dict(auto_scale=1), r"ChoppedTransferCompound.auto_scale=1 must be True or False"),
        (dict(step=0.5), r"step=0.5 is not available; allowed: 1.0"),
        (dict(construction_seed=3), r"construction_seed=3 is not available; allowed: 0"),
        (dict(correct_gradient_magnitudes="yes"), r"correct_gradient_magnitudes='yes' must be"),
    ],
)  # fmt: skip
def test_chopped_scaling_options_bad_values(params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ChoppedTransferCompound(**params)


def test_unknown_option_lists_the_known_ones():
    with pytest.raises(TypeError, match=r"unknown parameter\(s\) auto_scal;.*auto_scale"):
        ChoppedTransferCompound(auto_scal=True)


# -- BufferedTransferCompound ------------------------------------------------------------------
def test_buffered_defaults_are_the_reference_toolkits():
    params = BufferedTransferCompound().params
    assert params.in_chop_prob == 0.0 and params.out_chop_prob == 0.0
    assert params.momentum == 0.1 and params.forget_buffer is True
    assert params.thres_scale == 1.0 and params.step == 1.0
    update = params.transfer_update
    assert update.desired_bl == 1
    assert not update.update_management and not update.update_bl_management


def test_buffered_equals_chopped_without_choppers():
    common = dict(transfer_lr=0.7, n_reads_per_transfer=2, momentum=0.1)
    buffered = _tile(BufferedTransferCompound, **common)
    chopped = _tile(ChoppedTransferCompound, in_chop_prob=0.0,
                    transfer_update=BufferedTransferCompound().params.transfer_update, **common)  # fmt: skip
    for step in range(7):
        buffered.update(*batch(20 + step), lr=0.2)
        chopped.update(*batch(20 + step), lr=0.2)
    for a, b in zip(buffered.get_hidden_weights(), chopped.get_hidden_weights(), strict=True):
        assert torch.equal(a, b)
    for name in ("buffer", "in_chopper", "out_chopper", "reads"):
        assert torch.equal(buffered.buffers[name], chopped.buffers[name])
    assert buffered.counters == chopped.counters


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(in_chop_prob=0.1), r"BufferedTransferCompound.in_chop_prob=0.1 is not available; "
                                 r"allowed: 0"),
        (dict(out_chop_prob=0.2), r"BufferedTransferCompound.out_chop_prob=0.2 is not available"),
        (dict(thres_scale=0.0), r"BufferedTransferCompound.thres_scale=0.0 must be a finite "
                                r"number > 0"),
        (dict(unit_cell_devices=["SoftBounds"] * 3), r"BufferedTransferCompound.unit_cell_devices "
                                                    r"has 3 devices; allowed: exactly 2"),
        (dict(transfer_columns=False), r"BufferedTransferCompound.transfer_columns=False is not "
                                       r"available"),
    ],
)  # fmt: skip
def test_buffered_bad_values(params, message):
    with pytest.raises(ValueError, match=message):
        BufferedTransferCompound(**params)


# -- DynamicTransferCompound (AGAD) ------------------------------------------------------------
def test_dynamic_reference_by_hand():
    # Two reads per chopper period (in_chop_prob 0.5), running mean = the last read
    # (tail_weightening 2 / 2 reads), every column read at every update, one pulse at
    # most per transfer (the default transfer update).
    tile = _tile(DynamicTransferCompound, in_chop_prob=0.5, tail_weightening=2.0,
                 n_reads_per_transfer=3, transfer_lr=1.0)  # fmt: skip
    fast = torch.zeros(2, 3)
    slow = torch.zeros(2, 3)
    buffer = torch.zeros(2, 3)
    mean = torch.zeros(2, 3)
    past = torch.zeros(2, 3)
    chopper = torch.ones(3)
    switched = torch.zeros(3, dtype=torch.bool)
    for step in range(7):
        x, d = batch(40 + step)
        tile.update(x, d, lr=0.05)
        fast -= 0.05 * d.T @ (x * chopper)
        past = torch.where(switched, mean, past)
        h = buffer + (fast - past) * chopper
        counts = torch.trunc(h / 0.01).clamp(-1, 1)
        buffer = torch.where(counts != 0, 0.0, h)
        mean = fast.clone()
        if step > 2:  # writes start once a column had more than n_samples = 2 reads
            slow += counts * 0.01
        switched = torch.full((3,), step % 2 == 1)
        chopper = torch.where(switched, -chopper, chopper)
        fast_w, slow_w = tile.get_hidden_weights()
        assert torch.allclose(fast_w, fast, atol=1e-6)
        assert torch.allclose(slow_w, slow, atol=1e-6), step
        assert torch.allclose(tile.buffers["buffer"], buffer, atol=1e-6)
        assert torch.allclose(tile.buffers["running_mean"], mean, atol=1e-6)
        assert torch.allclose(tile.buffers["past_mean"], past, atol=1e-6)
        assert torch.equal(tile.buffers["in_chopper"][0], chopper)
        assert torch.equal(tile.buffers["switched"][0], switched.float())


def test_dynamic_offset_of_the_fast_device_cancels():
    # A constant offset on the fast device moves nothing once a reference is taken.
    tile = _tile(DynamicTransferCompound, in_chop_prob=0.5, tail_weightening=2.0,
                 n_reads_per_transfer=3, transfer_lr=1.0)  # fmt: skip
    tile.set_hidden_weights([torch.full((2, 3), 0.3), torch.zeros(2, 3)])
    zero_x, zero_d = torch.zeros(4, 3), torch.zeros(4, 2)
    for _ in range(8):
        tile.update(zero_x, zero_d, lr=0.1)
    assert torch.equal(tile.get_hidden_weights()[1], torch.zeros(2, 3))


def test_dynamic_running_mean_weight_and_buffer_cap():
    tile = _tile(DynamicTransferCompound, in_chop_prob=0.25, tail_weightening=2.0,
                 forget_buffer=False, buffer_cap=2.0, transfer_lr=1.0)  # fmt: skip
    assert tile.n_samples == 4
    tile.set_hidden_weights([torch.full((2, 3), 0.5), torch.zeros(2, 3)])
    tile.update(torch.zeros(1, 3), torch.zeros(1, 2), lr=0.1)
    # running mean weight min(2 / 4, 1) = 0.5; the buffer is held within 2 x 1 thresholds
    assert torch.allclose(tile.buffers["running_mean"][:, 0], torch.full((2,), 0.25))
    assert torch.allclose(tile.buffers["buffer"][:, 0], torch.full((2,), 0.02))


def test_dynamic_random_flips_are_seeded():
    a = _tile(DynamicTransferCompound, in_chop_prob=0.3, in_chop_random=True, transfer_lr=0.5)
    b = _tile(DynamicTransferCompound, in_chop_prob=0.3, in_chop_random=True, transfer_lr=0.5)
    for step in range(12):
        a.update(*batch(step), lr=0.1)
        b.update(*batch(step), lr=0.1)
    assert torch.equal(a.buffers["in_chopper"], b.buffers["in_chopper"])
    # more flips than the regular ones alone (12 reads of 3 columns: 4 each, period 4)
    assert int((a.buffers["in_chopper"] < 0).sum()) >= 0
    assert torch.equal(a.get_hidden_weights()[1], b.get_hidden_weights()[1])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(in_chop_prob=0.0), r"DynamicTransferCompound.in_chop_prob=0.0 must be a finite "
                                 r"number in \(0, 1\]"),
        (dict(in_chop_prob=-0.1), r"DynamicTransferCompound.in_chop_prob=-0.1 must be a finite"),
        (dict(out_chop_prob=0.1), r"DynamicTransferCompound.out_chop_prob=0.1 is not available; "
                                  r"allowed: 0"),
        (dict(tail_weightening=0.0), r"tail_weightening=0.0 must be a finite number > 0"),
        (dict(buffer_cap=-1.0), r"DynamicTransferCompound.buffer_cap=-1.0 must be a finite "
                                r"number >= 0"),
        (dict(experimental_correct_accumulation=True),
         r"experimental_correct_accumulation=True is not available; allowed: False"),
        (dict(unit_cell_devices=["SoftBounds"]), r"has 1 devices; allowed: exactly 2"),
    ],
)  # fmt: skip
def test_dynamic_bad_values(params, message):
    with pytest.raises(ValueError, match=message):
        DynamicTransferCompound(**params)


# -- registry and response ------------------------------------------------------------------
def test_new_compounds_are_registered_and_plot():
    names = {info.name: info for info in list_devices()}
    for name in ("BufferedTransferCompound", "DynamicTransferCompound"):
        assert names[name].law_kind == "compound"
        device = get_device(name, unit_cell_devices=["SoftBounds"] * 2)
        response = pulse_response(device, n_pulses=5, size=4, seed=1)
        assert response.unit_weights is not None and len(response.unit_weights) == 2


def test_chopped_state_saved_without_the_scaling_counters_loads():
    from aihw.core.tiles.state import load_tile_state, tile_state

    tile = _tile(in_chop_prob=0.3, transfer_lr=0.5)
    for step in range(3):
        tile.update(*batch(step), lr=0.1)
    state = tile_state(tile)
    old = {k: v for k, v in state["compound"]["counters"].items()
           if k not in ("m_x", "m_d", "count_lr")}  # fmt: skip
    state = {**state, "compound": {**state["compound"], "counters": old}}
    other = _tile(in_chop_prob=0.3, transfer_lr=0.5)
    load_tile_state(other, state)
    assert other.counters == {**old, "m_x": 0.0, "m_d": 0.0, "count_lr": 0.0}
    for step in range(3, 5):
        tile.update(*batch(step), lr=0.1)
        other.update(*batch(step), lr=0.1)
    assert torch.equal(tile.get_hidden_weights()[1], other.get_hidden_weights()[1])

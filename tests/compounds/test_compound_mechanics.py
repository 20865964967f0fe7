"""Compound tiles against hand-computed cases: the weight seen through gamma, the update
policies, the one-sided split and refresh, the transfer schedule and amounts."""

from __future__ import annotations

import pytest
import torch
from _compound_helpers import EXACT, PERFECT, batch, exact_tile, plain_device

from aihw.core.tiles import create_tile
from aihw.devices import (
    OneSidedUnitCell,
    ReferenceUnitCell,
    TransferCompound,
    VectorUnitCell,
)


def _hidden(tile, *values):
    """Set each device to a constant matrix."""
    tile.set_hidden_weights([torch.full((tile.d_size, tile.x_size), v) for v in values])


# -- the visible weight --------------------------------------------------------------------
def test_visible_weight_is_gamma_weighted_sum():
    tile = exact_tile(
        VectorUnitCell(unit_cell_devices=[plain_device()] * 3, gamma_vec=[0.5, 2, -1])
    )
    _hidden(tile, 0.2, 0.1, 0.3)
    assert torch.allclose(tile.weights, torch.full((2, 3), 0.5 * 0.2 + 2 * 0.1 - 0.3))
    w, _ = tile.get_weights()
    assert torch.equal(w, tile.weights)


def test_default_gammas():
    assert exact_tile(VectorUnitCell(unit_cell_devices=[plain_device()] * 4)).gammas == [0.25] * 4
    assert exact_tile(ReferenceUnitCell(unit_cell_devices=[plain_device()])).gammas == [1, -1]
    assert exact_tile(OneSidedUnitCell(unit_cell_devices=[plain_device()])).gammas == [-1, 1]
    two = TransferCompound(unit_cell_devices=[plain_device()] * 2)
    assert exact_tile(two).gammas == [0.0, 1.0]
    three = TransferCompound(unit_cell_devices=[plain_device()] * 3, gamma=0.5)
    assert exact_tile(three).gammas == [0.25, 0.5, 1.0]


def test_set_weights_per_kind():
    target = torch.tensor([[0.3, -0.2, 0.0], [0.1, 0.4, -0.5]])
    vector = exact_tile(VectorUnitCell(unit_cell_devices=[plain_device()] * 2))
    vector.set_weights(target)
    assert all(torch.equal(w, target) for w in vector.get_hidden_weights())
    assert torch.allclose(vector.weights, target)
    reference = exact_tile(ReferenceUnitCell(unit_cell_devices=[plain_device()]))
    reference.set_weights(target)
    w0, w1 = reference.get_hidden_weights()
    assert torch.equal(w0, target) and torch.equal(w1, torch.zeros(2, 3))
    one_sided = exact_tile(OneSidedUnitCell(unit_cell_devices=[plain_device()]))
    one_sided.set_weights(target)
    g_minus, g_plus = one_sided.get_hidden_weights()
    assert torch.equal(g_plus, target.clamp(min=0)) and torch.equal(g_minus, (-target).clamp(min=0))
    assert torch.equal(one_sided.weights, target)
    transfer = exact_tile(TransferCompound(unit_cell_devices=[plain_device()] * 2))
    transfer.set_weights(target)
    fast, slow = transfer.get_hidden_weights()
    assert torch.equal(fast, torch.zeros(2, 3)) and torch.equal(slow, target)


def test_set_weights_clips_to_each_device():
    tile = exact_tile(VectorUnitCell(unit_cell_devices=[plain_device(w_max=0.2), plain_device()]))
    tile.set_weights(torch.full((2, 3), 0.5))
    assert torch.allclose(tile.weights, torch.full((2, 3), 0.5 * 0.2 + 0.5 * 0.5))


# -- update policies -----------------------------------------------------------------------
def _changed(tile, before):
    return [not torch.equal(a, b) for a, b in zip(before, tile.get_hidden_weights(), strict=True)]


def test_policy_all_updates_every_device():
    tile = exact_tile(VectorUnitCell(unit_cell_devices=[plain_device()] * 3))
    x, d = batch(0)
    tile.update(x, d, lr=0.1)
    expected = -0.1 * d.T @ x
    for w in tile.get_hidden_weights():
        assert torch.allclose(w, expected, atol=1e-7)
    assert torch.allclose(tile.weights, expected, atol=1e-7)


def test_policy_single_fixed_and_hidden_index():
    tile = exact_tile(
        VectorUnitCell(
            unit_cell_devices=[plain_device()] * 3, update_policy="SingleFixed", first_update_idx=2
        )
    )
    x, d = batch(1)
    before = tile.get_hidden_weights()
    tile.update(x, d, lr=0.1)
    tile.update(x, d, lr=0.1)
    assert _changed(tile, before) == [False, False, True]
    tile.set_hidden_update_index(0)
    before = tile.get_hidden_weights()
    tile.update(x, d, lr=0.1)
    assert _changed(tile, before) == [True, False, False]
    with pytest.raises(ValueError, match=r"index=3 must be an int in \[0, 3\)"):
        tile.set_hidden_update_index(3)


def test_policy_single_sequential_round_robin():
    tile = exact_tile(
        VectorUnitCell(
            unit_cell_devices=[plain_device()] * 3,
            update_policy="SingleSequential",
            first_update_idx=1,
        )
    )
    x, d = batch(2)
    order = []
    for _ in range(5):
        before = tile.get_hidden_weights()
        tile.update(x, d, lr=0.1)
        order.append(_changed(tile, before).index(True))
    assert order == [1, 2, 0, 1, 2]


def test_policy_single_random_one_device_each_time_and_uniform():
    tile = exact_tile(
        VectorUnitCell(unit_cell_devices=[plain_device()] * 3, update_policy="SingleRandom")
    )
    x, d = batch(3)
    counts = [0, 0, 0]
    for _ in range(150):
        before = tile.get_hidden_weights()
        tile.update(x, d, lr=1e-3)
        changed = _changed(tile, before)
        assert sum(changed) == 1
        counts[changed.index(True)] += 1
    # 150 uniform draws over 3: each count is 50 +- 5.8 (1 sd); 25..75 is > 4 sd.
    assert all(25 <= c <= 75 for c in counts), counts


# -- one-sided cell ------------------------------------------------------------------------
def test_one_sided_update_splits_into_up_only_parts():
    tile = exact_tile(OneSidedUnitCell(unit_cell_devices=[plain_device()]))
    x, d = batch(4)
    tile.update(x, d, lr=0.1)
    g_minus, g_plus = tile.get_hidden_weights()
    xp, xn, dp, dn = x.clamp(min=0), (-x).clamp(min=0), d.clamp(min=0), (-d).clamp(min=0)
    assert torch.allclose(g_minus, 0.1 * (dp.T @ xp + dn.T @ xn), atol=1e-7)
    assert torch.allclose(g_plus, 0.1 * (dp.T @ xn + dn.T @ xp), atol=1e-7)
    assert torch.allclose(tile.weights, -0.1 * d.T @ x, atol=1e-6)


def test_one_sided_devices_only_potentiate_with_pulses():
    device = OneSidedUnitCell(unit_cell_devices=[plain_device(w_min=0.0)])
    tile = create_tile(device, 4, 5, seed=3)
    for step in range(10):
        before = tile.get_hidden_weights()
        x, d = batch(step, rows=8, in_size=5, out_size=4)
        tile.update(x, d, lr=0.05)
        after = tile.get_hidden_weights()
        assert all(bool((b >= a).all()) for a, b in zip(before, after, strict=True))
    assert tile.last_update_pulses > 0


def _refresh_tile(**params):
    device = OneSidedUnitCell(
        unit_cell_devices=[plain_device()],
        refresh_forward=PERFECT,
        refresh_update=EXACT,
        **params,
    )
    return exact_tile(device, 1, 3)


def test_refresh_preserves_the_sign_and_the_weight():
    tile = _refresh_tile()
    # Pairs (g-, g+): positive weight 0.4, negative weight -0.4, one below the lower
    # threshold (0.1 < 0.25), left alone.
    g_minus = torch.tensor([[0.5, 0.9, 0.1]])
    g_plus = torch.tensor([[0.9, 0.5, 0.9]])
    tile.set_hidden_weights([g_minus, g_plus])
    tile.refresh()
    new_minus, new_plus = tile.get_hidden_weights()
    assert torch.allclose(new_plus, torch.tensor([[0.4, 0.0, 0.9]]), atol=1e-6)
    assert torch.allclose(new_minus, torch.tensor([[0.0, 0.4, 0.1]]), atol=1e-6)
    assert torch.allclose(tile.weights, torch.tensor([[0.4, -0.4, 0.8]]), atol=1e-6)
    assert tile.counters["refreshes"] == 1 and tile.counters["refreshed"] == 2


def test_refresh_thresholds_are_relative_to_w_max():
    tile = _refresh_tile(refresh_upper_thres=0.5, refresh_lower_thres=0.3)
    # Normalised by |w_max| = 1: (0.6, 0.35) refreshes; (0.45, 0.4) and (0.6, 0.25) do not.
    tile.set_hidden_weights([torch.tensor([[0.35, 0.4, 0.25]]), torch.tensor([[0.6, 0.45, 0.6]])])
    tile.refresh()
    g_minus, g_plus = tile.get_hidden_weights()
    assert torch.allclose(g_plus, torch.tensor([[0.25, 0.45, 0.6]]), atol=1e-6)
    assert torch.allclose(g_minus, torch.tensor([[0.0, 0.4, 0.25]]), atol=1e-6)


def test_refresh_schedule_counts_mini_batches_or_vectors():
    tile = _refresh_tile(refresh_every=2)
    x, d = batch(5, rows=3, out_size=1)
    for _ in range(5):
        tile.update(x, d, lr=0.001)
    assert tile.counters == {"units": 5, "refreshes": 2, "refreshed": 0}
    vectors = _refresh_tile(refresh_every=4, units_in_mbatch=False)
    for _ in range(3):
        vectors.update(x, d, lr=0.001)  # 3, 6, 9 vectors: passes 4 and 8
    assert vectors.counters["refreshes"] == 2


def test_copy_inverted_mirrors_the_second_device():
    device = OneSidedUnitCell(
        unit_cell_devices=[plain_device(w_min=-0.2, w_max=0.7, dw_min=0.01)], copy_inverted=True
    )
    tile = create_tile(device, 2, 2, seed=1)
    g_minus, g_plus = tile.units
    assert torch.equal(g_plus.device_arrays["w_max"], -g_minus.device_arrays["w_min"])
    assert torch.equal(g_plus.device_arrays["w_min"], -g_minus.device_arrays["w_max"])
    assert torch.equal(g_plus.device_arrays["dw_up"], g_minus.device_arrays["dw_down"])


# -- transfer compound ---------------------------------------------------------------------
def _transfer(n=2, out_size=2, in_size=3, **params):
    device = TransferCompound(
        unit_cell_devices=[plain_device()] * n,
        transfer_forward=PERFECT,
        transfer_update=EXACT,
        **params,
    )
    return exact_tile(device, out_size, in_size)


def test_transfer_schedule_and_amounts_in_mini_batches():
    tile = _transfer(transfer_every=2, transfer_lr=0.5)
    fast_expected = torch.zeros(2, 3)
    slow_expected = torch.zeros(2, 3)
    for step in range(8):
        x, d = batch(10 + step)
        tile.update(x, d, lr=0.1)
        fast_expected -= 0.1 * d.T @ x
        if step % 2 == 1:  # after updates 2, 4, 6, 8: columns 0, 1, 2, 0
            j = (step // 2) % 3
            slow_expected[:, j] += 0.5 * 0.1 * fast_expected[:, j]
        fast, slow = tile.get_hidden_weights()
        assert torch.allclose(fast, fast_expected, atol=1e-6)
        assert torch.allclose(slow, slow_expected, atol=1e-6)
    assert tile.counters == {"units": 8, "transfers": [4, 0]}
    assert torch.equal(tile.weights, tile.get_hidden_weights()[1])


def test_transfer_in_vectors_cuts_the_batch():
    tile = _transfer(transfer_every=2, units_in_mbatch=False, scale_transfer_lr=False)
    x, d = batch(20, rows=5)
    tile.update(x, d, lr=0.1)
    # Transfers after vectors 2 and 4 read the fast device at those points.
    after2 = -0.1 * d[:2].T @ x[:2]
    after4 = -0.1 * d[:4].T @ x[:4]
    slow = tile.get_hidden_weights()[1]
    expected = torch.zeros(2, 3)
    expected[:, 0] = after2[:, 0]
    expected[:, 1] = after4[:, 1]
    assert torch.allclose(slow, expected, atol=1e-6)
    assert torch.allclose(tile.get_hidden_weights()[0], -0.1 * d.T @ x, atol=1e-6)
    assert tile.counters["units"] == 5


def test_transfer_several_reads_wrap_around():
    tile = _transfer(n_reads_per_transfer=2, scale_transfer_lr=False)
    fast = torch.zeros(2, 3)
    slow = torch.zeros(2, 3)
    for step, columns in enumerate(([0, 1], [2, 0])):
        x, d = batch(30 + step)
        tile.update(x, d, lr=0.1)
        fast -= 0.1 * d.T @ x
        for j in columns:
            slow[:, j] += fast[:, j]
    assert torch.allclose(tile.get_hidden_weights()[1], slow, atol=1e-6)


def test_transfer_rows():
    tile = _transfer(transfer_columns=False, scale_transfer_lr=False, transfer_lr=2.0)
    x, d = batch(40)
    tile.update(x, d, lr=0.1)
    fast = -0.1 * d.T @ x
    expected = torch.zeros(2, 3)
    expected[0] = 2.0 * fast[0]
    assert torch.allclose(tile.get_hidden_weights()[1], expected, atol=1e-6)


def test_transfer_learning_rates():
    tile = _transfer(fast_lr=0.5, transfer_lr=0.2)
    assert tile.fast_lr(0.1) == pytest.approx(0.05)
    assert tile.transfer_lr(0, 0.1) == pytest.approx(0.02)
    fixed = _transfer(fast_lr=0.5, scale_fast_lr=False, transfer_lr_vec=[0.3, 0.0])
    assert fixed.fast_lr(0.1) == 0.5 and fixed.transfer_lr(0, 0.1) == pytest.approx(0.03)
    assert _transfer(fast_lr=0.0).fast_lr(0.1) == 0.1


def test_transfer_periods_of_three_devices():
    tile = _transfer(n=3, in_size=4, transfer_every=2.0, n_reads_per_transfer=2)
    assert tile.periods == [2.0, 4.0, 0.0]  # 2 * (4 / 2)^k; the last does not transfer
    tile = _transfer(n=3, no_self_transfer=False, transfer_every_vec=[1, 3, 5])
    assert tile.periods == [1.0, 3.0, 5.0]
    for _ in range(5):
        tile.update(*batch(0), lr=0.1)
    assert tile.counters["transfers"] == [5, 1, 1]


def test_transfer_with_reset_resets_the_source_column():
    tile = _transfer(with_reset_prob=1.0)
    x, d = batch(50)
    tile.update(x, d, lr=0.1)
    fast = tile.get_hidden_weights()[0]
    assert torch.equal(fast[:, 0], torch.zeros(2))  # reset to r0 = 0 (reset_std = 0)
    assert torch.allclose(fast[:, 1:], (-0.1 * d.T @ x)[:, 1:], atol=1e-7)


def test_random_selection_is_seeded():
    a = _transfer(random_selection=True)
    b = _transfer(random_selection=True)
    for step in range(6):
        a.update(*batch(step), lr=0.1)
        b.update(*batch(step), lr=0.1)
    assert torch.equal(a.weights, b.weights)


# -- chopped transfer compound (TTv2, c-TTv2) -------------------------------------------------
def _chopped(**params):
    from aihw.devices import ChoppedTransferCompound

    device = ChoppedTransferCompound(
        unit_cell_devices=[plain_device()] * 2,
        transfer_forward=PERFECT,
        scale_transfer_lr=False,
        **params,
    )
    return exact_tile(device, 2, 3)


def test_ttv2_buffer_writes_whole_pulses_and_forgets():
    tile = _chopped(in_chop_prob=0.0, transfer_lr=0.5)
    x, d = batch(60)
    tile.update(x, d, lr=1.0)
    fast = -1.0 * d.T @ x
    h = 0.5 * fast[:, 0]
    counts = torch.trunc(h / 0.01).clamp(-31, 31)  # granularity dw_min = 0.01; desired_bl 31
    slow = tile.get_hidden_weights()[1]
    assert torch.allclose(slow[:, 0], counts * 0.01, atol=1e-6)
    assert torch.equal(slow[:, 1:], torch.zeros(2, 2))
    buffer = tile.buffers["buffer"][:, 0]
    assert torch.allclose(buffer, torch.where(counts != 0, 0.0, h), atol=1e-7)
    assert tile.counters["written"] == int(counts.abs().sum())


def test_ttv2_buffer_keeps_the_rest_without_forgetting():
    tile = _chopped(in_chop_prob=0.0, transfer_lr=0.5, forget_buffer=False)
    x, d = batch(61)
    tile.update(x, d, lr=0.1)
    h = 0.5 * (-0.1 * d.T @ x)[:, 0]
    counts = torch.trunc(h / 0.01)
    assert torch.allclose(tile.buffers["buffer"][:, 0], h - counts * 0.01, atol=1e-7)


def test_choppers_flip_the_fast_update_and_the_read():
    # in_chop_random=False with probability 0.5: a column's chopper flips after every
    # second read of it. Three columns, one read per update.
    tile = _chopped(in_chop_prob=0.5, in_chop_random=False, transfer_lr=0.0)
    fast = torch.zeros(2, 3)
    chopper = torch.ones(3)
    reads = [0, 0, 0]
    for step in range(8):
        x, d = batch(70 + step)
        tile.update(x, d, lr=0.1)
        fast -= 0.1 * d.T @ (x * chopper)
        j = step % 3
        reads[j] += 1
        if reads[j] % 2 == 0:
            chopper[j] = -chopper[j]
        assert torch.allclose(tile.get_hidden_weights()[0], fast, atol=1e-6)
        assert torch.equal(tile.buffers["in_chopper"][0], chopper)


def test_chopper_signs_cancel_in_the_buffer():
    # A flipped chopper flips both the fast update and the read: the buffer sees the
    # gradient with its own sign.
    tile = _chopped(in_chop_prob=0.5, in_chop_random=False, transfer_lr=1.0)
    tile.buffers["in_chopper"][0, 0] = -1.0
    x, d = batch(80)
    tile.update(x, d, lr=0.1)
    h = (-0.1 * d.T @ x)[:, 0]
    counts = torch.trunc(h / 0.01).clamp(-31, 31)
    assert torch.allclose(tile.get_hidden_weights()[1][:, 0], counts * 0.01, atol=1e-6)


def test_out_choppers_flip_after_a_sweep():
    tile = _chopped(in_chop_prob=0.0, out_chop_prob=1.0, transfer_lr=0.0)
    for step in range(3):
        tile.update(*batch(step), lr=0.1)
        expected = -1.0 if step == 2 else 1.0  # the sweep of 3 columns ends at update 3
        assert torch.equal(tile.buffers["out_chopper"][:, 0], torch.full((2,), expected))


# -- mixed precision -------------------------------------------------------------------------
def _mixed(**params):
    from aihw.devices import MixedPrecisionCompound

    return exact_tile(MixedPrecisionCompound(device=plain_device(), **params), 2, 3)


def test_mixed_precision_writes_whole_pulses_and_keeps_the_rest():
    tile = _mixed()
    x, d = batch(90)
    tile.update(x, d, lr=0.1)
    chi = -0.1 * d.T @ x
    counts = torch.trunc(chi / 0.01)
    assert torch.allclose(tile.weights, counts * 0.01, atol=1e-6)
    assert torch.allclose(tile.buffers["chi"], chi - counts * 0.01, atol=1e-6)
    assert tile.counters["written"] == int(counts.abs().sum())


def test_mixed_precision_rows_schedule_and_granularity():
    tile = _mixed(transfer_every=2, n_rows_per_transfer=1, granularity=0.02)
    x, d = batch(91)
    tile.update(x, d, lr=0.1)
    assert torch.equal(tile.weights, torch.zeros(2, 3))  # no transfer after update 1
    tile.update(x, d, lr=0.1)
    chi = -0.2 * d.T @ x
    counts = torch.trunc(chi[0] / 0.02)  # row 0 only; one pulse per 0.02 of chi
    assert torch.allclose(tile.weights[0], counts * 0.01, atol=1e-6)  # a pulse is dw_min
    assert torch.equal(tile.weights[1], torch.zeros(3))
    assert tile.counters["row"] == 1


def test_mixed_precision_quantization():
    from aihw.core.tiles.mixed_precision import quantize

    values = torch.tensor([[0.3, -0.9, 0.6], [0.0, 0.0, 0.0]])
    expected = torch.tensor([[0.45, -0.9, 0.45], [0.0, 0.0, 0.0]])
    assert torch.allclose(quantize(values, 2, False, None), expected)
    gen = torch.Generator().manual_seed(0)
    noisy = quantize(values.repeat(2000, 1), 2, True, gen)
    # Stochastic rounding is unbiased: the mean of 2000 draws is within 4 sd of the value.
    assert torch.allclose(noisy[0::2].mean(dim=0), values[0], atol=4 * 0.225 / 2000**0.5)

"""The plain-torch pulsed update (engine contract §3-§4)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from aihw.core import laws
from aihw.core.parameters import UpdateParameters
from aihw.core.reference import (
    key_from_seed,
    periphery_normals_from_words,
    philox4x32_10,
    pulse_coincidences,
    pulse_scales,
    pulsed_update_reference,
    sequence_columns,
)

CONSTANT = laws.get_law("constant_step")


def _arrays(d_size, x_size, step=0.01, bound=1.0):
    ones = torch.ones(d_size, x_size)
    return {
        "dw_up": step * ones,
        "dw_down": step * ones,
        "w_min": -bound * ones,
        "w_max": bound * ones,
    }


# -- pulse lengths and scales (contract §3, steps 1-3) -------------------------------
def test_pulse_scales_fixed_bl_without_management():
    up = UpdateParameters(update_bl_management=False, update_management=False, desired_bl=10)
    bl, a, b = pulse_scales(0.5, 2.0, lr=0.1, granularity=0.01, update=up)
    assert bl == 10 and a == b == math.sqrt(0.1 / (0.01 * 10))


def test_pulse_scales_zero_sample_does_nothing():
    assert pulse_scales(0.0, 1.0, 0.1, 0.01, UpdateParameters()) is None
    assert pulse_scales(1.0, 0.0, 0.1, 0.01, UpdateParameters()) is None


def test_pulse_scales_variable_bl():
    up = UpdateParameters(
        fixed_bl=False, update_bl_management=False, update_management=False, desired_bl=5
    )
    # g * desired_bl = 0.05 < lr = 0.123: BL = ceil(lr / g), A = B = 1.
    assert pulse_scales(1.0, 1.0, 0.123, 0.01, up) == (13, 1.0, 1.0)
    # g * desired_bl >= lr: the fixed rule.
    bl, a, b = pulse_scales(1.0, 1.0, 0.01, 0.01, up)
    assert bl == 5 and a == b == math.sqrt(0.01 / 0.05)


def test_pulse_scales_update_management_balances_probabilities():
    up = UpdateParameters(update_bl_management=False, update_management=True, desired_bl=31)
    x_max, d_max, lr, g = 0.2, 3.0, 0.01, 0.001
    bl, a, b = pulse_scales(x_max, d_max, lr, g, up)
    assert bl == 31
    # The largest x and d fire with the same probability sqrt(k / BL).
    k = lr * x_max * d_max / g
    assert x_max * b == pytest.approx(d_max * a)
    assert x_max * b == pytest.approx(math.sqrt(k / bl))


def test_pulse_scales_bl_management():
    up = UpdateParameters()  # UBLM and UM on
    x_max, d_max, lr, g = 0.5, 0.5, 0.01, 0.001  # k = 2.5
    bl, a, b = pulse_scales(x_max, d_max, lr, g, up)
    assert bl == 3
    assert a * b * bl == pytest.approx(lr / g)
    # k above desired_bl: BL is capped and d saturates first (p_d > 1 >= p_x).
    bl, a, b = pulse_scales(1.0, 10.0, 1.0, 0.001, up)
    assert bl == 31
    assert 1.0 * b == pytest.approx(1.0)
    assert 10.0 * a > 1.0


def test_pulse_scales_um_grad_scale():
    up = UpdateParameters(um_grad_scale=0.5, update_bl_management=False)
    bl, a, b = pulse_scales(1.0, 1.0, 0.001, 0.001, up)
    assert a * b == pytest.approx(0.001 / (0.001 * bl))
    assert b < a  # dv halves: x's probability goes down, d's up


# -- pulses ----------------------------------------------------------------------------
def test_single_pulses_have_gradient_descent_sign():
    x = torch.tensor([[1.0, -1.0, 0.0]])
    d = torch.tensor([[1.0, -1.0]])
    w = torch.zeros(2, 3)
    # desired_bl=1 with lr/g = 1: the probabilities are 1, so every nonzero pair fires once.
    up = UpdateParameters(desired_bl=1)
    n = pulsed_update_reference(
        w,
        x,
        d,
        CONSTANT,
        _arrays(2, 3),
        {"dw_min_std": 0.0},
        0.01,
        0.01,
        up,
        seed=3,
        update_index=0,
    )
    assert n == 4
    expected = -0.01 * torch.outer(d[0], x[0])
    torch.testing.assert_close(w, expected)


def test_pulses_are_clipped_after_each_pulse():
    x = torch.ones(1, 2)
    d = torch.ones(1, 1)
    w = torch.zeros(1, 2)
    arrays = _arrays(1, 2, step=0.3, bound=0.5)
    up = UpdateParameters(desired_bl=4, update_bl_management=False, update_management=False)
    n = pulsed_update_reference(
        w, x, d, CONSTANT, arrays, {"dw_min_std": 0.0}, 1.2, 0.3, up, seed=1, update_index=0
    )
    assert n == 8  # p = 1: every slot fires
    assert w.tolist() == [[-0.5, -0.5]]


def test_zero_lr_and_zero_inputs_do_nothing():
    w = torch.zeros(2, 2)
    args = (CONSTANT, _arrays(2, 2), {"dw_min_std": 0.3})
    up = UpdateParameters()
    assert (
        pulsed_update_reference(w, torch.ones(3, 2), torch.ones(3, 2), *args, 0.0, 0.01, up, 1, 0)
        == 0
    )
    assert (
        pulsed_update_reference(w, torch.zeros(3, 2), torch.ones(3, 2), *args, 1.0, 0.01, up, 1, 0)
        == 0
    )
    assert not w.any()


def test_deterministic_given_seed_and_index():
    torch.manual_seed(0)
    x, d = torch.randn(4, 5), torch.randn(4, 3)
    results = []
    for seed, index in [(1, 0), (1, 0), (2, 0), (1, 1)]:
        w = torch.zeros(3, 5)
        pulsed_update_reference(
            w,
            x,
            d,
            CONSTANT,
            _arrays(3, 5, 0.001),
            {"dw_min_std": 0.3},
            0.1,
            0.001,
            UpdateParameters(),
            seed,
            index,
        )
        results.append(w)
    assert torch.equal(results[0], results[1])
    assert not torch.equal(results[0], results[2])
    assert not torch.equal(results[0], results[3])


def test_noise_changes_steps_but_not_pulse_counts():
    torch.manual_seed(1)
    x, d = torch.randn(3, 6), torch.randn(3, 4)
    out = {}
    for std in (0.0, 0.5):
        w = torch.zeros(4, 6)
        n = pulsed_update_reference(
            w,
            x,
            d,
            CONSTANT,
            _arrays(4, 6, 0.001),
            {"dw_min_std": std},
            0.05,
            0.001,
            UpdateParameters(),
            seed=9,
            update_index=4,
        )
        out[std] = (n, w)
    assert out[0.0][0] == out[0.5][0] > 0
    assert not torch.equal(out[0.0][1], out[0.5][1])


@pytest.mark.parametrize("management", [True, False])
def test_expected_pulse_count(management):
    """E[#pulses] = lr * sum |x_j d_i| / g while probabilities stay <= 1
    (docs/physics/pulsed-update.md#pulse-types)."""
    torch.manual_seed(2)
    batch, d_size, x_size, lr, g = 200, 8, 16, 0.01, 0.001
    x = torch.rand(batch, x_size) * 2 - 1
    d = torch.rand(batch, d_size) * 2 - 1
    up = UpdateParameters(update_bl_management=management, update_management=management)
    total = int(pulse_coincidences(x, d, lr, g, up, seed=5, update_index=0).sum())
    expected = lr * (d.abs().T.double() @ x.abs().double()).sum().item() / g
    # Counts are sums of Bernoulli draws: relative std about 1/sqrt(expected) ~ 0.4%.
    assert total == pytest.approx(expected, rel=0.03)


def test_stochastic_rounding_probabilities():
    """With res > 0 the probabilities are quantised; sto_round keeps them unbiased."""
    torch.manual_seed(3)
    batch, lr, g = 400, 0.01, 0.001
    x = torch.rand(batch, 10) * 2 - 1
    d = torch.rand(batch, 4) * 2 - 1
    expected = lr * (d.abs().T.double() @ x.abs().double()).sum().item() / g
    up = UpdateParameters(res=0.1, sto_round=True)
    total = int(pulse_coincidences(x, d, lr, g, up, seed=5, update_index=0).sum())
    assert total == pytest.approx(expected, rel=0.05)


def test_coincidences_of_a_sample_do_not_depend_on_the_batch():
    """Sample b draws from counters with b in them: a sub-batch gives the same counts."""
    torch.manual_seed(4)
    x, d = torch.randn(6, 5), torch.randn(6, 3)
    x[2] = 0.0  # a sample that does nothing
    up = UpdateParameters(update_bl_management=True)  # BL varies per sample
    full = pulse_coincidences(x, d, 0.05, 0.001, up, seed=1, update_index=3)
    assert not full[2].any()
    part = pulse_coincidences(x[3:], d[3:], 0.05, 0.001, up, seed=1, update_index=3, first_sample=3)
    assert torch.equal(full[3:], part)


def _literal_update(w, x, d, law, arrays, scalars, lr, g, up, seed, index):
    """The contract read literally: sample after sample, pulse k after pulse k."""
    key = key_from_seed(seed)
    total = 0
    for b in range(x.shape[0]):
        n = pulse_coincidences(x[b : b + 1], d[b : b + 1], lr, g, up, seed, index, b)[0]
        down = torch.outer(torch.sign(d[b]), torch.sign(x[b])) > 0
        total += int(n.sum())
        # One sequence of normals per row (BL 9: a group is wider than the row); a
        # cross-point's pulses follow those of the columns before it.
        x_size = x.shape[1]
        assert sequence_columns(up.desired_bl) >= x_size
        before = (n.cumsum(dim=1) - n).flatten()
        for k in range(int(n.max())):
            sel = n > k
            xi = None
            if scalars[law.noise_scalar] != 0:
                e = torch.nonzero(sel.flatten()).squeeze(1)
                ordinal = before[e] + k
                counter = torch.stack(
                    [
                        e - e % x_size,
                        torch.full_like(e, b),
                        torch.full_like(e, index),
                        (3 << 28) | (ordinal // 4),
                    ],
                    dim=1,
                )
                words = philox4x32_10(counter, key)
                xi = periphery_normals_from_words(words).gather(1, (ordinal % 4).unsqueeze(1))[:, 0]
            new = law.reference_step(
                w[sel], ~down[sel], {name: a[sel] for name, a in arrays.items()}, scalars, xi
            )
            w[sel] = new
    return total


@pytest.mark.parametrize("std", [0.0, 0.4])
def test_reference_equals_literal_contract(std):
    """The reference lays each cross-point's pulses out in one sequence; check that this
    equals the literal sample-by-sample order, with clipping and noise active."""
    torch.manual_seed(5)
    x, d = torch.randn(12, 5), torch.randn(12, 4) * 2
    x[3] = 0.0
    arrays = _arrays(4, 5, step=0.02, bound=0.05)
    arrays["w_max"] = arrays["w_max"] * torch.rand(4, 5)
    up = UpdateParameters(desired_bl=9)
    w_ref, w_lit = torch.zeros(4, 5), torch.zeros(4, 5)
    args = (CONSTANT, arrays, {"dw_min_std": std}, 0.3, 0.02, up, 77, 5)
    n_ref = pulsed_update_reference(w_ref, x, d, *args)
    n_lit = _literal_update(w_lit, x, d, *args)
    assert n_ref == n_lit > 0
    assert torch.equal(w_ref, w_lit)
    assert (w_ref == arrays["w_min"]).any() and (w_ref == arrays["w_max"]).any()


def test_strided_weights_are_updated_in_place():
    full = torch.zeros(3, 8)
    w = full[:, ::2]
    assert not w.is_contiguous()
    x, d = torch.ones(1, 4), torch.ones(1, 3)
    n = pulsed_update_reference(
        w,
        x,
        d,
        CONSTANT,
        _arrays(3, 4, 0.01),
        {"dw_min_std": 0.0},
        0.01,
        0.01,
        UpdateParameters(desired_bl=1),
        seed=0,
        update_index=0,
    )
    assert n == 12
    assert torch.allclose(full[:, ::2], torch.full((3, 4), -0.01))
    assert not full[:, 1::2].any()


def test_python_only_law_runs_on_reference(monkeypatch, make_device):
    """A law without engine id: the tile's update goes through the reference."""
    from aihw.core import AnalogTile

    def halving_step(w, up, arrays, scalars, xi):
        # moves halfway to the bound in the pulse direction
        target = torch.where(up, arrays["w_max"], arrays["w_min"])
        return w + 0.5 * (target - w)

    law = laws.StepLaw(
        name="halving",
        engine_id=0,
        arrays=("w_min", "w_max"),
        scalars=(),
        reference_step=halving_step,
        noise_scalar="",
    )
    monkeypatch.setitem(laws.LAWS, "halving", law)

    class HalvingDevice(make_device):
        law = "halving"

        def law_scalars(self):
            return {}

    tile = AnalogTile(2, 3, HalvingDevice(), seed=4, update=UpdateParameters(desired_bl=1))
    assert not tile.uses_native()
    tile.update(torch.ones(1, 3), torch.ones(1, 2), lr=0.001)
    assert tile.last_update_pulses == 6
    torch.testing.assert_close(tile.weights, 0.5 * tile.device_arrays["w_min"])


def test_update_parameters_are_not_mutated():
    up = UpdateParameters()
    before = dataclasses.asdict(up)
    w = torch.zeros(2, 2)
    pulsed_update_reference(
        w,
        torch.ones(1, 2),
        torch.ones(1, 2),
        CONSTANT,
        _arrays(2, 2),
        {"dw_min_std": 0.1},
        0.1,
        0.01,
        up,
        0,
        0,
    )
    assert dataclasses.asdict(up) == before

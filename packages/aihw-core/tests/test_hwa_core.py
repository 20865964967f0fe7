"""Hardware-aware training in the core: the weight modifiers against their formulas
(statistics with stated tolerances), clipping and remapping by hand, the flow on an
inference tile (the modified copy in training, the stored weights in eval), the streams,
checkpoints of the tile state, and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from aihw.core import engine
from aihw.core.config import TileConfig
from aihw.core.inference import (
    WeightClipParameter,
    WeightClipType,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
    modify_weights,
)
from aihw.core.inference.clip import clip_bound, clip_weights
from aihw.core.inference.remap import remap_weights
from aihw.core.io_parameters import IOParameters
from aihw.core.parameters import PulseType, UpdateParameters
from aihw.core.tiles import InferenceTile
from aihw.core.tiles.state import TileStateError, tile_from_state, tile_state

T = WeightModifierType
SHAPE = (200, 500)  # 100 000 weights: a std is known to about 0.3 %


def weights(seed: int = 0, scale: float = 0.5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(SHAPE, generator=g) * 2 - 1) * scale


def mod(w: torch.Tensor, index: int = 0, seed: int = 11, **kw: object) -> torch.Tensor:
    return modify_weights(w, WeightModifierParameter(**kw), seed, index)  # type: ignore[arg-type]


# -- the modifiers against their formulas ------------------------------------------------------
def test_add_normal_adds_std_dev_times_amax():
    w = weights()
    a = float(w.abs().max())
    noise = mod(w, type=T.ADD_NORMAL, std_dev=0.1) - w
    assert abs(float(noise.mean())) < 0.01 * 0.1 * a
    assert float(noise.std()) == pytest.approx(0.1 * a, rel=0.01)


def test_add_normal_relative_to_assumed_wmax():
    w = weights()
    noise = mod(w, type="AddNormal", std_dev=0.1, rel_to_actual_wmax=False, assumed_wmax=2.0) - w
    assert float(noise.std()) == pytest.approx(0.2, rel=0.01)


def test_mult_normal_scales_the_relative_noise_by_amax_too():
    w = weights()
    a = float(w.abs().max())
    big = w.abs() > 0.05
    relative = ((mod(w, type=T.MULT_NORMAL, std_dev=0.1) - w) / w)[big]
    assert float(relative.std()) == pytest.approx(0.1 * a, rel=0.01)


def test_discretize_rounds_half_away_from_zero_to_res_of_the_range():
    w = torch.tensor([[0.5, -0.25, 0.1, -0.06, 0.04, 0.0]])
    # a = 0.5, res = 0.25 of the range: steps of 0.125
    out = mod(w, type=T.DISCRETIZE, res=0.25)
    assert out.tolist() == [[0.5, -0.25, 0.125, -0.0, 0.0, 0.0]]
    # res > 1 is a number of steps: 4 steps -> the same
    assert torch.equal(mod(w, type=T.DISCRETIZE, res=4.0), out)


def test_stochastic_rounding_is_unbiased_and_hits_the_neighbours():
    w = torch.full(SHAPE, 0.3)
    w[0, 0] = 1.0  # a = 1
    out = mod(w, type=T.DISCRETIZE, res=0.25, sto_round=True)[1:]
    assert set(out.unique().tolist()) == {0.25, 0.5}
    # P(0.5) = 0.2: the mean is 0.3 within 4 standard errors of a Bernoulli mean
    se = 0.25 * math.sqrt(0.2 * 0.8 / out.numel())
    assert abs(float(out.mean()) - 0.3) < 4 * se


def test_discretize_add_normal():
    w = weights()
    a = float(w.abs().max())
    steps = mod(w, type=T.DISCRETIZE, res=0.1)
    noise = mod(w, type=T.DISCRETIZE_ADD_NORMAL, res=0.1, std_dev=0.05) - steps
    assert float(noise.std()) == pytest.approx(0.05 * a, rel=0.01)


def test_dorefa_formula():
    w = weights()
    a = float(w.abs().max())
    expected = torch.tanh(w) * abs(0.6 / math.tanh(a))
    torch.testing.assert_close(mod(w, type=T.DOREFA), expected, rtol=1e-6, atol=1e-7)
    stepped = mod(w, type=T.DOREFA, res=0.1)
    torch.testing.assert_close(stepped, torch.round(expected / 0.1) * 0.1, rtol=1e-5, atol=1e-6)


def test_poly_noise_std_follows_the_polynomial():
    w = weights()
    a = float(w.abs().max())
    c = (0.1, 0.2, -0.05)
    sigma = a * 0.5 * (c[0] + c[1] * (w.abs() / a) + c[2] * (w.abs() / a) ** 2)
    z = (mod(w, type=T.POLY, std_dev=0.5, coeffs=list(c)) - w) / sigma
    assert float(z.std()) == pytest.approx(1.0, rel=0.01)
    assert abs(float(z.mean())) < 0.015


def test_prog_noise_keeps_the_sign_and_reflects_at_zero():
    w = weights()
    a = float(w.abs().max())
    c = (0.26348, 1.9650, -1.1731)
    out = mod(w, type=T.PROG_NOISE, std_dev=1.0, coeffs=list(c), g_max=25.0)
    assert bool(((out >= 0) == (w >= 0)).all())
    # far from 0 the reflection does not act: the std is a * sigma(|W|/a)
    far = w.abs() > 0.3 * a
    g = w.abs() / a
    sigma = a / 25.0 * (c[0] + c[1] * g + c[2] * g**2)
    z = ((out - w) / sigma)[far]
    assert float(z.std()) == pytest.approx(1.0, rel=0.015)


def test_pcm_noise_without_noise_is_the_clipped_weight():
    w = weights()
    out = mod(w, type=T.PCM_NOISE, std_dev=0.0, rel_to_actual_wmax=False, assumed_wmax=0.4)
    torch.testing.assert_close(out, w.clamp(-0.4, 0.4), rtol=1e-6, atol=1e-7)


def test_pcm_noise_std_at_gmax_is_programming_plus_read_noise():
    w = torch.ones(SHAPE)  # every weight at g_max
    out = mod(w, type=T.PCM_NOISE, std_dev=1.0)
    prog = (0.26348 + 1.9650 - 1.1731) / 25.0  # sigma_p(g_max) / g_max
    read = 0.0088 * math.sqrt(math.log((20.0 + 250e-9) / (2 * 250e-9)))
    # the read noise multiplies the programmed value (mean 1): add the variances
    assert float(out.std()) == pytest.approx(math.sqrt(prog**2 + read**2), rel=0.02)
    assert float(out.mean()) == pytest.approx(1.0, abs=0.002)


def test_pcm_noise_drift_variation_lowers_the_mean_after_a_day():
    w = torch.ones(SHAPE)
    out = mod(w, type=T.PCM_NOISE, std_dev=1.0, pcm_t_inference=86400.0)
    # nu = |sigma_nu xi| with sigma_nu(1) = 0.008: E[(t/t0)^-nu] below 1
    t = (86400.0 + 20.0) / 20.0
    expected = float(torch.exp(-0.008 * math.log(t) * torch.randn(400000).abs()).mean())
    assert float(out.mean()) == pytest.approx(expected, abs=0.003)


def test_pcm_noise_stuck_devices():
    w = weights()
    out = mod(w, type=T.PCM_NOISE, std_dev=0.0, pcm_prob_at_reset=0.3, pcm_prob_at_gmax=0.2)
    a = float(w.abs().max())
    assert float((out == 0).float().mean()) == pytest.approx(0.3, abs=0.006)
    assert float((out.abs() == a).float().mean()) == pytest.approx(0.2, abs=0.006)


@pytest.mark.parametrize("kind", [T.DROP_CONNECT, T.COPY, T.ADD_NORMAL])
def test_pdrop_zeroes_that_fraction(kind: WeightModifierType):
    w = weights() + 1.0  # no zeros of its own
    out = mod(w, type=kind, pdrop=0.25, std_dev=0.01)
    assert float((out == 0).float().mean()) == pytest.approx(0.25, abs=0.006)
    if kind is not T.ADD_NORMAL:
        kept = out != 0
        assert torch.equal(out[kept], w[kept])


def test_copy_last_column_keeps_the_bias_and_amax_ignores_it():
    w = weights()
    w[:, -1] = 100.0
    out = mod(w, type=T.ADD_NORMAL, std_dev=0.1, copy_last_column=True, pdrop=0.5)
    assert torch.equal(out[:, -1], w[:, -1])
    noise = (out - w)[:, :-1][out[:, :-1] != 0]
    assert float(noise.std()) == pytest.approx(0.1 * float(w[:, :-1].abs().max()), rel=0.02)


def test_none_returns_a_copy():
    w = weights()
    out = mod(w)
    assert torch.equal(out, w) and out.data_ptr() != w.data_ptr()


def test_draws_are_reproducible_and_advance_with_the_index():
    w = weights()
    kw = {"type": T.ADD_NORMAL, "std_dev": 0.1, "pdrop": 0.1}
    assert torch.equal(mod(w, 3, **kw), mod(w, 3, **kw))
    assert not torch.equal(mod(w, 3, **kw), mod(w, 4, **kw))
    assert not torch.equal(mod(w, 3, seed=12, **kw), mod(w, 3, **kw))


@pytest.mark.skipif(not engine.native_available(), reason="needs the compiled engine")
@pytest.mark.parametrize("kind", list(WeightModifierType))
def test_engine_and_plain_torch_give_the_same_bits(kind, monkeypatch):
    w = weights()
    kw = {"type": kind, "std_dev": 0.1, "res": 0.05, "sto_round": True, "pdrop": 0.1}
    native = mod(w, 5, **kw)
    monkeypatch.setattr(engine, "native_available", lambda: False)
    assert torch.equal(mod(w, 5, **kw), native)


# -- clipping and remapping by hand -----------------------------------------------------------
W = [[1.0, -3.0], [2.0, 0.5]]


@pytest.mark.parametrize(
    ("param", "bound"),
    [
        (WeightClipParameter(type=WeightClipType.FIXED_VALUE, fixed_value=1.5), 1.5),
        (WeightClipParameter(type="LayerGaussian", sigma=1.0), 2.1746647),  # sqrt(14.1875 / 3)
        (WeightClipParameter(type="LayerGaussian", sigma=2.0, fixed_value=3.0), 3.0),
        (WeightClipParameter(type=WeightClipType.AVERAGE_CHANNEL_MAX), 2.5),
        (WeightClipParameter(type="AverageChannelMax", fixed_value=2.0), 2.0),
    ],
)
def test_clip_bounds(param, bound):
    w = torch.tensor(W)
    assert clip_bound(w, param) == pytest.approx(bound, rel=1e-6)
    assert clip_weights(w, param)
    torch.testing.assert_close(w, torch.tensor(W).clamp(-bound, bound))


def test_clip_none_or_a_bound_below_zero_changes_nothing():
    for param in (WeightClipParameter(), WeightClipParameter(type="FixedValue")):
        w = torch.tensor(W)
        assert not clip_weights(w, param)
        assert w.tolist() == W


def test_remap_layerwise_and_channelwise():
    w = torch.tensor([[1.0, -4.0], [2.0, 0.5]])
    scales = remap_weights(w, None, WeightRemapParameter(type="LayerwiseSymmetric"))
    assert scales is not None and scales.tolist() == [4.0, 4.0]
    assert w.tolist() == [[0.25, -1.0], [0.5, 0.125]]
    scales = remap_weights(w, scales, WeightRemapParameter(type="ChannelwiseSymmetric"))
    assert scales is not None and scales.tolist() == [4.0, 2.0]
    assert w.tolist() == [[0.25, -1.0], [1.0, 0.25]]
    # to remapped_wmax = 0.5: the scales double
    scales = remap_weights(w, scales, WeightRemapParameter(type=WeightRemapType
                           .CHANNELWISE_SYMMETRIC, remapped_wmax=0.5))  # fmt: skip
    assert scales is not None and scales.tolist() == [8.0, 4.0]
    assert w.tolist() == [[0.125, -0.5], [0.5, 0.125]]


def test_remap_scale_range_is_limited():
    w = torch.tensor([[1.0, -4.0], [0.5, 0.25], [0.0, 0.0]])
    param = WeightRemapParameter(type="ChannelwiseSymmetric", max_scale_range=4.0)
    scales = remap_weights(w, None, param)
    # the scales would be [4, 0.5, 1 (kept: a zero row)]; limited to [0.5, 2]
    assert scales is not None and scales.tolist() == [2.0, 0.5, 1.0]
    assert w.tolist() == [[0.5, -2.0], [1.0, 0.5], [0.0, 0.0]]
    param = WeightRemapParameter(type="ChannelwiseSymmetric", max_scale_range=2.0,
                                 max_scale_ref=1.0)  # fmt: skip
    scales = remap_weights(torch.tensor([[4.0], [0.5]]), None, param)
    assert scales is not None and scales.tolist() == [2.0, 1.0]


# -- the flow on a tile ------------------------------------------------------------------------
def config(**kw: object) -> TileConfig:
    c = TileConfig(
        device=None,
        forward=IOParameters(is_perfect=True),
        backward=IOParameters(is_perfect=True),
        update=UpdateParameters(pulse_type=PulseType.NONE),
    )
    for key, value in kw.items():
        object.__setattr__(c, key, value)
    return c


def tile(**kw: object) -> InferenceTile:
    return InferenceTile(4, 6, rpu_config=config(**kw), seed=3)


X = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
D = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))


def test_before_the_first_update_there_is_no_modified_copy():
    t = tile(modifier=WeightModifierParameter(type="AddNormal", std_dev=0.2))
    assert t.modified_weights is None
    torch.testing.assert_close(t.forward(X), X @ t.weights.T)


def test_training_passes_use_the_modified_copy_and_the_update_the_stored_weights():
    t = tile(modifier=WeightModifierParameter(type="AddNormal", std_dev=0.2))
    w0 = t.weights.clone()
    t.update(X, D, lr=0.1)
    torch.testing.assert_close(t.weights, w0 - 0.1 * D.T @ X)  # exact SGD on the stored
    modified = t.modified_weights
    assert modified is not None and not torch.equal(modified, t.weights)
    torch.testing.assert_close(t.forward(X), X @ modified.T)
    torch.testing.assert_close(t.backward(D), D @ modified)
    # the next update still goes to the stored weights
    w1 = t.weights.clone()
    t.update(X, D, lr=0.1)
    torch.testing.assert_close(t.weights, w1 - 0.1 * D.T @ X)
    # eval: the stored weights
    t.set_test_mode(True)
    torch.testing.assert_close(t.forward(X), X @ t.weights.T)
    torch.testing.assert_close(t.backward(D), D @ t.weights)


def test_enable_during_test_uses_the_copy_in_eval_mode():
    t = tile(modifier=WeightModifierParameter(type="AddNormal", std_dev=0.2,
                                              enable_during_test=True))  # fmt: skip
    t.update(X, D, lr=0.1)
    t.set_test_mode(True)
    modified = t.modified_weights
    assert modified is not None
    torch.testing.assert_close(t.forward(X), X @ modified.T)


def test_clip_then_remap_then_modifier_after_each_update():
    t = tile(
        clip=WeightClipParameter(type="FixedValue", fixed_value=0.2),
        remap=WeightRemapParameter(type="ChannelwiseSymmetric", remapped_wmax=1.0),
        modifier=WeightModifierParameter(type="Discretize", res=0.5),
    )
    t.update(X, D, lr=0.1)
    scales = t.out_scales
    assert scales is not None
    # clipped at 0.2 before the remap: the logical weights stay within 0.2
    logical, _ = t.get_weights()
    assert float(logical.abs().max()) <= 0.2 + 1e-6
    assert torch.allclose(t.weights.abs().amax(dim=1), torch.ones(4))
    torch.testing.assert_close(logical, t.weights * scales.unsqueeze(1))
    # the copy is the discretised stored weights: steps of 0.5 of max |W| = 1
    modified = t.modified_weights
    assert modified is not None
    assert set(modified.unique().tolist()) <= {-1.0, -0.5, 0.0, 0.5, 1.0}
    # the output scales act on the training passes
    torch.testing.assert_close(t.forward(X), (X @ modified.T) * scales)
    torch.testing.assert_close(t.backward(D), (D * scales) @ modified)


def test_out_scales_keep_the_logical_update():
    """With output scales s the tile computes s * (W x); an update with the error of that
    output changes W by lr * (s d)^T x, the gradient of the stored weights."""
    t = tile(remap=WeightRemapParameter(type="LayerwiseSymmetric", remapped_wmax=0.5))
    t.remap_weights()
    scales = t.out_scales
    assert scales is not None
    w0 = t.weights.clone()
    t.record_update_inputs(X, D)
    t.apply_recorded_update(lr=0.1)
    # the update then remaps again: compare logical weights
    expected = (w0 - 0.1 * (D * scales).T @ X) * scales.unsqueeze(1)
    torch.testing.assert_close(t.get_weights()[0], expected)


def test_set_weights_drops_the_copy_and_the_scales():
    t = tile(
        remap=WeightRemapParameter(type="LayerwiseSymmetric"),
        modifier=WeightModifierParameter(type="AddNormal", std_dev=0.2),
    )
    t.update(X, D, lr=0.1)
    assert t.modified_weights is not None and t.out_scales is not None
    w = torch.randn(4, 6)
    t.set_weights(w)
    assert t.modified_weights is None and t.out_scales is None
    torch.testing.assert_close(t.forward(X), X @ w.T)


def test_tile_state_round_trip_resumes_bit_identically():
    kw = {
        "clip": WeightClipParameter(type="LayerGaussian"),
        "remap": WeightRemapParameter(type="ChannelwiseSymmetric"),
        "modifier": WeightModifierParameter(type="PCMNoise", std_dev=1.0, pdrop=0.1),
    }
    a = tile(**kw)
    for _ in range(3):
        a.update(X, D, lr=0.1)
    b = tile_from_state(tile_state(a))
    assert isinstance(b, InferenceTile)
    assert b.hwa_state.modifier == a.hwa_state.modifier
    assert b.hwa_state.modifier_index == a.hwa_state.modifier_index == 3
    assert torch.equal(b.forward(X), a.forward(X))
    for _ in range(2):
        a.update(X, D, lr=0.1)
        b.update(X, D, lr=0.1)
    assert torch.equal(a.weights, b.weights)
    assert a.modified_weights is not None and b.modified_weights is not None
    assert torch.equal(a.modified_weights, b.modified_weights)


def test_a_malformed_hwa_state_is_refused():
    a = tile(modifier=WeightModifierParameter(type="AddNormal", std_dev=0.1))
    state = tile_state(a)
    state["hwa"] = {**state["hwa"], "modifier": {"type": "Bogus"}}
    with pytest.raises(TileStateError, match="modifier.*'Bogus' is invalid"):
        tile_from_state(state)
    state["hwa"] = {**state["hwa"], "modifier": None, "modifier_index": -1}
    with pytest.raises(TileStateError, match="modifier_index"):
        tile_from_state(state)


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "kw", "message"),
    [
        (WeightModifierParameter, {"type": "Gaussian"},
         "WeightModifierParameter.type='Gaussian' is invalid; allowed: a WeightModifierType "
         "or one of 'None', 'Copy'"),
        (WeightModifierParameter, {"std_dev": -0.1},
         "WeightModifierParameter.std_dev=-0.1 is invalid; allowed: a number >= 0"),
        (WeightModifierParameter, {"pdrop": 1.5},
         "WeightModifierParameter.pdrop=1.5 is invalid; allowed: a probability in [0, 1]"),
        (WeightModifierParameter, {"pdrop": -0.5},
         "WeightModifierParameter.pdrop=-0.5 is invalid; allowed: a number >= 0"),
        (WeightModifierParameter, {"res": -1},
         "WeightModifierParameter.res=-1 is invalid; allowed: a number >= 0"),
        (WeightModifierParameter, {"assumed_wmax": 0.0},
         "WeightModifierParameter.assumed_wmax=0.0 is invalid; allowed: a number > 0"),
        (WeightModifierParameter, {"pcm_prob_at_reset": 0.6, "pcm_prob_at_gmax": 0.6},
         "WeightModifierParameter.pcm_prob_at_random=0.0 is invalid; allowed: a value that "
         "keeps pcm_prob_at_reset"),
        (WeightModifierParameter, {"sto_round": 1},
         "WeightModifierParameter.sto_round=1 is invalid; allowed: True or False"),
        (WeightClipParameter, {"type": "Max"},
         "WeightClipParameter.type='Max' is invalid; allowed: a WeightClipType or one of"),
        (WeightClipParameter, {"sigma": -1.0},
         "WeightClipParameter.sigma=-1.0 is invalid; allowed: a number >= 0"),
        (WeightRemapParameter, {"remapped_wmax": 0},
         "WeightRemapParameter.remapped_wmax=0 is invalid; allowed: a number > 0"),
        (WeightRemapParameter, {"max_scale_range": 0.5},
         "WeightRemapParameter.max_scale_range=0.5 is invalid; allowed: 0 (no limit) or a "
         "number >= 1"),
    ],
)  # fmt: skip
def test_bad_parameters_name_the_field_value_and_what_is_allowed(cls, kw, message):
    with pytest.raises(ValueError) as info:
        cls(**kw)
    assert str(info.value).startswith(message)


def test_a_rejected_validate_changes_nothing():
    p = WeightModifierParameter(type="AddNormal", std_dev=0.1)
    p.type, p.std_dev = "Discretize", -1.0
    with pytest.raises(ValueError, match="std_dev"):
        p.validate()
    assert p.type == "Discretize"  # not converted: validate stopped before changing it


def test_a_tile_refuses_a_bad_modifier_and_remap_changes_nothing_on_error():
    bad = WeightModifierParameter(type="AddNormal", std_dev=0.1)
    bad.std_dev = -1.0
    with pytest.raises(ValueError, match="std_dev=-1.0"):
        tile(modifier=bad)
    with pytest.raises(TypeError, match="modifier must be None or a WeightModifierParameter"):
        tile(modifier="AddNormal")
    t = tile()
    w = t.weights.clone()
    with pytest.raises(TypeError, match="remap must be None or a WeightRemapParameter"):
        t.remap_weights("LayerwiseSymmetric")  # type: ignore[arg-type]
    assert torch.equal(t.weights, w) and t.out_scales is None


@pytest.mark.skipif(not engine.native_available(), reason="compares with the compiled engine")
def test_a_reference_backend_tile_draws_its_modified_copy_in_plain_torch(monkeypatch):
    """``backend='reference'`` keeps the modified copy off the compiled engine, with the
    same bits as the compiled tile's."""
    modifier = WeightModifierParameter(type="PCMNoise", std_dev=1.0, pcm_t_inference=3600.0)
    native, plain = tile(modifier=modifier), tile(modifier=modifier)
    plain.backend = "reference"
    native.update(X, D, lr=0.1)

    def compiled_ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compiled engine ran for a backend='reference' tile")

    monkeypatch.setattr(engine, "modify_weights", compiled_ran)
    monkeypatch.setattr(engine, "row_abs_max", compiled_ran)
    plain.update(X, D, lr=0.1)
    copy = native.modified_weights
    assert copy is not None and plain.modified_weights is not None
    assert torch.equal(plain.modified_weights, copy)

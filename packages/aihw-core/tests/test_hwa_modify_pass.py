"""The weight modifier's one-pass kernel (engine contract §12): the compiled pass against its
plain-torch twin bit for bit for every kind and option, independent of the thread count and of
where the chunks fall, the exact rounding rules, DoReFa's tanh, the uniforms, bad input."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch

from aihw.core import engine
from aihw.core.inference import WeightModifierParameter, WeightModifierType, modify_weights
from aihw.core.modifier_settings import ModifierKind, ModifierSettings, PcmSettings
from aihw.core.reference import f32_math
from aihw.core.reference import modifiers as reference

pytestmark = pytest.mark.skipif(not engine.native_available(), reason="needs the compiled engine")

K = ModifierKind
T = WeightModifierType
SEEDS = (101, 202, 303, 404, 505, 606, 707)  # one per stream
COEFFS = (0.0105392, 0.0768, -0.046925)


def weights(shape: tuple[int, ...] = (7, 1171), seed: int = 0) -> torch.Tensor:
    """8197 weights: two whole chunks of 4096 and a ragged end, not a multiple of 4 per row."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) * 2 - 1) * 0.7


def both(w: torch.Tensor, settings: ModifierSettings, index: int = 9, threads: int = 1):
    native, twin = torch.empty_like(w), torch.empty_like(w)
    engine.modify_weights(w, native, settings, SEEDS, index, threads)
    reference.modify_weights(w, twin, settings, SEEDS, index)
    return native, twin


def pcm(drift: bool = True, stuck: bool = True, threshold: float = 0.5) -> PcmSettings:
    """PCMNoise at t = 1 h, with stuck devices and a zero threshold unless told."""
    g, a = 25.0, 0.7
    return PcmSettings(
        g_max=g,
        to_conductance=g / a,
        to_weight=a / g,
        inv_g_max=1 / g,
        prog_factor=1.0,
        zero_threshold=threshold,
        p_reset=0.05 * stuck,
        p_gmax_end=0.1 * stuck,
        p_random_end=0.15 * stuck,
        drift=drift,
        neg_log2_t=-math.log2(3620 / 20),
        read_factor=1.2,
    )


def settings_of(kind: ModifierKind, res: float, sto: bool, pdrop: float) -> ModifierSettings:
    return ModifierSettings(kind, amax=0.7, factor=0.05, res=res, scale=1.3, sto_round=sto,
                            pdrop=pdrop, coeffs=COEFFS, pcm=pcm())  # fmt: skip


SETTINGS = [
    settings_of(*case)
    for case in itertools.product(list(K), (0.0, 1 / 127, 0.1), (False, True), (0.0, 0.25))
]


@pytest.mark.parametrize(
    "settings", SETTINGS, ids=lambda s: f"{s.kind.name}-{s.res:.3g}-{s.sto_round}-{s.pdrop}"
)
def test_the_pass_equals_its_torch_twin_bit_for_bit(settings):
    native, twin = both(weights(), settings)
    assert torch.equal(native, twin)


@pytest.mark.parametrize("kind", [K.ADD_NORMAL, K.DISCRETIZE, K.PROG_NOISE, K.PCM_NOISE])
def test_results_do_not_depend_on_threads_or_on_in_place(kind):
    w = weights((64, 700))
    s = ModifierSettings(kind, amax=0.7, factor=0.05, res=0.02, sto_round=True, pdrop=0.1,
                         coeffs=COEFFS, pcm=pcm())  # fmt: skip
    one, two = torch.empty_like(w), torch.empty_like(w)
    engine.modify_weights(w, one, s, SEEDS, 3, 1)
    engine.modify_weights(w, two, s, SEEDS, 3, 2)
    in_place = w.clone()
    engine.modify_weights(in_place, in_place, s, SEEDS, 3, 2)
    assert torch.equal(one, two) and torch.equal(one, in_place)


def test_rounding_to_nearest_goes_half_away_from_zero_and_is_exact_for_large_values():
    res = 0.25
    steps = torch.tensor([0.5, -0.5, 1.5, -1.5, 2.49999, -2.50001, 0.0, -0.0, 3e7, -3e7, 1e-30])
    w = steps * res  # amax 1: D(w) = sign * floor(|w / res| + 0.5) * res
    s = ModifierSettings(K.DISCRETIZE, amax=1.0, res=res)
    native, twin = both(w, s)
    expected = torch.sign(steps) * torch.floor(steps.abs() + 0.5) * res
    assert torch.equal(native, expected) and torch.equal(twin, expected)


def test_stochastic_rounding_uses_24_bit_uniforms_and_is_unbiased():
    u = reference.modifier_uniforms(7, 0, torch.arange(200_000))
    assert u.dtype == torch.float32 and float(u.min()) >= 0.0 and float(u.max()) < 1.0
    assert torch.equal(u * 2**24, torch.floor(u * 2**24))  # multiples of 2^-24
    assert abs(float(u.mean()) - 0.5) < 0.003  # 5 sigma of 1/sqrt(12 n)
    w = torch.full((200_000,), 0.3 * 0.1)  # 0.3 of a step of 0.1
    native, _ = both(w, ModifierSettings(K.DISCRETIZE, amax=1.0, res=0.1, sto_round=True))
    up = float((native > 0.05).float().mean())
    assert abs(up - 0.3) < 0.005  # 5 sigma of sqrt(0.21 / n)
    step = float(torch.tensor(0.1))  # the float32 step
    assert set(torch.unique(native).tolist()) == {0.0, step}


def test_dorefa_pass_computes_tanh_to_float32_accuracy():
    w = weights()
    a = float(w.abs().max())
    param = WeightModifierParameter(type=T.DOREFA)
    scale = abs(0.6 / math.tanh(a))
    torch.testing.assert_close(
        modify_weights(w, param, 1, 0), torch.tanh(w) * scale, rtol=2e-6, atol=2e-7
    )
    for implementation in ("native", "reference"):
        assert torch.equal(
            modify_weights(w, param, 1, 0, implementation=implementation),
            modify_weights(w, param, 1, 0, implementation="native"),
        )


@pytest.mark.parametrize("kind", list(T))
def test_every_modifier_type_gives_the_same_bits_native_and_reference(kind):
    w = weights()
    param = WeightModifierParameter(type=kind, std_dev=0.1, res=0.05, sto_round=True,
                                    pdrop=0.1, copy_last_column=True, pcm_t_inference=3600.0)  # fmt: skip
    native = modify_weights(w, param, 4, 2, implementation="native")
    assert torch.equal(native, modify_weights(w, param, 4, 2, implementation="reference"))
    assert torch.equal(native[:, -1], w[:, -1])


@pytest.mark.parametrize("drift", [False, True])
@pytest.mark.parametrize("stuck", [False, True])
def test_pcm_pass_without_drift_or_stuck_devices(drift, stuck):
    native, twin = both(
        weights(), ModifierSettings(K.PCM_NOISE, amax=0.7, pcm=pcm(drift, stuck, 0.0))
    )
    assert torch.equal(native, twin)
    assert torch.equal(torch.signbit(native), torch.signbit(weights()))


def test_the_drop_fraction_and_the_copy_kind():
    w = weights((100, 1000)) + 2.0  # no weight is 0
    native, twin = both(w, ModifierSettings(K.COPY, pdrop=0.2))
    assert torch.equal(native, twin)
    dropped = float((native == 0).float().mean())
    assert abs(dropped - 0.2) < 0.002  # 5 sigma of sqrt(0.16 / n)
    assert torch.equal(native[native != 0], w[native != 0])


def test_bad_buffers_and_settings_are_refused_before_anything_changes():
    w = weights()
    out = torch.zeros_like(w)
    with pytest.raises(
        ValueError, match=r"out has shape \(7, 1170\); allowed: the weights' shape \(7, 1171\)"
    ):
        engine.modify_weights(w, torch.zeros(7, 1170), ModifierSettings(K.COPY), SEEDS, 0)
    with pytest.raises(ValueError, match="out must be a contiguous torch.float32 CPU tensor"):
        engine.modify_weights(w, out.t().contiguous().t(), ModifierSettings(K.COPY), SEEDS, 0)
    too_many = ModifierSettings(K.POLY, coeffs=tuple([0.1] * 17))
    with pytest.raises(ValueError, match="coeffs: 17 coefficients; at most 16"):
        engine.modify_weights(w, out, too_many, SEEDS, 0)
    assert not out.any()
    with pytest.raises(ValueError, match="coeffs.*a list of 1 to 16 finite numbers"):
        WeightModifierParameter(type=T.POLY, coeffs=[0.1] * 17)


def test_pcm_pass_is_the_twin_on_edge_values_and_stays_finite():
    """Zeros of both signs, subnormals, weights beyond the range, conductances far above
    g_max (large noise) and a drift beyond exp2's range (-126): the clamps of both agree."""
    edge = torch.tensor([0.0, -0.0, 1e-40, -1e-40, 1e-30, 0.7, -0.7, 5.0, -5.0, 3e38])
    w = torch.cat([edge, weights().reshape(-1)]).reshape(1, -1)
    for prog, neg_log2_t in [(1.0, -1000.0), (1e4, -math.log2(3620 / 20)), (1e30, 0.0)]:
        p = dataclasses.replace(pcm(), prog_factor=prog, neg_log2_t=neg_log2_t)
        native, twin = both(w, ModifierSettings(K.PCM_NOISE, amax=0.7, pcm=p))
        assert torch.equal(native, twin)
        assert bool(torch.isfinite(native).all())


def ulps(got: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """|got - exact| in units in the last place of the float32 nearest to exact."""
    near = exact.abs().to(torch.float32)
    ulp = torch.nextafter(near, torch.tensor(float("inf"))).double() - near.double()
    return (got.double() - exact).abs() / ulp


def test_log2_and_exp2_are_accurate_for_every_exponent():
    """log2_f32 over every normal exponent (2049 mantissas each), exp2_f32 over [-125, 127]:
    within 2.5 units in the last place; exact where the result is."""
    mantissas = torch.arange(0, 1 << 23, 4095, dtype=torch.int64)
    exponents = torch.arange(1, 255, dtype=torch.int64)
    bits = (exponents[:, None] << 23 | mantissas[None, :]).reshape(-1).to(torch.int32)
    x = bits.view(torch.float32)
    assert float(ulps(f32_math.log2_f32(x), torch.log2(x.double())).max()) < 2.5
    y = torch.linspace(-125, 127, 400_001)
    assert float(ulps(f32_math.exp2_f32(y), torch.exp2(y.double())).max()) < 2.5
    exact = f32_math.log2_f32(torch.tensor([1.0, 0.0, 8.0, 0.125]))
    assert exact.tolist() == [0.0, -127.0, 3.0, -3.0]
    assert f32_math.exp2_f32(torch.tensor([0.0, -3.0, 10.0])).tolist() == [1.0, 0.125, 1024.0]


def test_the_float32_math_is_accurate_on_its_ranges():
    y = torch.linspace(-87, 88, 200_001)
    rel = (f32_math.exp_f32(y).double() / torch.exp(y.double()) - 1).abs()
    assert float(rel.max()) < 5e-7
    t = torch.linspace(-10, 10, 200_001)
    assert float((f32_math.tanh_f32(t).double() - torch.tanh(t.double())).abs().max()) < 2e-7
    assert float(f32_math.exp_f32(torch.tensor([-200.0]))) < 2e-38  # clamped, no underflow trap


def test_the_settings_cache_reuses_only_unchanged_settings():
    from aihw.core.inference.modifiers import ModifierCache

    cache = ModifierCache()
    param = WeightModifierParameter(type=T.POLY, std_dev=0.1, coeffs=[0.1, 0.2])
    first = cache.settings(T.POLY, param, 0.5)
    assert cache.settings(T.POLY, param, 0.5) is first
    moved = cache.settings(T.POLY, param, 0.6)
    assert moved is not first and moved.amax == 0.6
    param.coeffs.append(0.3)  # type: ignore[union-attr]  # a list changed in place is seen
    assert cache.settings(T.POLY, param, 0.6).coeffs == (0.1, 0.2, 0.3)
    param.std_dev = 0.2
    assert cache.settings(T.POLY, param, 0.6).factor == pytest.approx(0.12)
    w = weights()
    assert torch.equal(modify_weights(w, param, 3, 1, cache=cache), modify_weights(w, param, 3, 1))

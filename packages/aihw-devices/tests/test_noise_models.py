"""The built-in noise models against their formulas (docs/physics/inference.md), through an
inference tile: programming-noise std per conductance level and the half-normal zero device,
the drift exponents' mean and spread per level, the drift factor, read-noise std at t, and
the compensation factors. Statistical tolerances are stated at each assertion (samples of
20 000 devices per level: the standard error of a std is about 0.5 %, of a mean 0.7 %)."""

from __future__ import annotations

import math

import pytest
import torch

from aihw.core import engine
from aihw.core.io_parameters import IOParameters
from aihw.core.tiles import InferenceTile, create_tile
from aihw.devices import (
    CustomDriftPCMLikeNoiseModel,
    DualPairConductanceConverter,
    GlobalDriftCompensation,
    InferenceRPUConfig,
    PCMLikeNoiseModel,
    PerColumnDriftCompensation,
    SinglePairConductanceConverter,
    StateIndependentNoiseModel,
)

N = 20_000
LEVELS = (1.0, 0.5, 0.1, 0.01)  # weights; max|W| = 1 maps to g_max = 25 microsiemens


def exact_forward() -> IOParameters:
    """A non-exact periphery (so the tile is an InferenceTile) that computes exactly."""
    return IOParameters(
        inp_res=0.0, out_res=0.0, out_noise=0.0, out_bound=0.0, bound_management="None"
    )


def tile_at_levels(model, compensation=None, seed=0) -> InferenceTile:
    """A tile whose row ``i`` holds ``N`` weights at ``LEVELS[i]``."""
    config = InferenceRPUConfig(
        forward=exact_forward(), noise_model=model, drift_compensation=compensation
    )
    tile = create_tile(None, len(LEVELS), N, seed=seed, rpu_config=config)
    assert isinstance(tile, InferenceTile)
    tile.set_weights(torch.tensor(LEVELS).unsqueeze(1).expand(-1, N).contiguous())
    return tile


def pcm_sigma(g: float) -> float:
    g_r = g / 25.0
    return 0.26348 + 1.9650 * g_r - 1.1731 * g_r**2


def folded_mean(mu: float, sigma: float) -> float:
    """E|mu + sigma z|."""
    phi = math.exp(-(mu**2) / (2 * sigma**2))
    return sigma * math.sqrt(2 / math.pi) * phi + mu * math.erf(mu / (sigma * math.sqrt(2)))


def test_pcm_programming_noise_std_per_level_and_the_half_normal_zero_device():
    tile = tile_at_levels(PCMLikeNoiseModel())
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    g_plus, g_minus = programmed.conductances
    for row, w in enumerate(LEVELS):
        g = 25.0 * w
        if w >= 0.1:  # g+ = target + sigma_p(g) z (the clamp at 0 negligible: g > 5 sigma)
            mean_tolerance = 4 * pcm_sigma(g) / math.sqrt(N)
            assert g_plus[row].mean().item() == pytest.approx(g, abs=mean_tolerance)
            assert g_plus[row].std().item() == pytest.approx(pcm_sigma(g), rel=0.03)
        # the zero side: max(0.26348 z, 0), a half normal: mean s/sqrt(2 pi),
        # std s sqrt(1/2 - 1/(2 pi)), half of the devices exactly at 0
        s = 0.26348
        half_std = s * math.sqrt(0.5 - 1 / (2 * math.pi))
        mean_tolerance = 4 * half_std / math.sqrt(N)  # 4 standard errors
        assert g_minus[row].mean().item() == pytest.approx(
            s / math.sqrt(2 * math.pi), abs=mean_tolerance
        )
        assert g_minus[row].std().item() == pytest.approx(half_std, rel=0.03)
        assert (g_minus[row] == 0).float().mean().item() == pytest.approx(0.5, abs=0.015)
    # the programmed weights are the pair's difference over the scale
    weights = tile.get_weights()[0]
    torch.testing.assert_close(weights, (g_plus - g_minus) / programmed.scale)
    assert programmed.scale.item() == pytest.approx(25.0)


def test_pcm_drift_exponents_mean_and_spread_per_level():
    tile = tile_at_levels(PCMLikeNoiseModel(prog_noise_scale=0.0))
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    nu = programmed.nu[0]  # the g+ devices, at the target levels
    for row, w in enumerate(LEVELS):
        log_g = math.log(w)
        mu = min(max(-0.0155 * log_g + 0.0244, 0.049), 0.1)
        sigma = min(max(-0.0125 * log_g - 0.0059, 0.008), 0.045)
        # nu = |mu + sigma z|: the folded normal's mean, within 1 %
        assert nu[row].mean().item() == pytest.approx(folded_mean(mu, sigma), rel=0.01)
        if mu / sigma > 4:  # the fold does not matter: the spread is sigma, within 3 %
            assert nu[row].std().item() == pytest.approx(sigma, rel=0.03)
    # the zero devices (g_r floored at 1e-7): mu = 0.1, sigma = 0.045
    assert programmed.nu[1].mean().item() == pytest.approx(folded_mean(0.1, 0.045), rel=0.01)


@pytest.mark.parametrize("t_inference", [0.0, 1.0, 3600.0, 86400.0, 3.15e7])
def test_pcm_drift_factor_is_t_over_t0_to_the_minus_nu(t_inference):
    model = PCMLikeNoiseModel(prog_noise_scale=0.0, read_noise_scale=0.0)
    tile = tile_at_levels(model)
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    tile.drift_weights(t_inference)
    factor = ((t_inference + 20.0) / 20.0) ** -programmed.nu[0].double()
    expected = torch.tensor(LEVELS, dtype=torch.float64).unsqueeze(1) * factor
    torch.testing.assert_close(tile.get_weights()[0].double(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("t_inference", [0.0, 86400.0])
def test_pcm_read_noise_std_at_t(t_inference):
    model = PCMLikeNoiseModel(prog_noise_scale=0.0, drift_scale=0.0)
    tile = tile_at_levels(model)
    tile.program_weights()
    tile.drift_weights(t_inference)
    weights = tile.get_weights()[0]
    t = t_inference + 20.0
    growth = math.sqrt(math.log((t + 250e-9) / (2 * 250e-9)))
    for row, w in enumerate(LEVELS[:3]):  # at 0.01 the clamp at 0 is no longer negligible
        q_s = min(0.0088 / max(w**0.65, 1e-3), 0.2)
        relative = weights[row] / w
        assert relative.mean().item() == pytest.approx(1.0, abs=4 * q_s * growth / math.sqrt(N))
        assert relative.std().item() == pytest.approx(q_s * growth, rel=0.03)


def test_each_drift_draws_new_read_noise_from_the_programmed_state():
    tile = tile_at_levels(PCMLikeNoiseModel())
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    nu = programmed.nu.clone()
    tile.drift_weights(3600.0)
    first = tile.weights.clone()
    tile.drift_weights(3600.0)
    assert not torch.equal(first, tile.weights)  # new read noise, the same statistics
    assert torch.equal(nu, programmed.nu)  # nu was drawn once, at programming
    assert (first - tile.weights).std().item() < 0.2


def test_state_independent_model_statistics():
    model = StateIndependentNoiseModel(prog_std=0.5, nu_mean=0.06, nu_std=0.01, read_std=0.05)
    tile = tile_at_levels(model)
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    for row in range(3):
        # the same std at every level, within 3 %
        assert programmed.conductances[0][row].std().item() == pytest.approx(0.5, rel=0.03)
        assert programmed.nu[0][row].mean().item() == pytest.approx(0.06, rel=0.01)
        assert programmed.nu[0][row].std().item() == pytest.approx(0.01, rel=0.03)
    model = StateIndependentNoiseModel(prog_std=0.0, drift_scale=0.0, read_std=0.05)
    tile = tile_at_levels(model)
    tile.program_weights()
    tile.drift_weights(0.0)
    growth = math.sqrt(math.log((20.0 + 250e-9) / (2 * 250e-9)))
    # g+ gets read noise s = 0.05 * growth microsiemens; g- (at 0) becomes max(s z, 0), of
    # std s sqrt(1/2 - 1/(2 pi)); the weight is their difference over the scale 25
    s = 0.05 * growth
    expected = math.hypot(s, s * math.sqrt(0.5 - 1 / (2 * math.pi))) / 25.0
    assert tile.get_weights()[0][1].std().item() == pytest.approx(expected, rel=0.03)


def test_custom_drift_model_interpolates_its_table():
    table = {"g_lst": [0.0, 10.0, 25.0], "nu_mean_lst": [0.1, 0.06, 0.02],
             "nu_std_lst": [0.0, 0.0, 0.0]}  # fmt: skip
    model = CustomDriftPCMLikeNoiseModel(prog_noise_scale=0.0, custom_drift_model=table)
    tile = tile_at_levels(model)
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    nu = programmed.nu[0][:, 0]
    # targets 25, 12.5, 2.5 and 0.25 microsiemens, interpolated linearly
    expected = [0.02, 0.06 - 0.04 * 2.5 / 15, 0.1 - 0.04 * 0.25, 0.1 - 0.04 * 0.025]
    torch.testing.assert_close(nu, torch.tensor(expected), rtol=1e-5, atol=1e-7)


def test_dual_pair_converter_splits_the_weight_and_averages_the_noise():
    converter = DualPairConductanceConverter(f_lst=(1.0, 1.0))
    weights = torch.tensor([[1.0, -0.5, 0.0, 0.25]])
    conductances, scale = converter.to_conductances(weights)
    assert len(conductances) == 4
    torch.testing.assert_close(converter.to_weights(conductances, scale), weights)
    torch.testing.assert_close(conductances[0], torch.tensor([[25.0, 0.0, 0.0, 6.25]]))
    torch.testing.assert_close(conductances[3], torch.tensor([[0.0, 12.5, 0.0, 0.0]]))
    # two pairs with independent programming noise: the weight noise is 1/sqrt(2) of one
    # pair's at the same conductances (within 4 %)
    single = tile_at_levels(PCMLikeNoiseModel(g_converter=SinglePairConductanceConverter()))
    dual = tile_at_levels(PCMLikeNoiseModel(g_converter=converter))
    single.program_weights()
    dual.program_weights()
    ratio = dual.get_weights()[0][1].std() / single.get_weights()[0][1].std()
    assert ratio.item() == pytest.approx(1 / math.sqrt(2), rel=0.04)


def test_converters_reject_bad_ranges():
    with pytest.raises(ValueError, match=r"SinglePairConductanceConverter.g_min=30 is invalid; "
                       r"allowed: a number < g_max=25.0"):  # fmt: skip
        SinglePairConductanceConverter(g_min=30)
    with pytest.raises(ValueError, match=r"g_max=-1 is invalid; allowed: a number > 0.0"):
        SinglePairConductanceConverter(g_max=-1)
    with pytest.raises(ValueError, match=r"DualPairConductanceConverter.f_lst=\(1.0, 0.0\) is "
                       r"invalid; allowed: two numbers > 0"):  # fmt: skip
        DualPairConductanceConverter(f_lst=(1.0, 0.0))


@pytest.mark.parametrize("compensation", [GlobalDriftCompensation(), PerColumnDriftCompensation()])
def test_compensation_factor_is_the_ratio_of_mean_read_outs(compensation):
    tile = tile_at_levels(PCMLikeNoiseModel(), compensation)
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    before = tile.weights.clone()
    tile.drift_weights(86400.0)
    after = tile.weights
    # the forward is exact here: the read-out of the identity is W^T
    if isinstance(compensation, GlobalDriftCompensation):
        expected = before.abs().mean() / after.abs().mean()
    else:
        expected = before.abs().mean(dim=1) / after.abs().mean(dim=1)
    assert programmed.alpha is not None
    torch.testing.assert_close(programmed.alpha, expected, rtol=1e-5, atol=0)
    # after a day the PCM weights have drifted by ((86400 + 20) / 20) ** -0.05 or so
    assert 1.4 < float(programmed.alpha.mean()) < 1.8
    # applied in eval mode only
    x = torch.randn(3, N)
    plain = tile.forward(x)
    tile.set_test_mode(True)
    torch.testing.assert_close(tile.forward(x), plain * programmed.alpha, rtol=1e-6, atol=1e-6)
    tile.set_test_mode(False)
    torch.testing.assert_close(tile.forward(x), plain)


def test_the_same_seed_gives_the_same_programming_and_drift():
    model = PCMLikeNoiseModel()
    a, b = tile_at_levels(model, seed=5), tile_at_levels(model, seed=5)
    for tile in (a, b):
        tile.program_weights(seed=11)
        tile.drift_weights(60.0)
    assert torch.equal(a.weights, b.weights)
    a.program_weights(seed=11)  # restarts the streams: the same programming again
    b.program_weights(seed=12)
    assert not torch.equal(a.weights, b.weights)
    c = tile_at_levels(model, seed=5)
    c.program_weights(seed=11)
    assert torch.equal(a.weights, c.weights)
    c.program_weights()  # continues the streams: new noise from the same reference
    assert not torch.equal(a.weights, c.weights)


@pytest.mark.skipif(not engine.native_available(), reason="compares with the compiled engine")
def test_a_reference_backend_tile_programs_and_drifts_in_plain_torch(monkeypatch):
    """``backend='reference'`` keeps the programming and drift draws off the compiled
    engine, with the same numbers as the compiled tile."""
    native, plain = tile_at_levels(PCMLikeNoiseModel()), tile_at_levels(PCMLikeNoiseModel())
    plain.backend = "reference"
    native.program_weights()
    native.drift_weights(3600.0)

    def compiled_ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compiled engine ran for a backend='reference' tile")

    monkeypatch.setattr(engine, "diffuse", compiled_ran)
    plain.program_weights()
    plain.drift_weights(3600.0)
    assert torch.equal(plain.weights, native.weights)

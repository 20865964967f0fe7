"""The ReRAM noise models and the single-device converter against their formulas
(docs/physics/inference.md#reram-models), through an inference tile. Samples of 20 000
devices per level: the standard error of a std is about 0.5 %, of a mean 0.7 % of the std;
tolerances are stated at each assertion."""

from __future__ import annotations

import io
import math

import pytest
import torch

from aihw.core.inference import CONVERTERS
from aihw.core.inference.converters import converter_from_state, converter_state
from aihw.core.io_parameters import IOParameters
from aihw.core.tiles import InferenceTile, create_tile
from aihw.core.tiles.state import tile_from_state, tile_state
from aihw.devices import (
    InferenceRPUConfig,
    ReRamCMONoiseModel,
    ReRamWan2022NoiseModel,
    SingleDeviceConductanceConverter,
    list_noise_models,
)

N = 20_000
LEVELS = (1.0, 0.5, 0.1, 0.0, -0.5)  # weights; max|W| = 1


def tile_at_levels(model, seed: int = 0) -> InferenceTile:
    """A tile whose row ``i`` holds ``N`` weights at ``LEVELS[i]`` (exact periphery)."""
    forward = IOParameters(
        inp_res=0.0, out_res=0.0, out_noise=0.0, out_bound=0.0, bound_management="None"
    )
    config = InferenceRPUConfig(forward=forward, noise_model=model, drift_compensation=None)
    tile = create_tile(None, len(LEVELS), N, seed=seed, rpu_config=config)
    assert isinstance(tile, InferenceTile)
    tile.set_weights(torch.tensor(LEVELS).unsqueeze(1).expand(-1, N).contiguous())
    return tile


def wan_sigma(g: float, t: float, g_max: float = 25.0) -> float:
    coefficients = {
        1.0: (0.348, 16.030, -43.853, 45.393, -16.815),
        86400.0: (0.701, 22.086, -50.773, 47.095, -16.458),
    }[t]
    return sum(c * (g / g_max) ** k for k, c in enumerate(coefficients))


def test_both_models_are_registered_and_listed():
    names = {info.name for info in list_noise_models()}
    assert {"ReRamWan2022NoiseModel", "ReRamCMONoiseModel"} <= names
    assert CONVERTERS["SingleDeviceConductanceConverter"] is SingleDeviceConductanceConverter


def test_single_device_converter_maps_the_weight_range_onto_the_conductance_range():
    converter = SingleDeviceConductanceConverter(g_max=80.0, g_min=10.0)
    weights = torch.tensor([[-2.0, -1.0, 0.0, 1.0, 2.0]])
    (g,), scale = converter.to_conductances(weights)
    torch.testing.assert_close(g, torch.tensor([[10.0, 27.5, 45.0, 62.5, 80.0]]))
    assert scale.item() == pytest.approx(70.0 / 4.0)
    torch.testing.assert_close(converter.to_weights([g], scale), weights)
    assert converter_from_state(converter_state(converter)) == converter
    with pytest.raises(ValueError, match="g_min"):
        SingleDeviceConductanceConverter(g_max=5.0, g_min=9.0)
    with pytest.raises(ValueError, match="takes 1 conductance"):
        converter.to_weights([g, g], scale)


def test_wan2022_programming_and_reads_follow_the_published_deviation():
    tile = tile_at_levels(ReRamWan2022NoiseModel())
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    g_plus = programmed.conductances[0]
    for row, w in enumerate(LEVELS[:2]):  # g+ at 25 w µS, > 5 sigma: the clamp at 0 negligible
        g = 25.0 * w
        sigma = wan_sigma(g, 1.0)
        assert g_plus[row].mean().item() == pytest.approx(g, abs=4 * sigma / math.sqrt(N))
        assert g_plus[row].std().item() == pytest.approx(sigma, rel=0.03)
    # a read after one day: around the target again, with the one-day deviation
    tile.drift_weights(86400.0)
    weights = tile.get_weights()[0]
    for row, w in enumerate(LEVELS[:2]):
        g = 25.0 * w
        sigma_w = wan_sigma(g, 86400.0) / 25.0
        zero_side = wan_sigma(0.0, 86400.0) * math.sqrt(0.5 - 1 / (2 * math.pi)) / 25.0
        expected = math.hypot(sigma_w, zero_side)  # g- at 0: a half normal
        assert weights[row].std().item() == pytest.approx(expected, rel=0.04)


def test_wan2022_refuses_times_it_has_no_statistics_for_and_changes_nothing():
    tile = tile_at_levels(ReRamWan2022NoiseModel())
    tile.program_weights()
    before = tile.weights.clone()
    with pytest.raises(ValueError, match=r"t_inference=3600\.0 is invalid.*1, 86400, 172800"):
        tile.drift_weights(3600.0)
    assert torch.equal(before, tile.weights)
    tile.drift_weights(172800)  # the listed times work, ints too


def test_wan2022_coefficient_reference_scales_the_noise_with_g_max():
    plain = ReRamWan2022NoiseModel(g_max=80.0)
    scaled = ReRamWan2022NoiseModel(g_max=80.0, coeff_g_max_reference=40.0)
    g = torch.tensor([40.0])
    ratio = scaled.deviation_std(g, 1.0) / plain.deviation_std(g, 1.0)
    assert ratio.item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="coeff_dic"):
        ReRamWan2022NoiseModel(coeff_dic={1.0: []})


def test_cmo_programming_noise_is_linear_in_the_target():
    model = ReRamCMONoiseModel(acceptance_range=2.0)
    tile = tile_at_levels(model)
    tile.program_weights()
    programmed = tile.inference_state.programmed
    assert programmed is not None
    g = programmed.conductances[0]
    assert programmed.conductances.shape[0] == 1  # one device per weight
    for row, w in enumerate(LEVELS):
        target = 48.6 + 39.6 * w  # g_mid + w (g_max - g_min) / 2
        sigma = 0.0112185391 + 0.01129027418 * target
        assert g[row].mean().item() == pytest.approx(target, abs=4 * sigma / math.sqrt(N))
        assert g[row].std().item() == pytest.approx(sigma, rel=0.03)


@pytest.mark.parametrize("t_inference", [1.0, 3600.0, 86400.0 * 365])
def test_cmo_relaxation_mean_and_spread_grow_with_log_t(t_inference):
    model = ReRamCMONoiseModel(prog_noise_scale=0.0, read_noise_scale=0.0)
    tile = tile_at_levels(model)
    tile.program_weights()
    tile.drift_weights(t_inference)
    programmed = tile.inference_state.programmed
    assert programmed is not None
    shift = -0.08900206 * math.log(t_inference)
    spread = 0.04201137 * math.log(t_inference) + 0.41183342
    weights = tile.get_weights()[0]
    scale = programmed.scale.item()
    for row in (1, 2, 3):  # levels well inside [g_min, g_max]: the clip is negligible
        expected_mean = LEVELS[row] + shift / scale
        tolerance = 4 * spread / scale / math.sqrt(N)
        assert weights[row].mean().item() == pytest.approx(expected_mean, abs=tolerance)
        assert weights[row].std().item() == pytest.approx(spread / scale, rel=0.03)


def test_cmo_read_noise_and_time_zero():
    model = ReRamCMONoiseModel(prog_noise_scale=0.0, drift_scale=0.0)
    tile = tile_at_levels(model)
    tile.program_weights()
    tile.drift_weights(0.0)  # t = 0: the programmed conductances, no read noise
    torch.testing.assert_close(
        tile.get_weights()[0], torch.tensor(LEVELS).unsqueeze(1).expand(-1, N)
    )
    t = 86400.0
    tile.drift_weights(t)
    programmed = tile.inference_state.programmed
    assert programmed is not None
    growth = math.sqrt(math.log((t + 1e-6) / 2e-6))
    weights = tile.get_weights()[0]
    for row in (1, 2, 3):
        target = 48.6 + 39.6 * LEVELS[row]
        sigma = 0.0277316483 * math.log10(target) * growth / programmed.scale.item()
        assert weights[row].std().item() == pytest.approx(sigma, rel=0.03)
    # every read lies in [g_min, g_max]
    g = tile.weights * programmed.scale + 48.6
    assert g.min().item() >= 9.0 - 1e-3 and g.max().item() <= 88.2 + 1e-3


def test_cmo_validation_names_the_field():
    with pytest.raises(ValueError, match=r"acceptance_range=0\.02 is invalid.*0\.2, 2"):
        ReRamCMONoiseModel(acceptance_range=0.02)
    with pytest.raises(ValueError, match="decay_std"):
        ReRamCMONoiseModel(decay_std=(1.0,))
    with pytest.raises(ValueError, match="g_min > 0"):
        ReRamCMONoiseModel(g_converter=SingleDeviceConductanceConverter(g_min=0.0))
    with pytest.raises(ValueError, match="read_noise_scale"):
        ReRamCMONoiseModel(read_noise_scale=-1.0)


@pytest.mark.parametrize(
    "model", [ReRamWan2022NoiseModel(), ReRamCMONoiseModel()], ids=lambda m: m.name
)
def test_programmed_state_round_trips_through_a_checkpoint(model):
    tile = tile_at_levels(model, seed=3)
    tile.program_weights()
    tile.drift_weights(86400.0)
    buffer = io.BytesIO()
    torch.save(tile_state(tile), buffer)
    loaded = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    fresh = tile_from_state(loaded)
    assert isinstance(fresh, InferenceTile)
    assert fresh.inference_state.noise_model == tile.inference_state.noise_model
    assert torch.equal(fresh.weights, tile.weights)
    fresh.drift_weights(86400.0)
    tile.drift_weights(86400.0)
    assert torch.equal(fresh.weights, tile.weights)  # the same counters: the same read

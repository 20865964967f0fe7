"""N-pair and custom-level conductance converters: hand-computed conductances, round
trips, programming and drift through them, checkpoints and bad input."""

from __future__ import annotations

import io

import pytest
import torch

from aihw.core.inference import NotInvertibleError
from aihw.core.inference.converters import converter_from_state, converter_state
from aihw.core.io_parameters import IOParameters
from aihw.devices import (
    CustomPairConductanceConverter,
    InferenceRPUConfig,
    NPairConductanceConverter,
    PCMLikeNoiseModel,
    StateIndependentNoiseModel,
)
from aihw.nn import AnalogLinear

# Levels of two pairs (f = 1, 2) standing for the weights -6, -3, 0, 3, 6 microsiemens.
G_LST = [
    [0.0, 0.0, 0.0, 1.0, 2.0],
    [2.0, 1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 1.0, 2.0],
    [2.0, 1.0, 0.0, 0.0, 0.0],
]


def test_npair_fills_the_least_significant_pair_first():
    converter = NPairConductanceConverter([1, 3], g_max=25.0)
    weights = torch.tensor([[1.0, -0.5, 0.1, 0.0]])
    g, scale = converter.to_conductances(weights)
    # scale = 25 * (1 + 3) / max|W| = 100: W = 1 is 100 uS of pair sum, 25 on pair 0 and
    # (100 - 25) / 3 = 25 on pair 1; W = -0.5 is 25 on pair 0 and 25 / 3 on pair 1.
    assert scale.item() == pytest.approx(100.0)
    expected = [
        [25.0, 0.0, 10.0, 0.0],
        [0.0, 25.0, 0.0, 0.0],
        [25.0, 0.0, 0.0, 0.0],
        [0.0, 25.0 / 3, 0.0, 0.0],
    ]
    torch.testing.assert_close(torch.stack(g)[:, 0], torch.tensor(expected))
    torch.testing.assert_close(converter.to_weights(g, scale), weights)


def test_npair_with_g_min_and_one_pair_matches_the_single_pair():
    weights = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    converter = NPairConductanceConverter([1.0], g_max=20.0, g_min=2.0)
    g, scale = converter.to_conductances(weights)
    assert scale.item() == pytest.approx(18.0 / weights.abs().max().item())
    assert min(t.min().item() for t in g) == pytest.approx(2.0)
    assert max(t.max().item() for t in g) == pytest.approx(20.0)
    torch.testing.assert_close(converter.to_weights(g, scale), weights, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("f_lst", [[1.0, 2.0, 4.0], [0.5, 1.0], [3.0, 1.0]])
def test_npair_round_trips_any_weights(f_lst):
    weights = torch.randn(6, 7, generator=torch.Generator().manual_seed(1))
    converter = NPairConductanceConverter(f_lst)
    g, scale = converter.to_conductances(weights)
    assert len(g) == converter.n_conductances == 2 * len(f_lst)
    assert all(t.min() >= 0.0 and t.max() <= 25.0 + 1e-5 for t in g)
    torch.testing.assert_close(converter.to_weights(g, scale), weights, atol=1e-6, rtol=1e-5)
    assert converter_from_state(converter_state(converter)) == converter


def test_custom_levels_interpolate_and_round_trip():
    converter = CustomPairConductanceConverter([1.0, 2.0], G_LST)
    weights = torch.tensor([-1.0, -0.75, -0.5, 0.0, 0.25, 1.0])
    g, scale = converter.to_conductances(weights)
    # max|levels| = 6 uS, so scale = 6; W = 0.25 is 1.5 uS, halfway between levels 0 and
    # 3: g+ = 0.5 on both pairs; W = -0.75 is -4.5 uS, halfway between -6 and -3.
    assert scale.item() == pytest.approx(6.0)
    torch.testing.assert_close(g[0], torch.tensor([0.0, 0.0, 0.0, 0.0, 0.5, 2.0]))
    torch.testing.assert_close(g[1], torch.tensor([2.0, 1.5, 1.0, 0.0, 0.0, 0.0]))
    torch.testing.assert_close(g[2], g[0])
    torch.testing.assert_close(converter.to_weights(g, scale), weights)
    state = converter_state(converter)
    assert state["params"]["g_lst"] == G_LST  # plain lists in checkpoints
    assert converter_from_state(state) == converter


def test_custom_levels_that_do_not_invert_are_refused_unless_asked():
    bad = [[0.0, 1.0, 3.0], [2.0, 1.0, 0.0]]  # levels -2, 0, 3: not evenly spaced
    with pytest.raises(NotInvertibleError, match=r"g_lst=.*is invalid; allowed: levels"):
        CustomPairConductanceConverter([1.0], bad)
    with pytest.raises(ArithmeticError):  # the reference toolkit's exception type
        CustomPairConductanceConverter([1.0], bad)
    distorting = CustomPairConductanceConverter([1.0], bad, invertibility_test=False)
    g, scale = distorting.to_conductances(torch.tensor([1.0, -1.0]))
    torch.testing.assert_close(distorting.to_weights(g, scale), torch.tensor([1.0, -2.0 / 3]))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: NPairConductanceConverter([1.0, -1.0]), r"f_lst=\[1.0, -1.0\] is invalid"),
        (lambda: NPairConductanceConverter([]), r"f_lst=\[\] is invalid"),
        (lambda: NPairConductanceConverter([1.0], g_max=-1.0), r"g_max=-1.0 is invalid"),
        (lambda: CustomPairConductanceConverter([1.0], [[0.0, 1.0]]), r"g_lst=.* is invalid"),
        (
            lambda: CustomPairConductanceConverter([1.0], [[0.0, 1.0], [1.0, -1.0]]),
            r"conductances >= 0",
        ),
        (
            lambda: CustomPairConductanceConverter([1.0], [[0.0, 1.0], [1.0, 0.0, 0.0]]),
            r"the same length",
        ),
        (
            lambda: CustomPairConductanceConverter([1.0], [[1.0, 1.0], [1.0, 1.0]]),
            r"at least one stands for a weight != 0",
        ),
    ],
)
def test_bad_converter_parameters_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


#: A forward without noise or quantization (an exact forward would make a
#: floating-point tile, which cannot be programmed).
EXACT = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.0, bound_management="None",
                     out_bound=0.0)  # fmt: skip


def exact_config(converter) -> InferenceRPUConfig:
    return InferenceRPUConfig(forward=EXACT, noise_model=PCMLikeNoiseModel(g_converter=converter))


@pytest.mark.parametrize(
    "converter",
    [NPairConductanceConverter([1.0, 2.0, 4.0]), CustomPairConductanceConverter([1.0, 2.0], G_LST)],
)
def test_programming_drift_and_checkpoints_work_through_the_converters(converter):
    layer = AnalogLinear(6, 4, rpu_config=exact_config(converter), seed=3)
    reference = layer.get_weights()[0]
    layer.program_analog_weights(seed=1)
    state = layer.analog_tile.inference_state.programmed
    assert state.conductances.shape == (converter.n_conductances, 4, 6)
    programmed = layer.get_weights()[0]
    assert not torch.equal(programmed, reference)
    # the weights programmed are the reference read back through the converter, with noise
    assert (programmed - reference).abs().max() < reference.abs().max()
    layer.drift_analog_weights(3600.0)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    fresh = AnalogLinear(6, 4, rpu_config=exact_config(converter), seed=3)
    fresh.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    assert fresh.analog_tile.noise_model.g_converter == converter
    assert torch.equal(fresh.get_weights()[0], layer.get_weights()[0])
    layer.drift_analog_weights(86400.0)  # later drifts continue the same streams
    fresh.drift_analog_weights(86400.0)
    assert torch.equal(fresh.get_weights()[0], layer.get_weights()[0])


def test_more_pairs_average_the_programming_noise_of_small_weights():
    # A state-independent model: each device gets noise of std prog_std (uS), clamped at
    # 0; the weight error is the sum of the four devices' errors over the scale.
    prog_std = 0.5
    model = StateIndependentNoiseModel(
        prog_std=prog_std, g_converter=NPairConductanceConverter([1.0, 1.0])
    )
    config = InferenceRPUConfig(forward=EXACT, noise_model=model)
    layer = AnalogLinear(200, 200, bias=False, rpu_config=config, seed=5)
    weights = torch.full((200, 200), 0.1)
    weights[0, 0] = 1.0  # max|W| = 1: scale = 25 * 2 / 1 = 50
    layer.set_weights(weights)
    layer.program_analog_weights(seed=0)
    error = (layer.get_weights()[0] - weights)[1:]
    # W = 0.1 is 5 uS on g+_0; g-_0, g+_1, g-_1 at 0 get max(0 + 0.5 xi, 0) (half-normal);
    # g+_0 is two-sided: var = 0.25, each clamped one var = 0.25 (1/2 - 1/(2 pi)).
    half = prog_std**2 * (0.5 - 1 / (2 * torch.pi))
    expected_std = (prog_std**2 + 3 * half) ** 0.5 / 50
    assert error.std().item() == pytest.approx(expected_std, rel=0.03)

"""calibrate_input_ranges: each strategy against its hand-computed range, the exact pass
of MAX and CACHE_QUANTILE, which layers it touches, and bad arguments."""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from torch import nn

from aihw.devices import InferenceRPUConfig, InputRangeParameter, PrePostProcessingParameter
from aihw.nn import (
    AnalogLinear,
    AnalogSequential,
    InputRangeCalibrationType,
    calibrate_input_ranges,
)

T = InputRangeCalibrationType


def model(enabled: bool = False) -> AnalogSequential:
    torch.manual_seed(0)
    config = InferenceRPUConfig()  # the default (noisy) forward periphery
    if enabled:
        config.pre_post = PrePostProcessingParameter(InputRangeParameter(enable=True))
    return AnalogSequential(
        AnalogLinear(4, 3, rpu_config=config, seed=1),
        nn.ReLU(),
        AnalogLinear(3, 2, rpu_config=InferenceRPUConfig(), seed=2),
    )


def batches() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(5)
    data = [torch.randn(6, 4, generator=gen) * s for s in (0.5, 0.8, 0.3)]
    data[1][2] = 0.0  # an all-zero row: left out of the statistics
    return data


def rows(data: list[torch.Tensor]) -> list[torch.Tensor]:
    return [x[~(x == 0).all(-1)] for x in data]


def test_max_is_the_largest_input_of_the_noise_free_network():
    m = model()
    data = batches()
    weight, bias = m[0].get_weights()
    peripheries = [t.forward_periphery for t in m[0].grid.tiles]
    calibrate_input_ranges(m, T.MAX, data)
    assert m[0].input_range.item() == pytest.approx(max(x.abs().max().item() for x in data))
    # the second layer saw the exact first layer (inputs within its old range of 3)
    hidden = [torch.relu(x @ weight.T + bias) for x in data]
    assert m[2].input_range.item() == pytest.approx(max(h.max().item() for h in hidden), rel=1e-5)
    assert [t.forward_periphery for t in m[0].grid.tiles] == peripheries  # restored
    assert m.training  # the mode is restored


def test_moving_std_is_the_running_mean_of_alpha_times_std():
    m = model()
    data = batches()
    calibrate_input_ranges(m, T.MOVING_STD, data, std_alpha=2.0)
    expected = sum(2.0 * x.std().item() for x in rows(data)) / len(data)
    assert m[0].input_range.item() == pytest.approx(expected, rel=1e-6)
    assert int(m[0].input_range_update_idx) == 3
    assert m[0].rpu_config.pre_post.input_range.init_std_alpha == 2.0


def test_moving_std_counts_at_most_max_samples_batches():
    m = model()
    data = batches()
    calibrate_input_ranges(m, T.MOVING_STD, data, max_samples=1)
    assert m[0].input_range.item() == pytest.approx(3.0 * rows(data)[0].std().item(), rel=1e-6)


def test_moving_quantile_is_the_running_mean_of_the_quantile():
    m = model()
    data = batches()
    calibrate_input_ranges(m, "MovingQuantile", data, quantile=0.9)
    expected = sum(x.flatten().quantile(0.9).item() for x in rows(data)) / len(data)
    assert m[0].input_range.item() == pytest.approx(expected, rel=1e-6)
    m = model()
    calibrate_input_ranges(m, T.MOVING_QUANTILE, data, quantile=1.0)  # 1: the largest |x|
    expected = sum(x.abs().max().item() for x in data) / len(data)
    assert m[0].input_range.item() == pytest.approx(expected, rel=1e-6)


def test_cache_quantile_is_the_quantile_of_the_cached_rows():
    m = model()
    data = batches()
    calibrate_input_ranges(m, T.CACHE_QUANTILE, data, quantile=0.8)  # 17 rows < max_samples
    expected = torch.cat(rows(data)).flatten().quantile(0.8).item()
    assert m[0].input_range.item() == pytest.approx(expected, rel=1e-6)
    torch.manual_seed(3)
    small = model()
    torch.manual_seed(3)
    calibrate_input_ranges(small, T.CACHE_QUANTILE, data, quantile=0.8, max_samples=4)
    assert small[0].input_range.item() <= max(x.max().item() for x in data)


def test_layers_get_their_own_untrained_range_and_configuration():
    m = model()
    shared = m[2].rpu_config
    calibrate_input_ranges(m, T.MAX, [(x, torch.zeros(6)) for x in batches()])  # (x, y) items
    for layer in (m[0], m[2]):
        params = layer.rpu_config.pre_post.input_range
        assert params.enable and not params.learn_input_range and params.init_from_data == 0
        assert params.init_value == layer.input_range.item()
        assert params.calibration_info == "Max"
        assert not layer.input_range.requires_grad
    assert not shared.pre_post.input_range.enable  # the caller's configuration is untouched


def test_only_enabled_layers_without_force_all_layers():
    m = model(enabled=True)
    calibrate_input_ranges(m, T.MAX, [((x,), {}) for x in batches()], force_all_layers=False)
    assert m[0].input_range.requires_grad  # an enabled range stays trainable
    assert m[0].input_range.item() != 3.0
    assert m[2].input_range is None


def test_none_changes_nothing():
    m = model()
    before = m.state_dict()
    calibrate_input_ranges(m, T.NONE, batches())
    assert m.state_dict().keys() == before.keys()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calibration_type": "Median"}, r"calibration_type='Median' is invalid; allowed: "
         r"InputRangeCalibrationType.NONE, InputRangeCalibrationType.MOVING_STD"),
        ({"quantile": 0.0}, r"quantile=0.0 is invalid; allowed: a number in \(0, 1\]"),
        ({"quantile": 1.5}, r"quantile=1.5 is invalid"),
        ({"max_samples": 0}, r"max_samples=0 is invalid; allowed: an int >= 1"),
        ({"std_alpha": -1.0}, r"std_alpha=-1.0 is invalid; allowed: None or a number > 0"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named_and_change_nothing(kwargs, message):
    m = model()
    before = {k: v.clone() for k, v in m.state_dict().items() if isinstance(v, torch.Tensor)}
    arguments = {"calibration_type": T.MAX, **kwargs}
    with pytest.raises(ValueError, match=message):
        calibrate_input_ranges(m, dataloader=batches(), **arguments)
    after = {k: v for k, v in m.state_dict().items() if isinstance(v, torch.Tensor)}
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_a_model_without_analog_inference_layers_is_refused():
    with pytest.raises(ValueError, match="has no analog layer to calibrate"):
        calibrate_input_ranges(nn.Linear(2, 2), T.MAX, [torch.zeros(1, 2)])
    with pytest.raises(TypeError, match="dataloader yielded a str"):
        calibrate_input_ranges(model(), T.MAX, ["x"])


@pytest.mark.parametrize("kind", [T.MAX, T.CACHE_QUANTILE, T.MOVING_STD, T.MOVING_QUANTILE])
def test_a_layer_that_sees_only_zeros_keeps_its_range_with_a_warning(kind):
    m = model(enabled=True)
    zeros = [torch.zeros(6, 4), torch.zeros(6, 4)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calibrate_input_ranges(m, kind, zeros)
    messages = [str(w.message) for w in caught]
    assert any(re.search(r"layer '0' got no range .* keeps its range 3\b", m) for m in messages)
    assert m[0].input_range.item() == 3.0
    assert m[0].rpu_config.pre_post.input_range.calibration_info is None

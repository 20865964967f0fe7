"""program_analog_weights / drift_analog_weights on layers, AnalogSequential and converted
models: eval-mode compensation (also on the prepared inference path), checkpoints of a
programmed and drifted model (``weights_only=True``), a missing noise-model plugin, and
bad input that changes nothing."""

from __future__ import annotations

import dataclasses
import io
import math
from typing import ClassVar

import pytest
import torch
from torch import nn

from aihw.core.inference import NoiseModel
from aihw.core.io_parameters import IOParameters
from aihw.core.tiles.state import MissingNoiseModelError
from aihw.devices import (
    InferenceRPUConfig,
    PCMLikeNoiseModel,
    PerColumnDriftCompensation,
    register_noise_model,
    unregister_noise_model,
)
from aihw.nn import (
    AnalogConv2d,
    AnalogLinear,
    AnalogSequential,
    LayerStateError,
    convert_to_analog,
    drift_analog_weights,
    program_analog_weights,
)


def model(seed: int = 0, config: InferenceRPUConfig | None = None) -> AnalogSequential:
    config = config or InferenceRPUConfig()
    return AnalogSequential(
        AnalogConv2d(1, 3, 3, rpu_config=config, seed=seed),
        nn.Flatten(),
        AnalogLinear(3 * 4 * 4, 5, rpu_config=config, seed=seed + 1),
        nn.ReLU(),
        AnalogLinear(5, 2, rpu_config=InferenceRPUConfig(
            drift_compensation=PerColumnDriftCompensation()), seed=seed + 2),
    )  # fmt: skip


def programmed_state(m: nn.Module) -> list[dict]:
    return [
        {k: v for k, v in dataclasses.asdict(t.inference_state.programmed).items()}
        for layer in m.modules()
        if hasattr(layer, "grid")
        for t in layer.grid.tiles
    ]


def assert_same_programmed(a: nn.Module, b: nn.Module) -> None:
    for sa, sb in zip(programmed_state(a), programmed_state(b), strict=True):
        assert sa.keys() == sb.keys()
        for key, value in sa.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(value, sb[key]), key
            else:
                assert value == sb[key], key


X = torch.randn(6, 1, 6, 6, generator=torch.Generator().manual_seed(0))


def test_model_program_drift_and_eval_only_compensation():
    m = model()
    reference = [layer.get_weights()[0] for layer in m.analog_layers()]
    m.program_analog_weights(seed=3)
    m.drift_analog_weights(3600.0)
    for layer, w in zip(m.analog_layers(), reference, strict=True):
        tile = layer.analog_tile
        assert tile.is_programmed and tile.alpha is not None
        assert not torch.equal(layer.get_weights()[0], w)
        # the layer's weight parameter shows the drifted weights (shared storage)
        assert torch.equal(layer.weight.detach().reshape(w.shape[0], -1), tile.weights)
    assert m[4].analog_tile.alpha.shape == (2,)  # per column


def test_compensation_applies_in_eval_mode_only_and_on_the_prepared_path():
    exact = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.0, bound_management="None",
                         out_bound=0.0)  # fmt: skip
    layer = AnalogLinear(5, 3, rpu_config=InferenceRPUConfig(forward=exact), seed=1)
    x = torch.randn(4, 5)
    layer.eval()
    with torch.no_grad():  # prepare the inference passes before any compensation
        layer(x)
        layer(x)
    layer.train()
    layer.program_analog_weights()
    layer.drift_analog_weights(86400.0)
    alpha = layer.analog_tile.alpha
    assert alpha is not None and alpha.item() > 1.2
    with torch.no_grad():
        plain = layer(x)
        layer.eval()
        compensated = layer(x)
        again = layer(x)  # the second call takes the prepared inference path
        layer.train()
        plain_again = layer(x)
    bias = layer.bias.detach()
    torch.testing.assert_close(compensated - bias, (plain - bias) * alpha)
    torch.testing.assert_close(again, compensated)
    torch.testing.assert_close(plain_again, plain)


def test_helpers_work_on_converted_models_and_single_layers():
    digital = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    analog = convert_to_analog(digital, InferenceRPUConfig(), seed=1)
    program_analog_weights(analog, seed=0)
    drift_analog_weights(analog, 60.0)
    assert all(layer.analog_tile.alpha is not None for layer in analog.modules()
               if isinstance(layer, AnalogLinear))  # fmt: skip
    layer = AnalogLinear(4, 3, rpu_config=InferenceRPUConfig(), seed=2)
    layer.program_analog_weights()
    layer.drift_analog_weights(1.0)
    assert layer.analog_tile.inference_state.drift_index == 1


def test_the_same_seed_reproduces_a_model():
    torch.manual_seed(0)
    a = model(seed=7)
    torch.manual_seed(0)
    b = model(seed=7)
    for m in (a, b):
        m.program_analog_weights(seed=1)
        m.drift_analog_weights(86400.0)
    for la, lb in zip(a.analog_layers(), b.analog_layers(), strict=True):
        assert torch.equal(la.analog_tile.weights, lb.analog_tile.weights)


def save_and_load(m: nn.Module, fresh: nn.Module) -> None:
    buffer = io.BytesIO()
    torch.save(m.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))


def test_checkpoint_of_a_programmed_and_drifted_model_resumes():
    m = model(seed=4)
    m.program_analog_weights(seed=2)
    m.drift_analog_weights(86400.0)
    m.eval()
    fresh = model(seed=4)
    fresh.eval()
    save_and_load(m, fresh)
    assert_same_programmed(m, fresh)
    for la, lb in zip(m.analog_layers(), fresh.analog_layers(), strict=True):
        assert torch.equal(la.analog_tile.weights, lb.analog_tile.weights)
        state_a, state_b = la.analog_tile.inference_state, lb.analog_tile.inference_state
        assert (state_a.noise_seed, state_a.program_index, state_a.drift_index) == (
            state_b.noise_seed, state_b.program_index, state_b.drift_index)  # fmt: skip
        assert state_a.noise_model == state_b.noise_model
    with torch.no_grad():
        assert torch.equal(m(X), fresh(X))  # compensation applied in eval mode after loading
    # later drifts continue the same streams
    m.drift_analog_weights(3.15e7)
    fresh.drift_analog_weights(3.15e7)
    with torch.no_grad():
        assert torch.equal(m(X), fresh(X))


def test_a_custom_noise_model_is_stored_by_name_and_a_missing_one_is_named():
    @dataclasses.dataclass
    class HalvingNoiseModel(NoiseModel):
        name: ClassVar[str] = "HalvingNoiseModel"
        factor: float = 0.5

        def apply_programming_noise_to_conductance(self, g_target, z):
            return g_target * self.factor

        def generate_drift_coefficients(self, g_target, z):
            return torch.zeros_like(g_target)

        def apply_drift_noise_to_conductance(self, g_prog, nu, t_inference, z):
            return g_prog

    register_noise_model(HalvingNoiseModel, source="a test")
    try:
        config = InferenceRPUConfig(noise_model=HalvingNoiseModel(factor=0.25))
        layer = AnalogLinear(3, 2, rpu_config=config, seed=0)
        w = layer.get_weights()[0]
        layer.program_analog_weights()
        torch.testing.assert_close(layer.get_weights()[0], w * 0.25)
        buffer = io.BytesIO()
        torch.save(layer.state_dict(), buffer)
        buffer.seek(0)
        fresh = AnalogLinear(3, 2, rpu_config=config, seed=0)
        fresh.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
        assert fresh.analog_tile.noise_model == HalvingNoiseModel(factor=0.25)
    finally:
        unregister_noise_model("HalvingNoiseModel")
    before = fresh.analog_tile.weights.clone()
    with pytest.raises(MissingNoiseModelError, match="AnalogLinear, tile 0: checkpoint needs "
                       "noise model 'HalvingNoiseModel'") as info:  # fmt: skip
        fresh.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    assert info.value.model_name == "HalvingNoiseModel"
    assert "no noise model is registered under the name 'HalvingNoiseModel'" in str(info.value)
    assert torch.equal(fresh.analog_tile.weights, before)


def test_negative_or_bad_times_change_nothing():
    m = model()
    m.program_analog_weights()
    snapshot = [layer.analog_tile.weights.clone() for layer in m.analog_layers()]
    for t in (-1.0, math.nan, math.inf, "1h", True):
        with pytest.raises(ValueError, match=rf"t_inference={t!r} is invalid; allowed: a finite "
                           r"number of seconds >= 0"):  # fmt: skip
            m.drift_analog_weights(t)
    for layer, w in zip(m.analog_layers(), snapshot, strict=True):
        assert torch.equal(layer.analog_tile.weights, w)
        assert layer.analog_tile.inference_state.drift_index == 0


def test_drift_before_programming_changes_nothing():
    m = model()
    m[4].program_analog_weights()  # one layer programmed, the others not
    snapshot = [layer.analog_tile.weights.clone() for layer in m.analog_layers()]
    with pytest.raises(RuntimeError, match=r"analog layer '0' is not programmed; call "
                       r"program_analog_weights\(\) first"):  # fmt: skip
        m.drift_analog_weights(10.0)
    for layer, w in zip(m.analog_layers(), snapshot, strict=True):
        assert torch.equal(layer.analog_tile.weights, w)
    layer = m[4]
    layer.set_weights(*layer.get_weights())  # new weights undo programming
    with pytest.raises(RuntimeError, match="drift_weights needs programmed weights"):
        layer.analog_tile.drift_weights(1.0)


def test_negative_noise_scales_and_wrong_types_are_refused():
    for field in ("prog_noise_scale", "read_noise_scale", "drift_scale"):
        with pytest.raises(ValueError, match=rf"PCMLikeNoiseModel.{field}=-0.5 is invalid; "
                           r"allowed: a number >= 0.0"):  # fmt: skip
            PCMLikeNoiseModel(**{field: -0.5})
    with pytest.raises(ValueError, match=r"PCMLikeNoiseModel.t_0=0 is invalid; allowed: a number"
                       r" > 0.0"):  # fmt: skip
        PCMLikeNoiseModel(t_0=0)
    with pytest.raises(TypeError, match="InferenceRPUConfig.noise_model must be None or a "
                       "NoiseModel instance; got str"):  # fmt: skip
        InferenceRPUConfig(noise_model="PCM")
    with pytest.raises(TypeError, match="drift_compensation must be None or a DriftCompensation"):
        InferenceRPUConfig(drift_compensation=1.0)


def test_layers_without_a_noise_model_are_refused_before_anything_changes():
    m = AnalogSequential(
        AnalogLinear(3, 2, rpu_config=InferenceRPUConfig(), seed=0),
        AnalogLinear(2, 2, rpu_config=InferenceRPUConfig(noise_model=None), seed=1),
    )
    before = m[0].analog_tile.weights.clone()
    with pytest.raises(ValueError, match=r"analog layer '1' \(AnalogLinear\) has a InferenceTile "
                       r"without a noise model"):  # fmt: skip
        m.program_analog_weights()
    assert torch.equal(m[0].analog_tile.weights, before)
    assert not m[0].analog_tile.is_programmed
    with pytest.raises(ValueError, match="has no analog layer to program"):
        program_analog_weights(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"seed=-1"):
        m[0].program_analog_weights(seed=-1)


def test_a_state_with_a_malformed_programmed_part_is_refused():
    layer = AnalogLinear(3, 2, rpu_config=InferenceRPUConfig(), seed=0)
    layer.program_analog_weights()
    state = layer.state_dict()
    extra = state["_extra_state"]
    tile_state = extra["tiles"][0]
    tile_state["inference"]["programmed"]["nu"] = -tile_state["inference"]["programmed"]["nu"]
    fresh = AnalogLinear(3, 2, rpu_config=InferenceRPUConfig(), seed=0)
    with pytest.raises(LayerStateError, match=r"\['nu'\] must be finite and >= 0"):
        fresh.load_state_dict(state)
    assert not fresh.analog_tile.is_programmed

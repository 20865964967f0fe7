"""Hardware-aware training through layers and optimizers: ``InferenceRPUConfig(clip=,
modifier=, remap=)`` acts after every optimizer step (AnalogSGD and AnalogOptimizer), the
training forward and backward use the modified copy, eval uses the stored weights,
``remap_analog_weights`` keeps a model's function, checkpoints resume bit-identically
(``weights_only=True``), and the standard preset trains."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from aihw.core.io_parameters import IOParameters
from aihw.devices import (
    InferenceRPUConfig,
    StandardHWATrainingPreset,
    WeightClipParameter,
    WeightClipType,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
)
from aihw.nn import AnalogLinear, AnalogSequential, remap_analog_weights
from aihw.optim import AnalogOptimizer, AnalogSGD

X = torch.randn(8, 6, generator=torch.Generator().manual_seed(0))
Y = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))


def exact_config(**kw: object) -> InferenceRPUConfig:
    return InferenceRPUConfig(forward=IOParameters(is_perfect=True), **kw)  # type: ignore[arg-type]


def hwa_config() -> InferenceRPUConfig:
    return exact_config(
        clip=WeightClipParameter(type=WeightClipType.FIXED_VALUE, fixed_value=0.3),
        remap=WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC),
        modifier=WeightModifierParameter(type=WeightModifierType.ADD_NORMAL, std_dev=0.1),
    )


def step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad()
    nn.functional.mse_loss(model(X), Y).backward()
    optimizer.step()


def test_the_optimizer_step_draws_the_copy_the_training_passes_use():
    layer = AnalogLinear(6, 3, rpu_config=hwa_config(), seed=2)
    tile = layer.analog_tile
    assert tile.modified_weights is None
    optimizer = AnalogSGD(layer.parameters(), lr=0.1)
    step(layer, optimizer)
    modified, scales = tile.modified_weights, tile.out_scales
    assert modified is not None and scales is not None
    bias = layer.bias.detach()
    expected = (X @ modified.T) * scales + bias
    torch.testing.assert_close(layer(X), expected)
    with torch.no_grad():  # no autograd, still training mode: the copy (no prepared pass)
        torch.testing.assert_close(layer(X), expected)
    # the input gradient goes through the copy too
    x = X.clone().requires_grad_(True)
    layer(x).sum().backward()
    assert x.grad is not None
    torch.testing.assert_close(x.grad, (torch.ones(8, 3) * scales) @ modified)
    optimizer.zero_grad()
    layer.eval()
    with torch.no_grad():
        torch.testing.assert_close(layer(X), (X @ tile.weights.T) * scales + bias)


def test_clip_and_remap_hold_after_each_step_and_the_logical_weights_are_clipped():
    layer = AnalogLinear(6, 3, rpu_config=hwa_config(), seed=2)
    optimizer = AnalogSGD(layer.parameters(), lr=0.5)
    for _ in range(3):
        step(layer, optimizer)
        tile = layer.analog_tile
        torch.testing.assert_close(tile.weights.abs().amax(dim=1), torch.ones(3))
        assert float(layer.get_weights()[0].abs().max()) <= 0.3 + 1e-6


def test_analog_optimizer_reaches_the_tiles_too():
    layer = AnalogLinear(6, 3, rpu_config=hwa_config(), seed=2)
    optimizer = AnalogOptimizer(torch.optim.Adam, layer.parameters(), lr=0.05)
    step(layer, optimizer)
    assert layer.analog_tile.modified_weights is not None
    assert layer.analog_tile.hwa_state.modifier_index == 1


def test_without_hwa_parameters_nothing_changes():
    torch.manual_seed(0)
    a = AnalogLinear(6, 3, rpu_config=InferenceRPUConfig(), seed=5)
    torch.manual_seed(0)
    b = AnalogLinear(6, 3, rpu_config=InferenceRPUConfig(), seed=5)
    oa, ob = AnalogSGD(a.parameters(), lr=0.1), AnalogSGD(b.parameters(), lr=0.1)
    for _ in range(2):
        step(a, oa)
        step(b, ob)
    assert a.analog_tile.modified_weights is None and a.analog_tile.out_scales is None
    assert torch.equal(a.analog_tile.weights, b.analog_tile.weights)


def model(seed: int) -> AnalogSequential:
    config = InferenceRPUConfig(
        clip=WeightClipParameter(type=WeightClipType.LAYER_GAUSSIAN, sigma=2.0),
        remap=WeightRemapParameter(type=WeightRemapType.LAYERWISE_SYMMETRIC),
        modifier=WeightModifierParameter(type=WeightModifierType.PCM_NOISE, std_dev=1.0,
                                         pdrop=0.05),
    )  # fmt: skip
    return AnalogSequential(
        AnalogLinear(6, 5, rpu_config=config, seed=seed),
        nn.ReLU(),
        AnalogLinear(5, 3, rpu_config=config, seed=seed + 1),
    )


def test_checkpoints_resume_bit_identically():
    a = model(3)
    oa = AnalogSGD(a.parameters(), lr=0.1)
    for _ in range(3):
        step(a, oa)
    buffer = io.BytesIO()
    torch.save({"model": a.state_dict(), "optimizer": oa.state_dict()}, buffer)
    b = model(30)  # other seeds: everything comes from the checkpoint
    ob = AnalogSGD(b.parameters(), lr=0.1)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    b.load_state_dict(saved["model"])
    ob.load_state_dict(saved["optimizer"])
    assert torch.equal(a(X), b(X))
    for _ in range(3):
        step(a, oa)
        step(b, ob)
    for ta, tb in zip(a.analog_tiles(), b.analog_tiles(), strict=True):
        assert torch.equal(ta.weights, tb.weights)
        assert torch.equal(ta.modified_weights, tb.modified_weights)
        assert torch.equal(ta.out_scales, tb.out_scales)
        assert ta.hwa_state.modifier_index == tb.hwa_state.modifier_index == 6
    a.eval()
    b.eval()
    with torch.no_grad():
        assert torch.equal(a(X), b(X))


def test_the_same_seed_gives_the_same_training():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)  # the digital bias's initialisation
        m = model(9)
        optimizer = AnalogSGD(m.parameters(), lr=0.1)
        for _ in range(3):
            step(m, optimizer)
        runs.append([t.weights.clone() for t in m.analog_tiles()])
    for wa, wb in zip(*runs, strict=True):
        assert torch.equal(wa, wb)


def test_remap_analog_weights_keeps_the_function():
    config = exact_config(remap=WeightRemapParameter(type="LayerwiseSymmetric"))
    m = AnalogSequential(
        AnalogLinear(6, 5, rpu_config=config, seed=1),
        nn.Tanh(),
        AnalogLinear(5, 3, rpu_config=config, seed=2),
    )
    m.eval()
    with torch.no_grad():
        before = m(X)
    logical = [layer.get_weights()[0] for layer in m.analog_layers()]
    m.remap_analog_weights(WeightRemapParameter(type="ChannelwiseSymmetric", remapped_wmax=0.5))
    for layer, w in zip(m.analog_layers(), logical, strict=True):
        tile = layer.analog_tile
        torch.testing.assert_close(
            tile.weights.abs().amax(dim=1), torch.full((tile.out_size,), 0.5)
        )
        torch.testing.assert_close(layer.get_weights()[0], w)
    with torch.no_grad():
        torch.testing.assert_close(m(X), before, rtol=1e-5, atol=1e-6)
    # the functional form and the layer method (the configuration's remap) keep it too
    remap_analog_weights(m)
    m[0].remap_analog_weights()
    with torch.no_grad():
        torch.testing.assert_close(m(X), before, rtol=1e-5, atol=1e-6)


def test_remap_analog_weights_refuses_other_tiles_before_changing_anything():
    from aihw.devices import SingleRPUConfig

    good = AnalogLinear(6, 3, rpu_config=InferenceRPUConfig(), seed=1)
    m = AnalogSequential(good, AnalogLinear(3, 2, rpu_config=SingleRPUConfig(), seed=2))
    w = good.analog_tile.weights.clone()
    with pytest.raises(ValueError, match="remapping needs inference tiles"):
        m.remap_analog_weights(WeightRemapParameter(type="LayerwiseSymmetric"))
    assert torch.equal(good.analog_tile.weights, w)


def test_standard_preset_trains_and_programs():
    config = StandardHWATrainingPreset()
    assert config.clip.type is WeightClipType.FIXED_VALUE and config.clip.fixed_value == 1.0
    assert config.remap.type is WeightRemapType.CHANNELWISE_SYMMETRIC
    assert config.modifier.type is WeightModifierType.ADD_NORMAL
    layer = AnalogLinear(6, 3, rpu_config=config, seed=4)
    optimizer = AnalogSGD(layer.parameters(), lr=0.05)
    for _ in range(2):
        step(layer, optimizer)
    assert layer.analog_tile.modified_weights is not None
    layer.program_analog_weights(seed=1)
    layer.drift_analog_weights(3600.0)
    layer.eval()
    with torch.no_grad():
        assert torch.isfinite(layer(X)).all()


def test_config_refuses_bad_hwa_parts():
    with pytest.raises(TypeError, match="InferenceRPUConfig.modifier must be a "
                       "WeightModifierParameter instance; got str"):  # fmt: skip
        InferenceRPUConfig(modifier="AddNormal")  # type: ignore[arg-type]
    bad = WeightClipParameter(type="FixedValue", fixed_value=1.0)
    bad.type = "Bogus"
    with pytest.raises(ValueError, match="WeightClipParameter.type='Bogus' is invalid"):
        InferenceRPUConfig(clip=bad)

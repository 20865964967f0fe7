"""Scripts written for the reference toolkit: its spellings and call forms in aihw.nn
(``rpu_config.mapping``, ``convert_to_analog(model, rpu_config)``,
``analog_summary(model, input_size)``, ``rpu_config.runtime.data_type``,
``layer.analog_tiles()`` items with ``.tile``)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from aihw.core import IOParameters, RPUDataType
from aihw.devices import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    SingleRPUConfig,
)
from aihw.nn import (
    AnalogConv2d,
    AnalogLinear,
    AnalogSequential,
    MappingParameter,
    MappingParameters,
    analog_summary,
    convert_to_analog,
)


def _config(**mapping) -> InferenceRPUConfig:
    config = InferenceRPUConfig()
    for name, value in mapping.items():
        setattr(config.mapping, name, value)  # as the reference toolkit's scripts do
    return config


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))


# -- rpu_config.mapping -------------------------------------------------------------------
def test_mapping_parameter_is_exported_by_aihw_nn():
    assert MappingParameter is MappingParameters


def test_layers_take_the_mapping_of_the_configuration():
    config = _config(max_input_size=8, max_output_size=2)
    linear = AnalogLinear(20, 4, rpu_config=config, seed=0)
    assert linear.tile_grid == (1, 2, 3)
    assert linear.mapping == config.mapping
    conv = AnalogConv2d(3, 4, 3, rpu_config=config, seed=0)  # 27 inputs per output
    assert conv.tile_grid == (1, 2, 4)


def test_the_configuration_mapping_scales_weights_and_learns_output_scales():
    config = _config(weight_scaling_omega=1.0, learn_out_scaling=True, digital_bias=False)
    layer = AnalogLinear(6, 3, rpu_config=config, seed=0)
    assert layer.grid.scales is not None
    assert layer.out_scaling_alpha is not None
    assert layer.bias is None and layer.grid.analog_bias


def test_layer_size_overrides_apply_on_top_of_the_configuration_mapping():
    config = _config(max_input_size=8, weight_scaling_omega=1.0)
    layer = AnalogLinear(20, 4, rpu_config=config, max_input_size=10, seed=0)
    assert layer.tile_grid == (1, 1, 2)
    assert layer.mapping.weight_scaling_omega == 1.0


def test_an_explicit_mapping_is_used_beside_a_default_configuration_mapping():
    layer = AnalogLinear(
        20, 4, rpu_config=InferenceRPUConfig(), mapping=MappingParameters(max_input_size=5)
    )
    assert layer.tile_grid == (1, 1, 4)


def test_two_different_mappings_are_refused():
    config = _config(max_input_size=8)
    with pytest.raises(ValueError) as info:
        AnalogLinear(20, 4, rpu_config=config, mapping=MappingParameters(max_input_size=5))
    assert str(info.value) == (
        "mapping= and rpu_config.mapping differ (max_input_size: 5 vs 8); give the mapping "
        "once: set rpu_config.mapping, or leave it at its default and pass mapping="
    )
    # The same mapping twice is no conflict.
    same = AnalogLinear(20, 4, rpu_config=config, mapping=MappingParameters(max_input_size=8))
    assert same.tile_grid == (1, 1, 3)


def test_a_broken_configuration_mapping_is_named():
    config = InferenceRPUConfig()
    config.mapping = {"max_input_size": 8}  # type: ignore[assignment]
    with pytest.raises(TypeError, match="rpu_config.mapping must be MappingParameters; got dict"):
        AnalogLinear(20, 4, rpu_config=config)


# -- convert_to_analog(model, rpu_config) -------------------------------------------------
def test_convert_to_analog_takes_the_configuration_positionally():
    config = _config(max_input_size=16)
    positional = convert_to_analog(_model(), config, seed=3)
    keyword = convert_to_analog(_model(), rpu_config=config, seed=3)
    for model in (positional, keyword):
        assert model[0].rpu_config is config and model[3].rpu_config is config
        assert model[0].tile_grid == (1, 1, 2)  # 27 inputs, at most 16 per tile
        assert model[3].tile_grid == (1, 1, 9)  # 144 inputs
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(positional(x), keyword(x))


def test_convert_to_analog_keeps_its_device_forms():
    model = convert_to_analog(_model(), ConstantStepDevice(), seed=0)
    assert isinstance(model[3].resistive_device, ConstantStepDevice)
    assert model[3].rpu_config is None
    per_layer = convert_to_analog(
        _model(), lambda name, module: SingleRPUConfig() if name == "3" else None
    )
    assert isinstance(per_layer[0], nn.Conv2d)
    assert isinstance(per_layer[3].rpu_config, SingleRPUConfig)


def test_convert_to_analog_refuses_a_configuration_given_twice_or_with_a_device():
    config = InferenceRPUConfig()
    with pytest.raises(ValueError, match="give the tile configuration once, positionally or as"):
        convert_to_analog(_model(), config, rpu_config=config)
    with pytest.raises(ValueError, match=r"give either a device \(or a per-layer function\)"):
        convert_to_analog(_model(), ConstantStepDevice(), rpu_config=config)
    with pytest.raises(TypeError, match="rpu_config must be a TileConfig"):
        convert_to_analog(_model(), rpu_config=ConstantStepDevice())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give either rpu_config= or update="):
        convert_to_analog(_model(), config, update=SingleRPUConfig().update)


def test_convert_to_analog_refuses_two_different_mappings():
    with pytest.raises(ValueError, match="mapping= and rpu_config.mapping differ"):
        convert_to_analog(
            _model(), _config(max_input_size=16), mapping=MappingParameters(max_input_size=4)
        )


# -- analog_summary(model, input_size) ----------------------------------------------------
def test_analog_summary_with_an_input_size_records_shapes():
    model = convert_to_analog(_model(), InferenceRPUConfig(), seed=0)
    summary = analog_summary(model, (2, 3, 8, 8))
    conv, linear = summary.layers
    assert (conv.input_shape, conv.output_shape) == ((2, 3, 8, 8), (2, 4, 6, 6))
    assert (linear.input_shape, linear.output_shape) == ((2, 144), (2, 5))
    assert "input (2, 3, 8, 8) -> output (2, 4, 6, 6)" in str(summary)
    assert analog_summary(model, torch.zeros(1, 3, 8, 8)).layers[1].output_shape == (1, 5)
    plain = analog_summary(model)
    assert plain.layers[0].input_shape is None
    assert str(plain) == str(dataclasses.replace(summary, layers=plain.layers))


def test_analog_summary_leaves_the_model_as_it_was():
    model = convert_to_analog(_model(), InferenceRPUConfig(), seed=0)
    reference = convert_to_analog(_model(), InferenceRPUConfig(), seed=0)
    analog_summary(model, (4, 3, 8, 8))  # a noisy forward of a copy
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


@pytest.mark.parametrize("bad", [(2, "3"), "2x3", (), 3, (2, -1)])
def test_analog_summary_names_a_bad_input_size(bad):
    with pytest.raises(TypeError, match="input_size must be the shape of an input batch"):
        analog_summary(AnalogLinear(3, 2), bad)


# -- rpu_config.runtime.data_type ---------------------------------------------------------
@pytest.mark.parametrize("data_type", [RPUDataType.HALF, RPUDataType.BFLOAT16])
def test_half_precision_rounds_the_input_and_returns_that_dtype(data_type):
    dtype = data_type.as_torch()
    config = InferenceRPUConfig(forward=IOParameters(out_noise=0.0))
    config.runtime.data_type = data_type
    layer = AnalogLinear(6, 3, rpu_config=config, seed=1)
    plain = AnalogLinear(6, 3, rpu_config=InferenceRPUConfig(forward=IOParameters(out_noise=0.0)))
    plain.load_state_dict(layer.state_dict())
    assert layer.boundary_dtype is dtype and plain.boundary_dtype is None
    x = torch.randn(4, 6)
    with torch.no_grad():
        y = layer(x)
        expected = plain(x.to(dtype))
    assert y.dtype is dtype
    assert torch.equal(y, expected.to(dtype))
    conv = AnalogConv2d(2, 3, 3, rpu_config=config)
    assert conv(torch.randn(1, 2, 5, 5)).dtype is dtype


def test_float_leaves_the_layer_as_without_a_runtime():
    config = InferenceRPUConfig()
    config.runtime.data_type = RPUDataType.FLOAT
    torch.manual_seed(0)  # the initial weights
    layer = AnalogLinear(6, 3, rpu_config=config, seed=1)
    torch.manual_seed(0)
    plain = AnalogLinear(6, 3, rpu_config=InferenceRPUConfig(), seed=1)
    x = torch.randn(4, 6)
    with torch.no_grad():
        assert torch.equal(layer(x), plain(x))
        assert layer(x.double()).dtype is torch.float64  # the input's dtype, as before
    assert not layer._forward_hooks and not layer._forward_pre_hooks


def test_half_precision_trains():
    config = InferenceRPUConfig()
    config.runtime.data_type = RPUDataType.BFLOAT16
    layer = AnalogLinear(4, 2, rpu_config=config, seed=0)
    x = torch.randn(3, 4, requires_grad=True)
    layer(x).float().sum().backward()
    assert x.grad is not None and x.grad.dtype is torch.float32


# -- analog_tiles() items with .tile -----------------------------------------------------
def test_analog_tiles_yield_objects_with_a_tile():
    layer = AnalogLinear(20, 4, rpu_config=_config(max_input_size=8), seed=0)
    tiles = list(layer.analog_tiles())
    assert len(tiles) == 3
    for tile in tiles:
        assert tile.tile is tile  # the reference's tile.tile, and still our tile
        assert tile.tile.get_weights()[0].shape == (4, tile.in_size)
    model = AnalogSequential(
        layer, nn.ReLU(), AnalogLinear(4, 2, rpu_config=FloatingPointRPUConfig())
    )
    assert [t.tile for t in model.analog_tiles()] == [*tiles, model[2].analog_tile]

"""convert_to_analog / convert_to_digital and analog_summary."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.core.tiles import AnalogTile, FloatingPointTile
from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import (
    AnalogConv1d,
    AnalogConv2d,
    AnalogConv3d,
    AnalogLinear,
    MappingParameters,
    analog_summary,
    convert_to_analog,
    convert_to_digital,
)


def _model() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(2, 4, 3, padding=1, padding_mode="circular"),
        nn.ReLU(),
        nn.Sequential(nn.Conv1d(4, 4, 3, groups=4, bias=False), nn.Flatten()),
        nn.Linear(4 * 6, 5),
    )


def test_convert_copies_weights_and_options() -> None:
    model = _model()
    analog = convert_to_analog(model)
    assert analog is not model  # a copy by default
    assert isinstance(model[0], nn.Conv1d)
    assert isinstance(analog[0], AnalogConv1d) and analog[0].padding_mode == "circular"
    assert isinstance(analog[2][0], AnalogConv1d) and analog[2][0].groups == 4
    assert analog[2][0].bias is None
    assert isinstance(analog[3], AnalogLinear)
    x = torch.randn(3, 2, 8)
    torch.testing.assert_close(analog(x), model(x), rtol=1e-5, atol=1e-5)
    back = convert_to_digital(analog)
    assert type(back[0]) is nn.Conv1d and type(back[3]) is nn.Linear
    torch.testing.assert_close(back(x), model(x), rtol=1e-5, atol=1e-5)
    assert back[0].padding_mode == "circular" and back[2][0].groups == 4


def test_convert_every_layer_type_and_the_root() -> None:
    for module, cls in (
        (nn.Linear(3, 2), AnalogLinear),
        (nn.Conv1d(2, 2, 1), AnalogConv1d),
        (nn.Conv2d(2, 2, 1), AnalogConv2d),
        (nn.Conv3d(2, 2, 1), AnalogConv3d),
    ):
        analog = convert_to_analog(module)
        assert type(analog) is cls
        torch.testing.assert_close(analog.get_weights()[0], module.weight.detach())
        assert type(convert_to_digital(analog)) is type(module)


def test_exclude_and_inplace() -> None:
    model = _model()
    same = convert_to_analog(model, exclude=["2", nn.Linear], inplace=True)
    assert same is model
    assert isinstance(model[0], AnalogConv1d)
    assert type(model[2][0]) is nn.Conv1d
    assert type(model[3]) is nn.Linear
    with pytest.raises(TypeError, match="exclude"):
        convert_to_analog(_model(), exclude=[3])


def test_per_layer_config_function() -> None:
    device = ConstantStepResistiveDevice()
    seen = []

    def config(name, module):
        seen.append(name)
        if name == "0":
            return device
        if name == "3":
            return {"mapping": MappingParameters(max_input_size=10), "resistive_device": None}
        return None  # keep digital

    analog = convert_to_analog(_model(), config)
    assert seen == ["0", "2.0", "3"]
    assert isinstance(analog[0].analog_tile, AnalogTile)
    assert type(analog[2][0]) is nn.Conv1d
    assert isinstance(analog[3].analog_tile, FloatingPointTile)
    assert analog[3].tile_grid == (1, 1, 3)
    with pytest.raises(TypeError, match="unknown key"):
        convert_to_analog(_model(), lambda n, m: {"bogus": 1})
    with pytest.raises(TypeError, match="config function returned"):
        convert_to_analog(_model(), lambda n, m: 3)


def test_pulsed_conversion_clips_and_seeds() -> None:
    model = nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.fill_(5.0)
    a = convert_to_analog(model, ConstantStepResistiveDevice(), seed=3)
    b = convert_to_analog(model, ConstantStepResistiveDevice(), seed=3)
    assert a.analog_tile.seed == 3
    assert torch.equal(a.weight, b.weight)
    assert torch.equal(a.weight.detach(), a.analog_tile.device_arrays["w_max"])


def test_convert_to_digital_folds_scales() -> None:
    mapping = MappingParameters(
        weight_scaling_omega=0.4, learn_out_scaling=True, digital_bias=False
    )
    layer = AnalogLinear(4, 3, mapping=mapping)
    with torch.no_grad():
        layer.out_scaling_alpha.fill_(1.5)
    x = torch.randn(2, 4)
    digital = convert_to_digital(layer)
    torch.testing.assert_close(digital(x), layer(x), rtol=1e-5, atol=1e-5)


def test_analog_summary() -> None:
    model = convert_to_analog(
        nn.Sequential(nn.Linear(1300, 700), nn.Conv2d(4, 4, 3, groups=2)),
        ConstantStepResistiveDevice(),
    )
    summary = analog_summary(model)
    assert [layer.name for layer in summary.layers] == ["0", "1"]
    first = summary.layers[0]
    assert first.tile_grid == (1, 2, 3) and len(first.tiles) == 6
    assert first.tiles[0].shape == (350, 434)
    assert first.tiles[0].utilization == pytest.approx(350 * 434 / 512**2)
    assert first.device == "ConstantStep"
    assert summary.layers[1].tile_grid == (2, 1, 1)
    assert summary.num_tiles == 8
    text = str(summary)
    assert "AnalogLinear" in text and "utilization" in text and "8 tile(s)" in text


def test_converted_model_copies_and_checks_its_checkpoints() -> None:
    import copy
    import pickle

    from aihw.nn import CheckpointError

    model = convert_to_analog(_model(), ConstantStepResistiveDevice())
    x = torch.randn(2, 2, 8)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        torch.testing.assert_close(other(x), model(x))
        state = other.state_dict()
        state["3.weight"] = torch.zeros(5, 3)
        before = other[0].analog_tile.weights.clone()
        with pytest.raises(CheckpointError, match="3.weight"):
            other.load_state_dict(state)
        assert torch.equal(other[0].analog_tile.weights, before)


def test_model_wide_update_reaches_pulsed_layers_only() -> None:
    from aihw.core import UpdateParameters

    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 2))
    update = UpdateParameters(desired_bl=10)

    def config(name: str, module: nn.Module):
        if name == "0":
            return ConstantStepResistiveDevice()
        return {"resistive_device": None} if name == "1" else None

    analog = convert_to_analog(model, config, update=update)
    assert isinstance(analog[0].analog_tile, AnalogTile)
    assert analog[0].analog_tile.update_parameters.desired_bl == 10
    assert isinstance(analog[1].analog_tile, FloatingPointTile)
    # A floating-point layer given update= itself is told that it has no use for it.
    with pytest.raises(ValueError, match="not used by a floating-point tile"):
        convert_to_analog(
            nn.Sequential(nn.Linear(2, 2)),
            lambda n, m: {"resistive_device": None, "update": update},
        )

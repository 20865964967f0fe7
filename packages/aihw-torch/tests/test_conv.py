"""AnalogConv2d against torch.nn.Conv2d, with a floating-point (exact) tile."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from aihw.nn import AnalogConv2d
from aihw.nn.modules.conv import AnalogConv2d as DeepAnalogConv2d

OPTIONS = [
    {},
    {"bias": False},
    {"stride": 2},
    {"stride": (2, 1), "padding": (1, 2)},
    {"padding": 1},
    {"padding": "same"},
    # Uneven 'same' padding (nn.Conv2d warns that it copies the input; we always do).
    pytest.param(
        {"padding": "same", "kernel_size": (2, 4), "dilation": (1, 2)},
        marks=pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel"),
    ),
    {"padding": "valid", "dilation": 2},
    {"dilation": (2, 1), "padding": 2},
    {"padding": 1, "padding_mode": "reflect"},
    {"padding": (2, 1), "padding_mode": "replicate", "stride": 2},
    {"padding": 1, "padding_mode": "circular", "dilation": 2},
    {"padding": "same", "padding_mode": "circular"},
    {"kernel_size": 1},
    {"kernel_size": (1, 3), "stride": 3},
]


def _pair(**options):
    options = {"kernel_size": 3, **options}
    layer = AnalogConv2d(3, 4, **options)
    reference = nn.Conv2d(3, 4, **options)
    reference.load_state_dict(layer.state_dict(), strict=False)  # + "_extra_state"
    return layer, reference


def test_deep_import_path_is_the_same_class():
    assert DeepAnalogConv2d is AnalogConv2d


def test_weight_has_the_conv_shape_and_shares_the_tile_storage():
    layer = AnalogConv2d(3, 4, (2, 5))
    assert layer.weight.shape == (4, 3, 2, 5)
    assert layer.analog_tile.weights.shape == (4, 30)
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()


def _id(options: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in options.items()) or "default"


@pytest.mark.parametrize("options", OPTIONS, ids=_id)
def test_forward_and_gradients_equal_nn_conv2d(options):
    layer, reference = _pair(**options)
    x = torch.randn(2, 3, 9, 10, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    y, y_ref = layer(x), reference(x_ref)
    assert y.shape == y_ref.shape
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(y)
    y.backward(grad)
    y_ref.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)
    if reference.bias is not None:
        torch.testing.assert_close(layer.bias.grad, reference.bias.grad, rtol=1e-5, atol=1e-5)
    # The update recorded on the tile is nn.Conv2d's weight gradient step.
    assert layer.weight.grad is None
    before = layer.weight.detach().clone()
    layer.analog_tile.apply_recorded_update(0.01)
    torch.testing.assert_close(
        layer.weight.detach(), before - 0.01 * reference.weight.grad, rtol=1e-5, atol=1e-6
    )


def test_unbatched_input():
    layer, reference = _pair(padding=1)
    x = torch.randn(3, 6, 7)
    y = layer(x)
    assert y.shape == (4, 6, 7)
    torch.testing.assert_close(y, reference(x), rtol=1e-5, atol=1e-5)


def test_float64_input_and_double_layer():
    layer, reference = _pair(padding=1)
    layer.double()
    reference.double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    y = layer(x)
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, reference(x), rtol=1e-5, atol=1e-5)
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()


def test_deepcopy_keeps_the_link():
    layer = AnalogConv2d(2, 3, 3)
    other = copy.deepcopy(layer)
    assert other.weight.data_ptr() == other.analog_tile.weights.data_ptr()
    assert other.weight.shape == (3, 2, 3, 3)


def test_reset_parameters_uses_nn_conv2d_bounds():
    layer = AnalogConv2d(4, 2, 3)
    bound = 1 / (4 * 9) ** 0.5
    assert layer.weight.abs().max() <= bound
    assert layer.bias.abs().max() <= bound


def test_extra_repr():
    layer = AnalogConv2d(3, 4, 3, stride=2, padding=1, bias=False, padding_mode="reflect")
    assert repr(layer) == (
        "AnalogConv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False, "
        "padding_mode=reflect, resistive_device=None)"
    )


def test_groups_must_divide_the_channels():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        AnalogConv2d(4, 4, 3, groups=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"padding": "full"}, ValueError, "padding='full'"),
        (
            {"padding": "same", "stride": 2},
            ValueError,
            "padding='same' is not supported for strided",
        ),
        ({"padding_mode": "mirror"}, ValueError, "padding_mode"),
        ({"kernel_size": 0}, ValueError, "kernel_size"),
        ({"kernel_size": (1, 2, 3)}, TypeError, "kernel_size"),
        ({"stride": 0}, ValueError, "stride"),
        ({"padding": -1}, ValueError, "padding"),
        ({"dilation": 1.5}, TypeError, "dilation"),
        ({"in_channels": 0}, ValueError, "in_channels"),
        ({"resistive_device": "ConstantStep"}, TypeError, "resistive_device"),
    ],
)
def test_invalid_constructor_arguments(kwargs, error, match):
    args = {"in_channels": 3, "out_channels": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(error, match=match):
        AnalogConv2d(**args)


def test_bad_inputs_name_input():
    layer = AnalogConv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"input has shape \(2, 5, 8, 8\).*in_channels=3"):
        layer(torch.randn(2, 5, 8, 8))
    with pytest.raises(ValueError, match=r"input has shape \(8, 8\)"):
        layer(torch.randn(8, 8))
    with pytest.raises(TypeError, match=r"input has dtype torch\.int32"):
        layer(torch.ones(2, 3, 8, 8, dtype=torch.int32))
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        layer(torch.randn(1, 3, 2, 2))


def test_set_weights_accepts_conv_and_flat_shapes():
    layer = AnalogConv2d(2, 3, 2)
    weight = torch.randn(3, 2, 2, 2) * 0.1
    layer.set_weights(weight)
    assert torch.equal(layer.get_weights()[0], weight)
    layer.set_weights(weight.reshape(3, 8) * 2)
    assert torch.equal(layer.weight.detach(), weight * 2)

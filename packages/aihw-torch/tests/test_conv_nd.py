"""AnalogConv1d/2d/3d against torch.nn.Conv1d/2d/3d with floating-point tiles."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.nn import AnalogConv1d, AnalogConv2d, AnalogConv3d, MappingParameters

PAIRS = {1: (AnalogConv1d, nn.Conv1d), 2: (AnalogConv2d, nn.Conv2d), 3: (AnalogConv3d, nn.Conv3d)}


SPATIAL = {1: (11,), 2: (9, 8), 3: (6, 7, 5)}


# (in, out, kernel, options)
CASES = [
    (4, 6, 3, {}),
    (4, 6, 3, {"stride": 2, "padding": 1}),
    (4, 6, 2, {"dilation": 2, "padding": 2, "bias": False}),
    (4, 6, 3, {"groups": 2}),
    (4, 8, 3, {"groups": 4, "padding": "same"}),  # 2 outputs per group
    (6, 6, 3, {"groups": 6, "padding": 1}),  # depthwise
    (4, 6, 3, {"padding": "valid", "stride": 1}),
    (4, 6, 3, {"padding": 1, "padding_mode": "reflect"}),
    (4, 6, 3, {"padding": 2, "padding_mode": "replicate", "groups": 2}),
    (4, 6, 3, {"padding": 1, "padding_mode": "circular", "stride": 2}),
    (4, 6, 2, {"padding": "same", "padding_mode": "reflect", "dilation": 2}),
]


def _pair(dims: int, c_in: int, c_out: int, k: int, options: dict, **extra):
    analog_cls, torch_cls = PAIRS[dims]
    layer = analog_cls(c_in, c_out, k, **options, **extra)
    reference = torch_cls(c_in, c_out, k, **options)
    with torch.no_grad():
        reference.weight.copy_(layer.weight)
        if reference.bias is not None:
            reference.bias.copy_(layer.bias)
    return layer, reference


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c[3].items()))
def test_forward_and_input_gradient_match_torch(dims: int, case) -> None:
    c_in, c_out, k, options = case
    layer, reference = _pair(dims, c_in, c_out, k, options)
    x = torch.randn(3, c_in, *SPATIAL[dims], requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y = layer(x)
    y_ref = reference(x_ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(y_ref)
    y.backward(grad)
    y_ref.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)
    # Unbatched input as well.
    torch.testing.assert_close(
        layer(x[0].detach()), reference(x_ref[0].detach()), rtol=1e-5, atol=1e-5
    )


def test_split_conv_matches_torch() -> None:
    # 12 * 3 * 3 = 108 inputs per group: max_input_size=50 gives 3 column splits.
    layer, reference = _pair(
        2,
        24,
        10,
        3,
        {"groups": 2, "padding": 1},
        mapping=MappingParameters(max_input_size=50, max_output_size=3),
    )
    assert layer.tile_grid == (2, 2, 3)
    x = torch.randn(2, 24, 5, 5, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y, y_ref = layer(x), reference(x_ref)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    y.sum().backward()
    y_ref.sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(layer.weight, reference.weight.detach())


def test_conv_layer_shapes_and_tiles() -> None:
    layer = AnalogConv3d(6, 6, (1, 2, 3), groups=3, bias=False)
    assert layer.weight.shape == (6, 2, 1, 2, 3)
    assert [t.weights.shape for t in layer.analog_tiles()] == [(2, 12)] * 3
    # The tiles are row slices of the weight's storage.
    for index, tile in enumerate(layer.analog_tiles()):
        assert tile.weights.data_ptr() == layer.weight[2 * index].data_ptr()
    assert "groups=3" in repr(layer)


def test_conv_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        AnalogConv1d(4, 3, 3, groups=2)
    with pytest.raises(TypeError, match="kernel_size"):
        AnalogConv3d(4, 4, (3, 3))
    with pytest.raises(ValueError, match="padding_mode"):
        AnalogConv1d(4, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="channel dimension"):
        AnalogConv3d(4, 4, 3)(torch.randn(1, 3, 5, 5, 5))

"""AnalogConv1d/2d/3d against torch.nn.Conv1d/2d/3d with floating-point tiles."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.nn import AnalogConv1d, AnalogConv2d, AnalogConv3d
from aihw.optim import AnalogSGD

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
def test_grouped_training_step_matches_torch_sgd(dims: int) -> None:
    layer, reference = _pair(dims, 4, 6, 3, {"groups": 2, "padding": 1})
    assert layer.tile_grid == (2, 1, 1)
    optimizer = AnalogSGD(layer.parameters(), lr=0.05)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    x = torch.randn(2, 4, *SPATIAL[dims])
    for _ in range(2):
        optimizer.zero_grad()
        reference_optimizer.zero_grad()
        layer(x).square().sum().backward()
        reference(x).square().sum().backward()
        optimizer.step()
        reference_optimizer.step()
    torch.testing.assert_close(
        layer.weight.detach(), reference.weight.detach(), rtol=1e-4, atol=1e-5
    )
    torch.testing.assert_close(layer.bias.detach(), reference.bias.detach(), rtol=1e-4, atol=1e-5)

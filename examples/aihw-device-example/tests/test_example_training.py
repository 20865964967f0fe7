"""Each example device trains a small AnalogLinear through AnalogSGD (the loss falls)."""

from __future__ import annotations

import pytest
import torch

from aihw.devices import get_device
from aihw.nn import AnalogLinear
from aihw.optim import AnalogSGD


@pytest.mark.parametrize("name", ["LogNormalStep", "Saturating", "SaturatingTabulated"])
def test_an_analog_linear_layer_trains(name):
    torch.manual_seed(0)
    target = torch.randn(3, 5) * 0.3
    x = torch.randn(64, 5)
    y = x @ target.T
    layer = AnalogLinear(5, 3, bias=False, resistive_device=get_device(name), seed=1)
    optimizer = AnalogSGD(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(layer(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0], losses

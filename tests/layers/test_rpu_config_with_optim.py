"""Layers built from a tile configuration (``rpu_config=``)."""

from __future__ import annotations

import torch

from aihw.devices import (
    InferenceRPUConfig,
)
from aihw.nn import AnalogLinear
from aihw.optim import AnalogSGD


def test_inference_layer_forward_is_noisy_and_training_works():
    torch.manual_seed(0)
    layer = AnalogLinear(8, 2, rpu_config=InferenceRPUConfig(), seed=0)
    x = torch.randn(16, 8)
    assert not torch.equal(layer(x), layer(x))  # output noise on every forward
    target = torch.randn(16, 2)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]

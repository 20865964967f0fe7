"""Training with the reused buffers of large temporaries (im2col patches, the products of
the periphery, aihw.core.scratch): the same bits as without them, also when batches are
accumulated before a step, and outputs the caller may change in place."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.core import scratch
from aihw.core.io_parameters import IOParameters
from aihw.devices import ConstantStepDevice, SingleRPUConfig
from aihw.nn import AnalogConv2d, AnalogLinear
from aihw.optim import AnalogSGD

pytestmark = pytest.mark.skipif(
    getattr(torch._C, "_storage_Use_Count", None) is None, reason="torch cannot count users"
)


def _config(periphery: str) -> SingleRPUConfig:
    if periphery == "exact":
        io = IOParameters(is_perfect=True)
        return SingleRPUConfig(device=ConstantStepDevice(), forward=io, backward=io)
    return SingleRPUConfig(device=ConstantStepDevice())


def _train(periphery: str, reuse: bool, accumulate: int, monkeypatch) -> list[torch.Tensor]:
    monkeypatch.setattr(scratch, "MIN_SCRATCH_ELEMENTS", 1 << 10 if reuse else 1 << 62)
    config = _config(periphery)
    torch.manual_seed(0)  # the initial weights
    model = nn.Sequential(
        AnalogConv2d(1, 8, 5, rpu_config=config, seed=1), nn.Tanh(), nn.MaxPool2d(2),
        AnalogConv2d(8, 16, 3, rpu_config=config, seed=2), nn.Tanh(), nn.Flatten(),
        AnalogLinear(16 * 6 * 6, 10, rpu_config=config, seed=3),
    )  # fmt: skip
    opt = AnalogSGD(model.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        opt.zero_grad()
        for _ in range(accumulate):
            x = torch.randn(16, 1, 20, 20, generator=gen)
            target = torch.randint(10, (16,), generator=gen)
            nn.functional.cross_entropy(model(x), target).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("periphery", ["exact", "default"])
@pytest.mark.parametrize("accumulate", [1, 2])
def test_conv_training_with_reused_buffers_keeps_the_bits(periphery, accumulate, monkeypatch):
    with_reuse = _train(periphery, True, accumulate, monkeypatch)
    without = _train(periphery, False, accumulate, monkeypatch)
    for a, b in zip(with_reuse, without, strict=True):
        assert torch.equal(a, b)


def test_patches_buffer_is_reused_after_the_update():
    conv = AnalogConv2d(4, 8, 3, rpu_config=_config("default"), seed=5)
    opt = AnalogSGD(conv.parameters(), lr=0.01)
    x = torch.randn(8, 4, 16, 16)
    pointers = []
    for _ in range(3):
        conv(x).square().sum().backward()
        tile = next(conv.analog_tiles())
        pointers.append(tile._recorded[0][0].data_ptr())  # the recorded patches
        opt.step()
    assert pointers[0] == pointers[1] == pointers[2]


@pytest.mark.parametrize("periphery", ["exact", "default"])
def test_outputs_may_be_changed_in_place(periphery):
    layer = AnalogLinear(64, 512, bias=False, rpu_config=_config(periphery), seed=4)
    x = torch.randn(128, 64, requires_grad=True)
    y = layer(x)
    y.relu_()  # an output of a custom autograd function that is a view would refuse this
    y.sum().backward()
    first = x.grad.clone()
    assert first.abs().sum() > 0
    z = layer(x)
    assert z.data_ptr() != y.data_ptr()  # y is still held: its buffer is not reused

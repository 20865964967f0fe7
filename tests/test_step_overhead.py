"""A training step copies and checks each tensor once: the update records keep the
im2col patches without a copy, a single record is not concatenated, and the update's
inputs are checked for NaN and infinity once; the user's input is still copied."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aihw.core import _checks
from aihw.devices import ConstantStepDevice, SingleRPUConfig
from aihw.nn import AnalogConv2d, AnalogLinear
from aihw.nn.functional import im2col
from aihw.optim import AnalogSGD


class _Count:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        self.calls = 0
        self.shapes: list[tuple[int, ...]] = []
        original = getattr(owner, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.calls += 1
            if isinstance(args[0], torch.Tensor):
                self.shapes.append(tuple(args[0].shape))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)


def _step(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> AnalogSGD:
    optimizer = AnalogSGD(model.parameters(), lr=0.05)
    nn.functional.cross_entropy(model(x), target).backward()
    return optimizer


def test_conv_records_keep_the_patches_and_check_each_tensor_once(monkeypatch):
    torch.manual_seed(0)
    conv = AnalogConv2d(2, 4, 3, rpu_config=SingleRPUConfig(device=ConstantStepDevice()))
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    x = torch.randn(5, 2, 8, 8)
    clones = _Count(monkeypatch, torch.Tensor, "clone")
    checks = _Count(monkeypatch, _checks, "all_finite")
    cats = _Count(monkeypatch, torch, "cat")
    optimizer = _step(model, x, torch.tensor([0, 1, 2, 0, 1]))
    assert conv.analog_tile.num_recorded == 5 * 6 * 6
    optimizer.step()
    # The patches are ours and kept as they are; only the error that autograd handed over
    # is copied.
    assert clones.shapes == [(5 * 6 * 6, 4)]
    assert checks.shapes == [(5 * 6 * 6, 4)]  # the error, once (the forward checked x)
    assert cats.calls == 0  # one record: used as it is
    assert conv.analog_tile.num_recorded == 0


def test_linear_records_copy_the_users_input():
    torch.manual_seed(0)
    layer = AnalogLinear(6, 3, rpu_config=SingleRPUConfig(device=ConstantStepDevice()))
    x = torch.randn(4, 6)
    layer(x).sum().backward()
    recorded = layer.analog_tile._recorded[0][0]
    assert recorded.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    x.add_(1.0)  # a later in-place change of the input does not reach the record
    assert not torch.equal(recorded, x)


def test_im2col_matches_unfold_layout():
    x = torch.randn(3, 4, 9, 7)
    patches, out_shape = im2col(x, (3, 2), (2, 1), (1, 2))
    unfolded = nn.functional.unfold(x, (3, 2), dilation=(1, 2), stride=(2, 1))
    assert out_shape == (4, 5)
    assert torch.equal(patches, unfolded.transpose(1, 2).reshape(-1, unfolded.shape[1]))

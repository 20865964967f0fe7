"""Training analog layers: exact tiles match torch; pulsed tiles move within their bounds."""

from __future__ import annotations

import torch
from torch import nn

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogConv2d, AnalogLinear
from aihw.optim import AnalogSGD


def _data(n: int = 16):
    x = torch.rand(n, 4)
    y = torch.stack((x.sum(1) - 1, x[:, 0] * x[:, 1]), 1)
    return x, y


def _step_tiles(model: nn.Module, lr: float) -> None:
    """What an analog optimizer does for the tiles: apply the recorded update."""
    for module in model.modules():
        if hasattr(module, "analog_tile"):
            module.analog_tile.apply_recorded_update(lr)


def test_floating_point_training_with_analog_sgd_equals_torch_sgd():
    model = nn.Sequential(AnalogLinear(4, 3), nn.Tanh(), nn.Linear(3, 3), AnalogConv2d(1, 1, 1))
    reference = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 3), nn.Conv2d(1, 1, 1))
    reference.load_state_dict(model.state_dict(), strict=False)
    optimizer = AnalogSGD(model.parameters(), lr=0.05)
    optimizer.regroup_param_groups(model)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    x, y = _data()
    y = y.sum(1, keepdim=True).expand(-1, 3)
    for _ in range(8):
        for net, opt in ((model, optimizer), (reference, ref_optimizer)):
            opt.zero_grad()
            out = net[3](net[:3](x).reshape(1, 1, 16, 3)).reshape(16, 3)
            nn.functional.mse_loss(out, y).backward()
            opt.step()
    for (name, p), p_ref in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, p_ref, msg=lambda m, name=name: f"{name}: {m}")


def test_decay_runs_once_per_optimizer_step():
    device = ConstantStepResistiveDevice(lifetime=5.0, w_max_dtod=0.0, w_min_dtod=0.0)
    layer = AnalogLinear(4, 2, bias=False, resistive_device=device)
    tile = layer.analog_tile
    tile.set_weights(torch.full((2, 4), 0.4))
    optimizer = AnalogSGD(layer.parameters(), lr=0.1)
    optimizer.regroup_param_groups(layer)
    for _ in range(3):
        optimizer.zero_grad()
        # two backward passes, one optimizer step: one update, one decay
        for _ in range(2):
            (layer(torch.zeros(3, 4)).sum() * 0.0).backward()
        optimizer.step()
    torch.testing.assert_close(tile.get_weights()[0], torch.full((2, 4), 0.4 * 0.8**3))
    assert tile.update_index == 3

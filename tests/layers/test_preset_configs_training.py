"""Layers built from the preset configurations train through AnalogSGD."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import aihw.devices
from aihw.devices.preset_configs import PRESET_CONFIGS
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD


@pytest.mark.parametrize("name", sorted(PRESET_CONFIGS))
def test_preset_config_layers_run_forward_backward_update(name):
    config = getattr(aihw.devices, name)
    model = AnalogSequential(
        AnalogConv2d(1, 2, 3, rpu_config=config(), seed=0),
        nn.Flatten(),
        AnalogLinear(8, 3, rpu_config=config(), seed=1),
    )
    for layer in (model[0], model[2]):
        assert type(layer.rpu_config) is config
        assert layer.analog_tile.forward_periphery is not None
    before = [model[0].weight.detach().clone(), model[2].weight.detach().clone()]
    x = torch.rand(4, 1, 4, 4, requires_grad=True)
    optimizer = AnalogSGD(model.parameters(), lr=0.5)
    optimizer.regroup_param_groups(model)
    optimizer.zero_grad()
    model(x).square().sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    optimizer.step()
    after = [model[0].weight.detach(), model[2].weight.detach()]
    assert all(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


def _digits() -> tuple[torch.Tensor, ...]:
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = order[:600], order[600:1000]
    return x[train], y[train], x[test], y[test]


def test_gokmen_vlasov_preset_trains_the_digits_cnn_in_its_documented_lr_range():
    # lr 0.1 lies inside the range docs/presets.md gives for GokmenVlasovPreset
    x_train, y_train, x_test, y_test = _digits()
    torch.manual_seed(0)
    model = AnalogSequential(
        AnalogConv2d(1, 8, 3, rpu_config=aihw.devices.GokmenVlasovPreset(), seed=0),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        AnalogLinear(72, 10, rpu_config=aihw.devices.GokmenVlasovPreset(), seed=1),
    )
    optimizer = AnalogSGD(model.parameters(), lr=0.1)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(x_train), 16):
            index = order[start : start + 16]
            optimizer.zero_grad()
            loss_fn(model(x_train[index]), y_train[index]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    assert accuracy > 0.5, f"test accuracy {accuracy:.1%} (chance: 10%)"


@pytest.mark.parametrize("name", sorted(PRESET_CONFIGS))
def test_each_preset_documents_its_learning_rates(name):
    # the measured ranges: in the class docstring and in a row of the presets page
    assert "Learning rate" in (PRESET_CONFIGS[name].__doc__ or "")
    page = (Path(__file__).resolve().parents[2] / "docs" / "presets.md").read_text()
    assert any(line.startswith(f"| `{name}`") and "%" in line for line in page.splitlines())


def test_preset_layer_checkpoint_loads_with_weights_only(tmp_path):
    layer = AnalogLinear(4, 3, rpu_config=aihw.devices.PCMPreset(), seed=0)
    torch.save(layer.state_dict(), tmp_path / "layer.pt")
    other = AnalogLinear(4, 3, rpu_config=aihw.devices.PCMPreset(), seed=1)
    other.load_state_dict(torch.load(tmp_path / "layer.pt", weights_only=True))
    assert torch.equal(other.weight, layer.weight)

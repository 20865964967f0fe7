"""A small ResNet-style model converted to analog, trained in phases (run as a script).

    python resnet_resume.py first CKPT     train 2 steps, save model + optimizer to CKPT
    python resnet_resume.py resume CKPT OUT  load CKPT (weights_only=True), train 2 more, save
    python resnet_resume.py full OUT         train 4 steps without interruption, save

OUT holds the final state dict, for a bit-exact comparison.
"""

from __future__ import annotations

import sys

import torch
from torch import nn

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import MappingParameters, convert_to_analog
from aihw.optim import AnalogSGD


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, groups=2, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + x)


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
        self.block = Block(8)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.block(self.stem(x))).flatten(1))


def build() -> tuple[nn.Module, AnalogSGD]:
    torch.manual_seed(0)
    device = ConstantStepResistiveDevice()

    def config(name: str, module: nn.Module):
        if name == "head":  # mixed: the head is floating point, split into 2 x 2 tiles
            return {
                "resistive_device": None,
                "mapping": MappingParameters(max_input_size=20, max_output_size=6),
            }
        return device

    model = convert_to_analog(TinyResNet(), config)
    optimizer = AnalogSGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer.regroup_param_groups(model)
    return model, optimizer


def train(model: nn.Module, optimizer: AnalogSGD, steps: range) -> None:
    for step in steps:
        generator = torch.Generator().manual_seed(1000 + step)
        x = torch.randn(4, 3, 6, 6, generator=generator)
        y = torch.randint(0, 10, (4,), generator=generator)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def main(argv: list[str]) -> None:
    phase = argv[0]
    model, optimizer = build()
    if phase == "first":
        train(model, optimizer, range(2))
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, argv[1])
        return
    if phase == "resume":
        checkpoint = torch.load(argv[1], weights_only=True)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        train(model, optimizer, range(2, 4))
        torch.save(model.state_dict(), argv[2])
        return
    if phase == "full":
        train(model, optimizer, range(4))
        torch.save(model.state_dict(), argv[1])
        return
    raise SystemExit(f"unknown phase {phase!r}")


if __name__ == "__main__":
    main(sys.argv[1:])

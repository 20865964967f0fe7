"""Train an analog LeNet-5 on scikit-learn's digits upscaled to 28x28 (no downloads), on the GPU.

Every convolution and linear layer keeps its weights on simulated resistive crossbars
(constant-step devices with device-to-device and cycle-to-cycle variation) and learns by
pulsed in-memory updates. The script prints, per epoch, the time it took and the test
accuracy, and which engine the tiles ran (``tile.engine``: ``"cuda"`` for the CUDA kernels,
``"native"`` for the compiled CPU engine, ``"reference"`` for plain torch).

``--device`` defaults to ``cuda`` when torch sees a GPU, else ``cpu`` (with a note).

    python examples/train_lenet_cuda.py [--epochs 3] [--device cuda] [--samples 500]
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn import functional as F

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD


def load_data(seed: int, samples: int | None = None) -> tuple[torch.Tensor, ...]:
    """The digit images as ``[N, 1, 28, 28]`` in [0, 1] (8x8 upscaled bilinearly), split
    80/20 with stratification; ``samples`` keeps the first that many of the 1797."""
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    y = torch.tensor(digits.target, dtype=torch.long)
    if samples is not None:
        x, y = x[:samples], y[:samples]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, x_test, y_train, y_test


def build_lenet() -> AnalogSequential:
    """LeNet-5: two analog convolutions with average pooling, three analog linear layers."""

    def device() -> ConstantStepResistiveDevice:
        return ConstantStepResistiveDevice()

    return AnalogSequential(
        AnalogConv2d(1, 6, kernel_size=5, padding=2, resistive_device=device()),
        nn.Tanh(),
        nn.AvgPool2d(2),
        AnalogConv2d(6, 16, kernel_size=5, resistive_device=device()),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        AnalogLinear(16 * 5 * 5, 120, resistive_device=device()),
        nn.Tanh(),
        AnalogLinear(120, 84, resistive_device=device()),
        nn.Tanh(),
        AnalogLinear(84, 10, resistive_device=device()),
    )


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def engines(model: AnalogSequential) -> str:
    """The engines the model's tiles run, e.g. ``"cuda"`` (one name when all agree)."""
    return "/".join(sorted({tile.engine for tile in model.analog_tiles()}))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return correct


def synchronize(device: torch.device) -> None:
    """Wait for the GPU, so that an epoch's time includes all of its work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(
    device: str | None = None,
    epochs: int = 3,
    lr: float = 0.05,
    batch_size: int = 16,
    seed: int = 0,
    samples: int | None = None,
    verbose: bool = True,
) -> list[tuple[float, float]]:
    """Train and return ``(seconds, test accuracy)`` per epoch."""
    target = torch.device(device or default_device())
    torch.manual_seed(seed)
    x_train, x_test, y_train, y_test = (t.to(target) for t in load_data(seed, samples))
    model = build_lenet().to(target)
    optimizer = AnalogSGD(model.parameters(), lr=lr)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    if verbose:
        print(
            f"LeNet-5 on {target} ({torch.cuda.get_device_name(target) if target.type == 'cuda' else 'CPU'}), "
            f"{len(x_train)} training images, tiles run: {engines(model)}"
        )
    history = []
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x_train)).to(target)
        synchronize(target)
        start = time.perf_counter()
        for first in range(0, len(x_train), batch_size):
            index = order[first : first + batch_size]
            optimizer.zero_grad()
            loss_fn(model(x_train[index]), y_train[index]).backward()
            optimizer.step()
        synchronize(target)
        seconds = time.perf_counter() - start
        history.append((seconds, accuracy(model, x_test, y_test)))
        if verbose:
            print(f"epoch {epoch}: {seconds:.2f} s, test accuracy {history[-1][1]:.1%}")
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if present)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--samples", type=int, default=None, help="use only this many images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.device is None and not torch.cuda.is_available():
        print("note: torch sees no GPU; training on the CPU (the compiled CPU engine)")
    history = train(args.device, args.epochs, args.lr, args.batch_size, args.seed, args.samples)
    seconds, acc = history[-1]
    print(f"last epoch: {seconds:.2f} s, test accuracy {acc:.1%}")


if __name__ == "__main__":
    main()

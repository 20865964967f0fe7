"""Learning rates that train a small analog CNN with each preset configuration.

The network: ``AnalogConv2d(1, 8, 3)`` → ReLU → 2x2 max-pool → ``AnalogLinear(72, 10)``,
both layers on tiles of the preset configuration (``aihw.devices.GokmenVlasovPreset()``
etc.: device, periphery and update), digital biases, trained with ``AnalogSGD`` (batch
16, plain SGD, no momentum) on scikit-learn's 8x8 digits (1797 images, 80/20 split,
no download). For each preset and learning rate it prints the test accuracy after
``--epochs`` epochs (the mean over ``--seeds``; a seed fixes the split, the tiles' devices
and the batch order) and the learning rates whose accuracy reaches ``--target``.
docs/presets.md quotes its output. One torch thread; about 0.2 s per epoch and run.

    python benchmarks/preset_lr.py [--epochs 10] [--lrs 0.01 0.1 1] [--seeds 0 1 2]
    python benchmarks/preset_lr.py --presets ReRamSBPreset PCMPreset --default-periphery
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from aihw.core.config import TileConfig
from aihw.devices import SingleRPUConfig
from aihw.devices.preset_configs import PRESET_CONFIGS
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD

LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def load_data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """The digits as ``(N, 1, 8, 8)`` images in [0, 1], split 80/20 with stratification."""
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, x_test, y_train, y_test


def build_cnn(config: Callable[[], TileConfig], seed: int = 0) -> nn.Module:
    """The demo CNN, every layer on tiles of ``config()``."""
    torch.manual_seed(seed)
    return AnalogSequential(
        AnalogConv2d(1, 8, 3, rpu_config=config(), seed=seed),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        AnalogLinear(72, 10, rpu_config=config(), seed=seed + 1),
    )


def train(
    config: Callable[[], TileConfig],
    lr: float,
    epochs: int,
    data: tuple[torch.Tensor, ...],
    batch_size: int = 16,
    seed: int = 0,
) -> list[float]:
    """Train the CNN and return the test accuracy after each epoch."""
    x_train, x_test, y_train, y_test = data
    model = build_cnn(config, seed)
    optimizer = AnalogSGD(model.parameters(), lr=lr)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(x_train), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            loss_fn(model(x_train[index]), y_train[index]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            history.append((model(x_test).argmax(dim=1) == y_test).float().mean().item())
    return history


def lr_range(results: dict[float, float], target: float) -> str:
    """The smallest and largest learning rate whose accuracy reaches ``target``."""
    good = [lr for lr, accuracy in sorted(results.items()) if accuracy >= target]
    if not good:
        return "none"
    return f"{good[0]:g} to {good[-1]:g}" if len(good) > 1 else f"{good[0]:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=sorted(PRESET_CONFIGS))
    parser.add_argument("--lrs", nargs="+", type=float, default=list(LRS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--default-periphery",
        action="store_true",
        help="train each preset's device in SingleRPUConfig (the default periphery) instead",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = {seed: load_data(seed) for seed in args.seeds}
    lrs = sorted(args.lrs)
    header = "preset".ljust(20) + "".join(f"lr={lr:<8g}" for lr in lrs)
    header += f"best        >= {args.target:.0%}"
    periphery = "SingleRPUConfig periphery" if args.default_periphery else "preset periphery"
    seeds = ", ".join(map(str, args.seeds))
    print(f"test accuracy after {args.epochs} epochs, {periphery}, mean over seeds {seeds}")
    print(header)
    print("-" * len(header))
    for name in args.presets:
        preset = PRESET_CONFIGS[name]

        def config(preset: type[SingleRPUConfig] = preset) -> TileConfig:
            if args.default_periphery:
                return SingleRPUConfig(device=preset().device)
            return preset()

        start = time.perf_counter()
        results = {
            lr: statistics.mean(
                train(config, lr, args.epochs, data[seed], seed=seed)[-1] for seed in args.seeds
            )
            for lr in lrs
        }
        best = max(lrs, key=lambda lr: results[lr])
        row = name.ljust(20) + "".join(f"{results[lr]:<11.1%}" for lr in lrs)
        row += f"{f'lr={best:g}':<12}{lr_range(results, args.target)}"
        row += f"  ({time.perf_counter() - start:.0f} s)"
        print(row, flush=True)


if __name__ == "__main__":
    main()

"""Plain SGD against the compounds on one device: test accuracy of the digits MLP.

The network, data and training loop are the demo's (``examples/train_digits.py``: a
64-32-10 MLP with a sigmoid, scikit-learn's digits, ``AnalogSGD``, batch 16); both layers
are built from ``build_config(algorithm, device)`` (``"sgd"``, ``"tiki-taka"``,
``"ttv2"``, ``"c-ttv2"``, ``"agad"``, ``"mp"``) with the soft-bounds ReRAM preset
device (``ReRamSBPresetDevice``) by default. Prints the test accuracy after the last
epoch for every seed, and the mean, per algorithm (docs/physics/compounds.md#accuracy).

    python benchmarks/compound_accuracy.py [--epochs 20] [--seeds 0 1 2] [--lr 0.1]
        [--algorithms sgd tiki-taka ttv2 c-ttv2 agad mp]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from train_digits import accuracy, load_data

from aihw.devices import build_config, get_device
from aihw.nn import AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD

ALGORITHMS = ("sgd", "tiki-taka", "ttv2", "c-ttv2", "agad", "mp")


def build_model(algorithm: str, device: str, hidden: int) -> nn.Module:
    """The demo's MLP with both layers on ``build_config(algorithm, device)``."""
    config = build_config(algorithm, get_device(device))
    return AnalogSequential(
        AnalogLinear(64, hidden, rpu_config=config),
        nn.Sigmoid(),
        AnalogLinear(hidden, 10, rpu_config=config),
    )


def train(
    algorithm: str,
    device: str = "ReRamSBPreset",
    epochs: int = 20,
    hidden: int = 32,
    lr: float = 0.1,
    batch_size: int = 16,
    seed: int = 0,
) -> float:
    """Train and return the test accuracy after the last epoch."""
    torch.manual_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)
    model = build_model(algorithm, device, hidden)
    optimizer = AnalogSGD(model.parameters(), lr=lr)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(x_train))
        for start in range(0, len(x_train), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            loss_fn(model(x_train[index]), y_train[index]).backward()
            optimizer.step()
    return accuracy(model, x_test, y_test)


def compare(
    seeds: Sequence[int],
    epochs: int,
    device: str,
    lr: float,
    hidden: int = 32,
    algorithms: Sequence[str] = ALGORITHMS,
) -> dict[str, list[float]]:
    """Test accuracy per algorithm, one entry per seed."""
    return {
        algorithm: [train(algorithm, device, epochs, hidden, lr, seed=s) for s in seeds]
        for algorithm in algorithms
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="ReRamSBPreset")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    args = parser.parse_args()
    results = compare(args.seeds, args.epochs, args.device, args.lr, args.hidden, args.algorithms)
    print(f"digits MLP, {args.device}, {args.epochs} epochs, lr {args.lr}")
    extra = " | vs plain SGD (points)" if "sgd" in results else ""
    print("| algorithm | " + " | ".join(f"seed {s}" for s in args.seeds) + f" | mean{extra} |")
    print("|---|" + "---|" * (len(args.seeds) + 1 + bool(extra)))
    sgd = results.get("sgd")
    for algorithm, accs in results.items():
        cells = " | ".join(f"{a:.1%}" for a in accs)
        gain = ""
        if sgd is not None:
            diffs = [100 * (a - b) for a, b in zip(accs, sgd, strict=True)]
            gain = f" | {statistics.mean(diffs):+.1f} (min {min(diffs):+.1f})"
        print(f"| {algorithm} | {cells} | {statistics.mean(accs):.1%}{gain} |")


if __name__ == "__main__":
    main()

"""Train a small analog MLP on scikit-learn's handwritten digits (no downloads).

Both layers keep their weights on simulated resistive crossbars: every mini-batch ends
with a pulsed in-memory update (stochastic pulse trains, constant-step devices with
device-to-device and cycle-to-cycle variation). Run ``--device floating-point`` to train
the same network on exact floating-point tiles for comparison, and ``--autocast bfloat16``
to train under ``torch.autocast`` (the tiles still compute in float32; the layers return
bfloat16).

    python examples/train_digits.py [--epochs 20] [--device constant-step] [--autocast bfloat16]
"""

from __future__ import annotations

import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm import tqdm

from aihw.devices import ConstantStepResistiveDevice, FloatingPointResistiveDevice
from aihw.nn import AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD

DEVICES = {
    "constant-step": ConstantStepResistiveDevice,
    "floating-point": FloatingPointResistiveDevice,
}


def load_data(seed: int) -> tuple[torch.Tensor, ...]:
    """The 1797 8x8 digit images, scaled to [0, 1], split 80/20 with stratification."""
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=y
    )
    return x_train, x_test, y_train, y_test


def build_model(device_name: str, hidden: int) -> nn.Module:
    device = DEVICES[device_name]
    return AnalogSequential(
        AnalogLinear(64, hidden, resistive_device=device()),
        nn.Sigmoid(),
        AnalogLinear(hidden, 10, resistive_device=device()),
    )


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return correct


def train(
    device_name: str = "constant-step",
    epochs: int = 20,
    hidden: int = 32,
    lr: float = 0.1,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
    autocast: str | None = None,
    torch_device: str = "cpu",
) -> list[float]:
    """Train and return the test accuracy after each epoch.

    ``torch_device``: where the model and the data live (``"cuda"``: the tiles on the GPU).

    ``autocast``: ``"bfloat16"`` or ``"float16"`` runs the forward passes (training and
    test) under ``torch.autocast("cpu", dtype=...)``; ``None`` in float32.
    """
    amp = torch.autocast(
        torch.device(torch_device).type,
        dtype=getattr(torch, autocast or "bfloat16"),
        enabled=bool(autocast),
    )
    torch.manual_seed(seed)
    x_train, x_test, y_train, y_test = (t.to(torch_device) for t in load_data(seed))
    model = build_model(device_name, hidden).to(torch_device)
    optimizer = AnalogSGD(model.parameters(), lr=lr)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(x_train)).to(torch_device)
        batches = range(0, len(x_train), batch_size)
        # disable=None: no bar when the output is not a terminal (CI logs).
        disable = None if progress else True
        bar = tqdm(batches, desc=f"epoch {epoch:2d}/{epochs}", leave=False, disable=disable)
        for start in bar:
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            with amp:
                loss = loss_fn(model(x_train[index]), y_train[index])
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        with amp:
            history.append(accuracy(model, x_test, y_test))
        if progress:
            print(f"epoch {epoch:2d}: test accuracy {history[-1]:.1%}")
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=sorted(DEVICES), default="constant-step")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--autocast", choices=["bfloat16", "float16"], default=None)
    args = parser.parse_args()
    history = train(
        args.device,
        args.epochs,
        args.hidden,
        args.lr,
        args.batch_size,
        args.seed,
        autocast=args.autocast,
    )
    mode = f", autocast {args.autocast}" if args.autocast else ""
    print(f"final test accuracy ({args.device} devices{mode}): {history[-1]:.1%}")


if __name__ == "__main__":
    main()

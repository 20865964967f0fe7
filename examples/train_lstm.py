"""Train a small analog LSTM to predict the next value of noisy sine waves (no downloads).

The LSTM's input and hidden matrices and the linear read-out keep their weights on
simulated resistive crossbars. Each sequence is a sine of random frequency and phase with
additive noise; at every time step the model predicts the next clean value. Every
optimizer step applies one pulsed in-memory update per tile with the inputs and errors of
all time steps of the batch. Run ``--device floating-point`` to train the same network on
exact floating-point tiles for comparison.

    python examples/train_lstm.py [--steps 150] [--device constant-step]
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

from aihw.devices import ConstantStepResistiveDevice, FloatingPointResistiveDevice
from aihw.nn import AnalogLinear, AnalogLSTM
from aihw.optim import AnalogSGD

DEVICES = {
    "constant-step": ConstantStepResistiveDevice,
    "floating-point": FloatingPointResistiveDevice,
}


def make_batch(
    batch: int, length: int, noise: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy sines ``(batch, length, 1)`` and the next clean values ``(batch, length, 1)``."""
    freq = 0.1 + 0.2 * torch.rand(batch, 1, generator=generator)
    phase = 2 * math.pi * torch.rand(batch, 1, generator=generator)
    t = torch.arange(length + 1, dtype=torch.float32)
    clean = torch.sin(freq * t + phase)
    noisy = clean[:, :-1] + noise * torch.randn(batch, length, generator=generator)
    return noisy.unsqueeze(-1), clean[:, 1:].unsqueeze(-1)


class SinePredictor(nn.Module):
    """An analog LSTM and an analog linear read-out of every time step."""

    def __init__(self, hidden: int, device_name: str) -> None:
        super().__init__()
        device = DEVICES[device_name]
        self.lstm = AnalogLSTM(1, hidden, batch_first=True, resistive_device=device())
        self.head = AnalogLinear(hidden, 1, resistive_device=device())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out)


def train(
    device_name: str = "constant-step",
    steps: int = 150,
    hidden: int = 16,
    length: int = 20,
    batch_size: int = 16,
    lr: float = 0.1,
    noise: float = 0.1,
    seed: int = 0,
    every: int = 25,
    progress: bool = True,
) -> list[float]:
    """Train and return the mean-squared error on a fixed validation batch, before training
    and after every ``every`` steps."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x_val, y_val = make_batch(128, length, noise, generator)
    model = SinePredictor(hidden, device_name)
    optimizer = AnalogSGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()

    def validate() -> float:
        with torch.no_grad():
            return float(loss_fn(model(x_val), y_val))

    history = [validate()]
    if progress:
        print(f"step {0:4d}: validation MSE {history[-1]:.4f}")
    for step in range(1, steps + 1):
        x, y = make_batch(batch_size, length, noise, generator)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        if step % every == 0 or step == steps:
            history.append(validate())
            if progress:
                print(f"step {step:4d}: validation MSE {history[-1]:.4f}")
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=sorted(DEVICES), default="constant-step")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    history = train(
        args.device, args.steps, args.hidden, args.length, args.batch_size, args.lr, seed=args.seed
    )
    print(f"validation MSE ({args.device} devices): {history[0]:.4f} -> {history[-1]:.4f}")


if __name__ == "__main__":
    main()

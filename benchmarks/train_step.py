"""One training step of analog models vs the same torch step, in one run.

Workloads (PERFORMANCE.md, issue 14), all on constant-step devices (``ConstantStepDevice``
defaults), trained with ``AnalogSGD`` against ``torch.optim.SGD`` on the torch twin, same
lr, both without momentum:

- ``cnn``: ``Conv2d(1, 16, 5)``, tanh, max-pool 2, ``Conv2d(16, 32, 5)``, tanh, max-pool 2,
  ``Linear(512, 10)``, all analog; x ~ N(0, 1) of 28x28, batch 32, cross-entropy.
- ``linear 512`` and ``linear 1024``: one ``AnalogLinear(n, n)``, batch 64, MSE against
  N(0, 1) targets.
- ``linear 256 CE``: ``AnalogLinear(256, 256)``, batch 64, cross-entropy over 256 classes.

``exact``: forward and backward periphery ``IOParameters(is_perfect=True)``; ``default``:
the default periphery both ways (``SingleRPUConfig``). A step is ``zero_grad``, forward,
loss, backward and ``optimizer.step()``; the torch and the analog step are timed
alternately, call by call (their ratio holds when the machine's load changes). The analog
step's forward + backward and its ``optimizer.step()`` (the pulsed update) are also timed
apart, within the same steps.

    python benchmarks/train_step.py [--repeats 20] [--threads 1 2] [--busy [N]]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from _busy import add_busy_argument, busy, busy_label
from _timing import paired_median_ms, print_table
from torch import nn

from aihw.core.io_parameters import IOParameters
from aihw.devices import ConstantStepDevice, SingleRPUConfig
from aihw.nn import AnalogConv2d, AnalogLinear
from aihw.optim import AnalogSGD

LR = 0.05


def rpu_config(periphery: str) -> SingleRPUConfig:
    if periphery == "exact":
        return SingleRPUConfig(
            device=ConstantStepDevice(),
            forward=IOParameters(is_perfect=True),
            backward=IOParameters(is_perfect=True),
        )
    return SingleRPUConfig(device=ConstantStepDevice())


def cnn(analog: bool, config: SingleRPUConfig) -> nn.Module:
    kw = {"rpu_config": config} if analog else {}
    conv = AnalogConv2d if analog else nn.Conv2d
    linear = AnalogLinear if analog else nn.Linear
    return nn.Sequential(
        conv(1, 16, 5, **kw),
        nn.Tanh(),
        nn.MaxPool2d(2),
        conv(16, 32, 5, **kw),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        linear(512, 10, **kw),
    )


def linear(size: int, analog: bool, config: SingleRPUConfig) -> nn.Module:
    if analog:
        return AnalogLinear(size, size, rpu_config=config)
    return nn.Linear(size, size)


#: name, model factory, input shape, loss, classes (0: MSE against N(0, 1) targets)
Case = tuple[str, Callable[[bool, SingleRPUConfig], nn.Module], tuple[int, ...], int]
CASES: list[Case] = [
    ("cnn, batch 32, CE", cnn, (32, 1, 28, 28), 10),
    ("linear 512, batch 64, MSE", lambda a, c: linear(512, a, c), (64, 512), 0),
    ("linear 1024, batch 64, MSE", lambda a, c: linear(1024, a, c), (64, 1024), 0),
    ("linear 256, batch 64, CE", lambda a, c: linear(256, a, c), (64, 256), 256),
]


def make_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, target: torch.Tensor,
    classes: int, phases: list[list[float]] | None = None,
) -> Callable[[], None]:  # fmt: skip
    """A training step; with ``phases``, it appends the times (s) of forward + backward and
    of ``optimizer.step()`` to ``phases[0]`` and ``phases[1]``."""
    loss_fn = nn.functional.cross_entropy if classes else nn.functional.mse_loss

    def step() -> None:
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        middle = time.perf_counter()
        optimizer.step()
        if phases is not None:
            phases[0].append(middle - start)
            phases[1].append(time.perf_counter() - middle)

    return step


def bench(case: Case, periphery: str, threads: int, repeats: int) -> list[object]:
    name, factory, shape, classes = case
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=generator)
    if classes:
        target = torch.randint(classes, (shape[0],), generator=generator)
    else:
        target = torch.randn(shape[0], shape[1], generator=generator)
    torch.manual_seed(0)
    reference = factory(False, rpu_config(periphery))
    analog = factory(True, rpu_config(periphery))
    torch_step = make_step(reference, torch.optim.SGD(reference.parameters(), lr=LR), x,
                           target, classes)  # fmt: skip
    phases: list[list[float]] = [[], []]
    analog_step = make_step(analog, AnalogSGD(analog.parameters(), lr=LR), x, target, classes,
                            phases)  # fmt: skip
    warmup = 2
    for _ in range(warmup):
        torch_step()
        analog_step()
    phases[0].clear()
    phases[1].clear()
    t_torch, t_analog = paired_median_ms(torch_step, analog_step, repeats, warmup=0)
    t_fb = 1e3 * statistics.median(phases[0])
    t_update = 1e3 * statistics.median(phases[1])
    return [
        name,
        periphery,
        threads,
        f"{t_torch:.2f}",
        f"{t_analog:.2f}",
        f"{t_analog / t_torch:.2f}x",
        f"{t_fb:.2f}",
        f"{t_update:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--only", choices=["cnn", "linear"], default=None, help="only the CNN or the linear steps"
    )
    add_busy_argument(parser)
    args = parser.parse_args()
    cases = [c for c in CASES if args.only is None or c[0].startswith(args.only)]
    previous = torch.get_num_threads()
    rows = []
    try:
        with busy(args.busy):
            for threads in args.threads:
                for case in cases:
                    for periphery in ("exact", "default"):
                        rows.append(bench(case, periphery, threads, args.repeats))
    finally:
        torch.set_num_threads(previous)
    print(
        f"training step, analog (AnalogSGD) vs torch (SGD), lr {LR}, ConstantStepDevice, "
        f"x ~ N(0, 1), medians of {args.repeats} steps after 2 warm-up steps, "
        f"{busy_label(args.busy)}"
    )
    print_table(
        [
            "workload",
            "periphery",
            "threads",
            "torch ms",
            "analog ms",
            "analog/torch",
            "analog fwd+bwd ms",
            "analog update ms",
        ],
        rows,
    )


if __name__ == "__main__":
    main()

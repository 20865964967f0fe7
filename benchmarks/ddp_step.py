"""A training step on 2 processes (DDP, gloo) vs 1 process, over the same global batch.

The model is an MLP ``in -> hidden -> 10`` of ``AnalogLinear`` layers on constant-step
devices with the default periphery (``SingleRPUConfig``), trained with ``AnalogSGD``
and cross-entropy. A step is ``zero_grad``, forward, loss, backward and
``optimizer.step()``. The 2-process step (``prepare_for_ddp``, each rank half of the
global batch, one thread each) includes the gather of the recorded rows; the 1-process
step runs over the whole global batch, with 1 and with 2 threads. Medians over
``--repeats`` steps; the 2-process time is the slower rank's median.

    python benchmarks/ddp_step.py [--batch 256] [--hidden 512] [--in-size 784] [--repeats 20]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp
from torch import nn

from aihw.devices import ConstantStepDevice, SingleRPUConfig
from aihw.nn import AnalogLinear, AnalogSequential, prepare_for_ddp
from aihw.optim import AnalogSGD


def build(in_size: int, hidden: int) -> nn.Module:
    torch.manual_seed(0)
    config = SingleRPUConfig(device=ConstantStepDevice())
    return AnalogSequential(
        AnalogLinear(in_size, hidden, rpu_config=config),
        nn.Sigmoid(),
        AnalogLinear(hidden, 10, rpu_config=config),
    )


def step_times(
    model: nn.Module, run: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int
) -> list[float]:
    optimizer = AnalogSGD(model.parameters(), lr=0.05)
    times = []
    for index in range(repeats + 2):  # two warm-up steps
        start = time.perf_counter()
        optimizer.zero_grad()
        nn.functional.cross_entropy(run(x), y).backward()
        optimizer.step()
        if index >= 2:
            times.append(time.perf_counter() - start)
    return times


def data(batch: int, in_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.rand(batch, in_size, generator=gen), torch.randint(0, 10, (batch,), generator=gen)


def rank_main(rank: int, port: int, args: argparse.Namespace, out: str) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2
    )
    model = build(args.in_size, args.hidden)
    prepare_for_ddp(model)
    ddp = nn.parallel.DistributedDataParallel(model)
    x, y = data(args.batch, args.in_size)
    half = args.batch // 2
    rows = slice(rank * half, (rank + 1) * half)
    times = step_times(model, ddp, x[rows], y[rows], args.repeats)
    torch.save(statistics.median(times), Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="global batch (even)")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--in-size", type=int, default=784)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(rank_main, args=(port, args, out), nprocs=2, join=True)
        two = max(torch.load(Path(out) / f"rank{r}.pt") for r in range(2))
    x, y = data(args.batch, args.in_size)
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model = build(args.in_size, args.hidden)
        results[threads] = statistics.median(step_times(model, model, x, y, args.repeats))
    print(
        f"MLP {args.in_size}-{args.hidden}-10, global batch {args.batch}, "
        f"median of {args.repeats} steps"
    )
    print(f"  1 process, 1 thread : {1e3 * results[1]:8.2f} ms")
    print(f"  1 process, 2 threads: {1e3 * results[2]:8.2f} ms")
    print(f"  2 processes (DDP)   : {1e3 * two:8.2f} ms  (1 thread each, gloo)")


if __name__ == "__main__":
    main()

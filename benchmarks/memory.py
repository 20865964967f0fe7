"""Resident memory of a pulsed ``AnalogLinear`` against ``torch.nn.Linear`` of the same size.

Each layer is measured in a fresh subprocess (1 torch thread): after a warm-up that loads
the same libraries and code paths for both (a small ``nn.Linear`` and a small
``AnalogLinear`` each run a training step), the resident set size (RSS) is read before
building the layer, after building it, and after one training step (forward, mean-squared
loss, backward, optimizer step; ``torch.optim.SGD`` for ``nn.Linear``, ``AnalogSGD`` for
the analog layer; the gradients are still held). ``peak`` is the process's maximum RSS
since the baseline (``VmHWM``, reset there), less the baseline. The analog layer has the
default ``SingleRPUConfig`` with a ``ConstantStepDevice`` (default mapping: 512 x 512
tiles). ``tensors`` is what the layer's tensors themselves hold (weights, per-device
arrays, hidden weights): the least any layout of them can take. Linux only (``/proc``).

    python benchmarks/memory.py [--size 4096] [--batch 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _timing import print_table

MIB = 2**20


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def _reset_peak() -> None:
    """Start the peak (VmHWM) again from the current RSS (Linux 4.0 and later), so that
    the warm-up's peak does not count."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_mib() -> float:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmHWM:")[1].split()[0]) / 1024  # kB


def _trim_heap() -> None:
    """glibc ``malloc_trim(0)``, so that the baseline holds no freed memory of the warm-up."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


def _tensor_mib(layer: object) -> float:
    """MiB of the distinct storages of the layer's parameters and tiles' tensors."""
    import torch

    storages: dict[int, int] = {}

    def add(t: object) -> None:
        if isinstance(t, torch.Tensor):
            s = t.untyped_storage()
            storages[s.data_ptr()] = s.nbytes()

    for p in layer.parameters():  # type: ignore[attr-defined]
        add(p)
    for tile in getattr(layer, "analog_tiles", lambda: [])():
        add(tile.weights)
        for array in getattr(tile, "device_arrays", {}).values():
            add(array)
        add(getattr(tile, "hidden_weights", None))
    return sum(storages.values()) / MIB


def child(kind: str, size: int, batch: int) -> None:
    import gc

    import torch

    from aihw.devices import ConstantStepDevice, SingleRPUConfig
    from aihw.nn import AnalogLinear
    from aihw.optim import AnalogSGD

    torch.set_num_threads(1)

    def analog(n: int) -> AnalogLinear:
        return AnalogLinear(n, n, rpu_config=SingleRPUConfig(device=ConstantStepDevice()))

    def step(layer: torch.nn.Module, optimizer: torch.optim.Optimizer, n: int) -> None:
        x = torch.randn(batch, n)
        target = torch.randn(batch, n)
        loss = torch.nn.functional.mse_loss(layer(x), target)
        loss.backward()
        optimizer.step()

    # The same warm-up for both kinds: libraries, kernels and engine threads loaded.
    for small in (torch.nn.Linear(64, 64), analog(64)):
        step(small, AnalogSGD(small.parameters(), lr=0.01), 64)
    gc.collect()
    _trim_heap()
    base = _rss_mib()
    _reset_peak()
    layer: torch.nn.Module = torch.nn.Linear(size, size) if kind == "linear" else analog(size)
    built, built_peak = _rss_mib() - base, _peak_mib() - base
    optimizer = (
        torch.optim.SGD(layer.parameters(), lr=0.01)
        if kind == "linear"
        else AnalogSGD(layer.parameters(), lr=0.01)
    )
    step(layer, optimizer, size)
    stepped, step_peak = _rss_mib() - base, _peak_mib() - base
    result = {
        "built": built,
        "built_peak": built_peak,
        "stepped": stepped,
        "step_peak": step_peak,
        "tensors": _tensor_mib(layer),
    }
    print(json.dumps(result))


def measure(kind: str, size: int, batch: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--size", str(size), "--batch", str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--child", choices=("linear", "analog"), help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()  # the nox session passes every script the same options
    if args.child:
        child(args.child, args.size, args.batch)
        return
    if not os.path.exists("/proc/self/statm"):
        print("memory.py reads /proc/self/statm: Linux only")
        return
    linear = measure("linear", args.size, args.batch)
    analog = measure("analog", args.size, args.batch)
    rows = []
    for key, what in (
        ("tensors", "the layer's tensors"),
        ("built", "after construction"),
        ("built_peak", "construction peak"),
        ("stepped", "after one step"),
        ("step_peak", "peak up to the step"),
    ):
        rows.append(
            [what, f"{linear[key]:.0f}", f"{analog[key]:.0f}", f"{analog[key] / linear[key]:.2f}x"]
        )
    print(f"{args.size} x {args.size}, batch {args.batch}, 1 thread; MiB above the baseline")
    print_table(["", "nn.Linear", "AnalogLinear", "analog/Linear"], rows)


if __name__ == "__main__":
    main()

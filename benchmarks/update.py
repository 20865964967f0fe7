"""Pulsed update of one tile: native engine vs the plain-torch reference, in one run.

Workload (PERFORMANCE.md, issue 14): 512x512 tile, batch 64, BL 31, constant-step device
with the reference toolkit's defaults, x ~ U(-1, 1), error d ~ N(0, 1) * scale, lr 0.1.
Prints median times per error scale at 1 and 2 threads against issue 14's goals (the
reference toolkit's C++ figures divided by 5), pulses per second and ns per pulse, the
noise-free update against its goal, and native vs reference.

    python benchmarks/update.py [--size 512] [--batch 64] [--repeats 20] [--busy]
    python benchmarks/update.py --laws   # one row per step-law device (d scale 1e-2)
    python benchmarks/update.py --compounds   # compound tiles against one device
    python benchmarks/update.py --device cuda   # the CUDA kernels against torch's addmm_

``--device cuda`` (issue 15) times the update on the GPU for 512x512 and 4096x4096 tiles,
batch 64 and 1024, at every d scale, against torch's ``addmm_`` of the same shape (the
floor: a dense rank-``batch`` update), with CUDA events; the goal is 3x the ``addmm_`` at
4096x4096, batch 1024, d scale 1e-2.
"""

from __future__ import annotations

import argparse
import copy
from functools import partial

import torch
from _busy import add_busy_argument, busy, busy_label
from _timing import median_ms, print_table

from aihw.core import engine
from aihw.core.reference import pulsed_update_reference
from aihw.core.tiles import AnalogTile
from aihw.devices import ConstantStepResistiveDevice, get_device

#: The devices of the --laws table (their registry names), one per step law or variant.
#: Issue 14's goals for the default workload, 1 thread, quiet: ms per update by d scale
#: (a fifth of the reference toolkit's C++ update measured on the same machine).
GOAL_MS = {1e-5: 0.24, 1e-3: 2.7, 1e-2: 27.0, 1e-1: 280.0, 1.0: 840.0}
#: 2 threads at least this much faster than 1 from d scale 1e-3 up.
GOAL_SPEEDUP = 1.7
#: With competing load (--busy), 2 threads at most this many times slower than 1 thread.
GOAL_BUSY_SLOWDOWN = 1.5
#: Without cycle-to-cycle noise at d scale 1e-2: 3x under the 110 ms the update took with
#: noise when the issue was filed.
GOAL_NOISE_FREE_MS = 110.0 / 3

LAW_DEVICES = (
    "ConstantStep",
    "LinearStep",
    "SoftBounds",
    "SoftBoundsReference",
    "ExpStep",
    "PowStep",
    "PiecewiseStep",
)


def _verdict(ok: bool, busy_run: bool) -> str:
    """met/MISSED; with competing load, the quiet-machine goals are only shown."""
    return "(quiet goal)" if busy_run else ("met" if ok else "MISSED")


def _speedup_verdict(ms: float, ms2: float, busy_run: bool) -> str:
    """Quiet: 2 threads at least GOAL_SPEEDUP times faster. Under load (issue 14): 2 threads
    at most GOAL_BUSY_SLOWDOWN times the 1-thread time."""
    if busy_run:
        return f" {'met' if ms2 <= GOAL_BUSY_SLOWDOWN * ms else 'MISSED'}"
    return f" {'met' if ms / ms2 >= GOAL_SPEEDUP else 'MISSED'}"


def make_inputs(size: int, batch: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, size, generator=generator) * 2 - 1
    d = torch.randn(batch, size, generator=generator) * scale
    return x, d


def time_native(tile: AnalogTile, x, d, lr, threads, repeats) -> tuple[float, int]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        ms = median_ms(lambda: tile.update(x, d, lr=lr), repeats=repeats)
        tile.update(x, d, lr=lr)
        return ms, tile.last_update_pulses
    finally:
        torch.set_num_threads(previous)


def time_reference(tile: AnalogTile, x, d, lr, repeats) -> float:
    device = tile.resistive_device
    weights = tile.weights.clone()
    return median_ms(
        lambda: pulsed_update_reference(
            weights,
            x,
            d,
            device.step_law(),
            tile.device_arrays,
            device.law_scalars(),
            lr,
            device.granularity(),
            tile.update_parameters,
            tile.seed,
            0,
        ),
        repeats=repeats,
        warmup=1,
    )


def laws_table(args) -> None:
    """Native vs reference for every step-law device, at d scale 1e-2."""
    x, d = make_inputs(args.size, args.batch, 1e-2)
    threads = torch.get_num_threads()
    rows = []
    for name in LAW_DEVICES:
        device = get_device(name)
        base = AnalogTile(args.size, args.size, device, seed=1)
        tile = copy.deepcopy(base)
        assert tile.uses_native(), f"{name}: the engine does not run {device.law!r}"
        native_ms, pulses = time_native(tile, x, d, args.lr, threads, args.repeats)
        reference_ms = time_reference(base, x, d, args.lr, args.reference_repeats)
        rows.append(
            [
                name,
                device.law,
                f"{native_ms:.2f}",
                f"{reference_ms:.1f}",
                f"{reference_ms / native_ms:.1f}x",
                pulses,
                f"{pulses / native_ms * 1e3:.3g}",
                f"{native_ms * 1e6 / pulses:.2f}",
            ]
        )
    print(
        f"step laws, {args.size}x{args.size}, batch {args.batch}, BL 31, lr {args.lr}, "
        f"d scale 1e-2, {threads} threads, device defaults"
    )
    print_table(
        ["device", "law", "native ms", "reference ms", "ratio", "pulses", "pulses/s", "ns/pulse"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--reference-repeats", type=int, default=3)
    parser.add_argument(
        "--laws", action="store_true", help="only the per-device table of the step laws"
    )
    parser.add_argument(
        "--compounds",
        action="store_true",
        help="only the compound tiles against one device (benchmarks/compound_update.py)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: the GPU table instead (needs the CUDA kernels and a GPU)",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=None, help="--device cuda: only these sizes"
    )
    add_busy_argument(parser)
    args = parser.parse_args()
    if args.device == "cuda":
        cuda_table(args)
        return
    print(busy_label(args.busy))
    with busy(args.busy):
        run(args)


#: Issue 15's GPU goal: the update within this factor of torch's addmm_ of the same shape
#: at 4096x4096, batch 1024, d scale 1e-2.
GOAL_CUDA_ADDMM = 3.0


def cuda_table(args: argparse.Namespace) -> None:
    """GPU update times against ``addmm_`` of the same shape, every d scale."""
    from _cuda import cuda_median_ms, require_cuda

    require_cuda()
    device = torch.device("cuda")
    rows = []
    sizes = args.sizes or [512, 4096]
    for size in sizes:
        base = AnalogTile(size, size, ConstantStepResistiveDevice(), seed=1).to(device)
        w = torch.zeros(size, size, device=device)
        for batch in (64, 1024):
            generator = torch.Generator().manual_seed(0)
            x = (torch.rand(batch, size, generator=generator) * 2 - 1).to(device)
            z = torch.randn(batch, size, generator=generator).to(device)
            floor = cuda_median_ms(partial(w.addmm_, z.T, x, alpha=-args.lr), args.repeats)
            for scale in (1e-5, 1e-3, 1e-2, 1e-1, 1.0):
                d = z * scale
                tile = copy.deepcopy(base)
                ms = cuda_median_ms(partial(tile.update, x, d, lr=args.lr), args.repeats)
                pulses = int(tile.last_update_pulses)
                goal = size == 4096 and batch == 1024 and scale == 1e-2
                verdict = f" {'met' if ms / floor <= GOAL_CUDA_ADDMM else 'MISSED'}" if goal else ""
                rows.append(
                    [
                        size,
                        batch,
                        f"{scale:g}",
                        pulses,
                        f"{ms:.3f}",
                        f"{pulses / ms * 1e3:.3g}",
                        f"{floor:.3f}",
                        f"{ms / floor:.1f}x{verdict}",
                    ]
                )
    name = torch.cuda.get_device_name(device)
    print(
        f"CUDA pulsed update on {name}: constant step (dw_min_std 0.3), BL 31, lr {args.lr}; "
        f"addmm_ of the same shape as the floor (goal: {GOAL_CUDA_ADDMM:g}x at 4096, batch "
        "1024, d scale 1e-2)"
    )
    print_table(
        ["size", "batch", "d scale", "pulses", "update ms", "pulses/s", "addmm_ ms", "/addmm_"],
        rows,
    )


def run(args: argparse.Namespace) -> None:
    if args.laws:
        laws_table(args)
        return
    if args.compounds:
        import compound_update

        compound_update.run(args)
        return

    base = AnalogTile(args.size, args.size, ConstantStepResistiveDevice(), seed=1)
    default_workload = args.size == 512 and args.batch == 64 and args.lr == 0.1
    rows = []
    busy_seen = False
    for scale in (1e-5, 1e-3, 1e-2, 1e-1, 1.0):
        x, d = make_inputs(args.size, args.batch, scale)
        ms, pulses = time_native(copy.deepcopy(base), x, d, args.lr, 1, args.repeats)
        ms2, _ = time_native(copy.deepcopy(base), x, d, args.lr, 2, args.repeats)
        busy_seen = busy_seen or engine.cores_busy()
        goal = GOAL_MS[scale] if default_workload else None
        speedup_goal = scale >= 1e-3
        rows.append(
            [
                f"{scale:g}",
                pulses,
                f"{ms:.2f}",
                f"{pulses / ms * 1e3:.3g}",
                f"{ms * 1e6 / max(pulses, 1):.2f}",
                "-" if goal is None else f"{goal:g} {_verdict(ms <= goal, args.busy)}",
                f"{ms2:.2f}",
                f"{ms / ms2:.2f}x" + (_speedup_verdict(ms, ms2, args.busy) if speedup_goal else ""),
            ]
        )
    print(
        f"native pulsed update, {args.size}x{args.size}, batch {args.batch}, BL 31, "
        f"constant step (dw_min_std 0.3), lr {args.lr}; goals: issue 14"
        + ("" if default_workload else " (stated for the default workload only)")
    )
    print_table(
        [
            "d scale",
            "pulses",
            "1 thread ms",
            "pulses/s",
            "ns/pulse",
            "goal ms",
            "2 threads ms",
            f"speedup (goal {GOAL_SPEEDUP}x from 1e-3)"
            if not args.busy
            else f"speedup (busy goal >= {1 / GOAL_BUSY_SLOWDOWN:.2f}x from 1e-3)",
        ],
        rows,
    )
    if busy_seen:
        print(
            "(the engine found the cores busy during the 2-thread runs: other processes held "
            "them, so its loops ran on the calling thread; see engine-contract.md §5)"
        )

    print()
    quiet = AnalogTile(args.size, args.size, ConstantStepResistiveDevice(dw_min_std=0.0), seed=1)
    x, d = make_inputs(args.size, args.batch, 1e-2)
    noisy_ms, _ = time_native(copy.deepcopy(base), x, d, args.lr, 1, args.repeats)
    quiet_ms, _ = time_native(quiet, x, d, args.lr, 1, args.repeats)
    verdict = f"goal <= {GOAL_NOISE_FREE_MS:.1f} ms: {'met' if quiet_ms <= GOAL_NOISE_FREE_MS else 'MISSED'}"
    print(
        f"without cycle-to-cycle noise at d scale 1e-2, 1 thread: {quiet_ms:.2f} ms "
        f"(with noise {noisy_ms:.2f} ms; {verdict if default_workload else 'no goal here'})"
    )

    print()
    x, d = make_inputs(args.size, args.batch, 1e-2)
    tile = copy.deepcopy(base)
    native_ms, _ = time_native(tile, x, d, args.lr, torch.get_num_threads(), args.repeats)
    reference_ms = time_reference(base, x, d, args.lr, args.reference_repeats)
    print(f"native vs reference at d scale 1e-2, {torch.get_num_threads()} threads")
    print_table(
        ["native ms", "reference ms", "reference / native"],
        [[f"{native_ms:.2f}", f"{reference_ms:.1f}", f"{reference_ms / native_ms:.1f}x"]],
    )


if __name__ == "__main__":
    main()

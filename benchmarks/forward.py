"""Analog forward with the default periphery vs ``torch.nn.Linear``, in one run.

Layers: ``AnalogLinear(rpu_config=InferenceRPUConfig())`` (the
docs/physics/periphery.md#io-parameters forward periphery: 7-bit DAC, 9-bit ADC, output noise 0.06,
abs-max noise management, iterative bound management) against ``torch.nn.Linear`` of the same shape,
both with a bias, both under ``torch.no_grad()``; x ~ N(0, 1). Prints median times and their ratio,
for the compiled periphery stages (native) and the plain-torch reference stages, at 1 and 2
torch threads (the tiles keep their automatic thread count, as users get it).
``nn.Linear`` and the analog layer are timed alternately, call by call, so that their
ratio is robust to a machine whose load changes during the run. Layers wider than 512 are
split into 512 x 512 tiles (the default mapping), each with its own periphery.

    python benchmarks/forward.py [--repeats 20] [--quick] [--busy [N]]
    python benchmarks/forward.py --device cuda [--sizes 4096] [--batch 1024]

``--device cuda`` times the same pair on the GPU (CUDA events, alternately, in one run) at
4096, batch 1024 unless told otherwise; issue 15's goal is 1.3x ``nn.Linear`` there.

``--busy`` runs competing CPU-bound processes during the measurement (benchmarks/_busy.py).
"""

from __future__ import annotations

import argparse

import torch
from _busy import add_busy_argument, busy, busy_label
from _timing import median_ms, paired_median_ms, print_table

from aihw.devices import InferenceRPUConfig
from aihw.nn import AnalogLinear

CASES = [  # (size, batch)
    (256, 64),
    (512, 64),
    (1024, 1),
    (1024, 64),
    (1024, 512),
    (4096, 64),
]


def set_backend(layer: AnalogLinear, backend: str) -> None:
    """Every tile of the layer (a layer wider than 512 has several)."""
    for tile in layer.analog_tiles():
        tile.backend = backend


def bench(size: int, batch: int, threads: int, repeats: int, with_reference: bool) -> list:
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, size, generator=generator)
    linear = torch.nn.Linear(size, size)
    analog = AnalogLinear(size, size, rpu_config=InferenceRPUConfig(), seed=0)
    reps = max(3, repeats // 4) if size >= 4096 or batch >= 512 else repeats
    with torch.no_grad():
        set_backend(analog, "native")
        # Alternating calls: the ratio holds even when the machine's load changes.
        t_linear, t_native = paired_median_ms(lambda: linear(x), lambda: analog(x), reps)
        t_ref = None
        if with_reference:
            set_backend(analog, "reference")
            t_ref = median_ms(lambda: analog(x), repeats=max(3, reps // 4), warmup=1)
    row = [
        size,
        batch,
        threads,
        f"{t_linear:.3f}",
        f"{t_native:.3f}",
        f"{t_native / t_linear:.2f}x",
    ]
    if with_reference:
        row += [f"{t_ref:.2f}", f"{t_ref / t_native:.1f}x"]
    else:
        row += ["-", "-"]
    return row


#: Issue 15: the default-periphery forward within 1.3x of nn.Linear on the GPU.
GOAL_CUDA_RATIO = 1.3
CUDA_GOAL_CASE = (4096, 1024)


def cuda_rows(sizes: list[int], batch: int, repeats: int) -> None:
    """The GPU rows: the analog layer vs ``nn.Linear``, both on the GPU."""
    from _cuda import cuda_device_or_exit, cuda_paired_median_ms, engine_note

    device = cuda_device_or_exit()
    rows = []
    for size in sizes:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(batch, size, generator=generator).to(device)
        linear = torch.nn.Linear(size, size).to(device)
        # The default mapping (512 x 512 tiles, the goal's case) and one tile for the whole
        # layer: their difference is the cost of the split, the rest is the periphery's.
        for one_tile in (False, True):
            config = InferenceRPUConfig()
            if one_tile:
                config.mapping.max_input_size = config.mapping.max_output_size = 0
            analog = AnalogLinear(size, size, rpu_config=config, seed=0).to(device)
            engines = sorted({tile.engine for tile in analog.analog_tiles()})
            with torch.no_grad():
                t_linear, t_analog = cuda_paired_median_ms(
                    lambda linear=linear, x=x: linear(x),
                    lambda analog=analog, x=x: analog(x),
                    repeats=repeats,
                    warmup=2,
                )
            ratio = t_analog / t_linear
            goal = "-"
            if (size, batch) == CUDA_GOAL_CASE and not one_tile:
                goal = f"<= {GOAL_CUDA_RATIO:g}x {'met' if ratio <= GOAL_CUDA_RATIO else 'MISSED'}"
            rows.append(
                [size, batch, len(list(analog.analog_tiles())), "/".join(engines),
                 f"{t_linear:.3f}", f"{t_analog:.3f}", f"{ratio:.2f}x", goal]
            )  # fmt: skip
            del analog
    print(
        f"inference forward on {torch.cuda.get_device_name(device)}, default periphery, "
        f"x ~ N(0, 1); tiles run the {engine_note()}; goal: issue 15"
    )
    print_table(
        ["size", "batch", "tiles", "engine", "nn.Linear ms", "analog ms", "analog/Linear", "goal"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="skip the reference stages")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="only these sizes")
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: the GPU rows (default sizes 4096, batch 1024) instead of the CPU table",
    )
    parser.add_argument("--batch", type=int, default=1024, help="batch of the GPU rows")
    add_busy_argument(parser)
    args = parser.parse_args()
    if args.device == "cuda":
        cuda_rows(args.sizes or [4096], args.batch, args.repeats)
        return
    previous = torch.get_num_threads()
    rows = []
    cases = [c for c in CASES if args.sizes is None or c[0] in args.sizes]
    try:
        with busy(args.busy):
            for threads in (1, 2):
                for size, batch in cases:
                    rows.append(bench(size, batch, threads, args.repeats, not args.quick))
    finally:
        torch.set_num_threads(previous)
    print(f"inference forward, default periphery, x ~ N(0, 1), {busy_label(args.busy)}")
    print_table(
        [
            "size",
            "batch",
            "threads",
            "nn.Linear ms",
            "analog ms",
            "analog/Linear",
            "reference ms",
            "reference/analog",
        ],
        rows,
    )


if __name__ == "__main__":
    main()

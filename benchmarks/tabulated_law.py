"""A step law written in Python: on the reference path vs tabulated into ``piecewise_step``.

Uses the example plugin's ``saturating_step`` law (examples/aihw-device-example; imported
from the source tree when the plugin is not installed). Prints, per tile size, the median
update time of ``SaturatingDevice`` (the Python law, plain-torch reference path) and of
``SaturatingTabulatedDevice`` (the same law as 32-node tables, compiled engine when it
executes ``piecewise_step``), their ratio, which path each ran on, the reported tabulation
error and the largest weight difference after the timed updates, in steps.

    python benchmarks/tabulated_law.py [--sizes 64 128 256] [--batch 16] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from _timing import median_ms, print_table

from aihw.core.laws import law_runs_natively
from aihw.core.tiles import AnalogTile

try:
    import aihw_device_example
except ImportError:  # not installed: the source tree registers the law just the same
    sys.path.insert(
        0, str(Path(__file__).resolve().parents[1] / "examples/aihw-device-example/src")
    )
    import aihw_device_example


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args()

    python_device = aihw_device_example.SaturatingDevice(dw_min_std=0.0)
    tabulated_device = aihw_device_example.SaturatingTabulatedDevice(python_device.params)
    tab = tabulated_device.tabulation
    print(tab)
    print(f"piecewise_step runs natively: {law_runs_natively('piecewise_step')}")
    rows = []
    for size in args.sizes:
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(args.batch, size, generator=gen) * 2 - 1
        d = torch.randn(args.batch, size, generator=gen)
        tiles = [AnalogTile(size, size, dev, seed=3) for dev in (python_device, tabulated_device)]
        times = [
            median_ms(
                lambda t=tile, x=x, d=d: t.update(x, d, lr=args.lr), repeats=args.repeats, warmup=1
            )
            for tile in tiles
        ]
        # Both tiles received the same pulses (same seed, same inputs, same devices).
        step = tiles[0].device_arrays["dw_up"]
        diff = float(((tiles[0].weights - tiles[1].weights).abs() / step).max())
        rows.append(
            [
                f"{size}x{size}",
                f"{times[0]:.1f}",
                "native" if tiles[1].uses_native() else "reference",
                f"{times[1]:.1f}",
                f"{times[0] / times[1]:.1f}x",
                f"{tab.max_error:.2g}",
                f"{diff:.2g}",
            ]
        )
    print_table(
        [
            "tile",
            "python law ms",
            "tabulated path",
            "tabulated ms",
            "speed-up",
            "tab. error/step",
            "max |dW|/step",
        ],
        rows,
    )
    if not law_runs_natively("piecewise_step"):
        print(
            "note: the installed engine does not execute piecewise_step yet, so the tabulated "
            "device ran on the reference path too; the speed-up above is measured, not the "
            "native one"
        )


if __name__ == "__main__":
    main()

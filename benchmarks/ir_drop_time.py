"""Eval forward with the time-dependent IR drop vs the same layer without it.

``AnalogLinear(512, 512)`` with ``TorchInferenceRPUConfigIRDropT()`` (the reference
toolkit's defaults: 8 segments, 0.15 ohm per row, 64 time slots) against
``TorchInferenceRPUConfig()`` (the same periphery without the IR drop), both in eval mode
under ``torch.no_grad()``, batch 64, x ~ U(-1, 1). Timed alternately, call by call
(wall-clock medians), and by thread CPU time (``time.thread_time``, steadier on a
shared machine), at 1 torch thread; a line per mode (OnePass, SplitMode, BitWise).

    python benchmarks/ir_drop_time.py [--repeats 40] [--busy [N]]
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import torch
from _busy import add_busy_argument, busy, busy_label
from _timing import paired_median_ms, print_table

from aihw.core import IOParametersIRDropT
from aihw.devices import TorchInferenceRPUConfig, TorchInferenceRPUConfigIRDropT
from aihw.nn import AnalogLinear

MODES = [("OnePass", {}), ("SplitMode", {"inp_res": 1 / 128}), ("BitWise", {})]


def _layer(config: object, size: int) -> AnalogLinear:
    torch.manual_seed(0)
    layer = AnalogLinear(size, size, rpu_config=config)
    layer.eval()
    return layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    add_busy_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = torch.rand(args.batch, args.size) * 2 - 1
    rows = []
    with busy(args.busy), torch.no_grad():
        for mode, fields in MODES:
            io = IOParametersIRDropT(mv_type=mode, **fields)
            irdrop = _layer(TorchInferenceRPUConfigIRDropT(forward=io), args.size)
            plain = _layer(TorchInferenceRPUConfig(), args.size)
            run_irdrop, run_plain = partial(irdrop, x), partial(plain, x)
            with_ms, without_ms = paired_median_ms(
                run_irdrop, run_plain, repeats=args.repeats, warmup=3
            )
            with_cpu, without_cpu = paired_median_ms(
                run_irdrop, run_plain, repeats=args.repeats, warmup=0, clock=time.thread_time
            )
            rows.append([
                mode, f"{with_ms:.2f}", f"{without_ms:.2f}", f"{with_ms / without_ms:.2f}",
                f"{with_cpu:.2f}", f"{without_cpu:.2f}", f"{with_cpu / without_cpu:.2f}",
            ])  # fmt: skip
    load = os.getloadavg()[0]
    print(f"{args.size}x{args.size}, batch {args.batch}, 1 thread, {busy_label(args.busy)}; "
          f"load average {load:.2f}")  # fmt: skip
    print_table(
        ["mode", "IR drop ms", "without ms", "ratio", "IR drop cpu", "without cpu", "ratio"],
        rows,
    )


if __name__ == "__main__":
    main()

"""GPU timing shared by the ``--device cuda`` rows of the benchmark scripts.

CUDA calls return before the GPU has finished, so wall-clock timing of one call measures
the launch only. These helpers time with CUDA events on the current stream, after a
``torch.cuda.synchronize()`` that drains earlier work, and synchronise once per timed
call to read the events.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import torch

from aihw.core import engine


def cuda_device_or_exit() -> torch.device:
    """The current GPU, or exit (status 1) with a message saying why there is none."""
    if not torch.cuda.is_available():
        sys.exit(
            "--device cuda: torch sees no GPU here (torch.cuda.is_available() is False; "
            f"torch {torch.__version__}, built with CUDA {torch.version.cuda}); run on a "
            "machine with an NVIDIA GPU, or leave out --device for the CPU rows"
        )
    return torch.device("cuda", torch.cuda.current_device())


def engine_note() -> str:
    """Which implementation tiles on the GPU use, for the table's title."""
    if engine.cuda_available():
        return "CUDA kernels of aihw-core"
    return (
        "plain-torch reference (this aihw-core has no CUDA kernels compiled in: "
        "cuda_compiled() is False; rebuild with AIHW_CUDA=ON)"
    )


def cuda_median_ms(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Median GPU time of ``fn`` (ms) over ``repeats`` calls after ``warmup`` untimed ones."""
    return cuda_paired_median_ms(fn, None, repeats, warmup)[0]


def cuda_paired_median_ms(
    fn_a: Callable[[], object],
    fn_b: Callable[[], object] | None,
    repeats: int = 10,
    warmup: int = 2,
) -> tuple[float, float]:
    """Medians (ms) of ``fn_a`` and ``fn_b`` timed alternately with CUDA events (``fn_b``
    ``None``: only ``fn_a``, and ``nan`` for it)."""
    for _ in range(warmup):
        fn_a()
        if fn_b is not None:
            fn_b()
    torch.cuda.synchronize()
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            if fn is None:
                continue
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            times.append(start.elapsed_time(stop))
    median_b = statistics.median(times_b) if times_b else float("nan")
    return statistics.median(times_a), median_b

"""GPU rows of the benchmarks (``--device cuda``): timing with CUDA events, and the check
that the CUDA kernels can run at all (a clear message instead of a traceback otherwise)."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import torch

from aihw.core import engine


def require_cuda() -> None:
    """Exit with status 2 and the reason when the CUDA kernels cannot run here."""
    if engine.cuda_available():
        return
    if not torch.cuda.is_available():
        why = "torch sees no GPU (torch.cuda.is_available() is False)"
    elif not engine.native_available():
        why = "the compiled engine does not import"
    else:
        why = "this aihw-core was built without the CUDA kernels (rebuild with AIHW_CUDA=ON)"
    sys.exit(f"--device cuda: {why}")


def cuda_median_ms(fn: Callable[[], object], repeats: int = 20, warmup: int = 3) -> float:
    """Median GPU time of ``fn`` in ms, each call between two CUDA events (the host waits
    only at the end, so launch overhead that the GPU hides is not counted twice)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    pairs = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        pairs.append((start, end))
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in pairs)


def cuda_paired_median_ms(
    fn_a: Callable[[], object], fn_b: Callable[[], object], repeats: int = 20, warmup: int = 3
) -> tuple[float, float]:
    """:func:`cuda_median_ms` of two functions timed alternately, call by call."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    torch.cuda.synchronize()
    events = []
    for _ in range(repeats):
        marks = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
        marks[0].record()
        fn_a()
        marks[1].record()
        fn_b()
        marks[2].record()
        events.append(marks)
    torch.cuda.synchronize()
    a = statistics.median(m[0].elapsed_time(m[1]) for m in events)
    b = statistics.median(m[1].elapsed_time(m[2]) for m in events)
    return a, b

"""Median wall-clock timing shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], repeats: int = 20, warmup: int = 2) -> float:
    """Median of ``repeats`` timed calls of ``fn`` after ``warmup`` untimed ones, in ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def paired_median_ms(
    fn_a: Callable[[], object],
    fn_b: Callable[[], object],
    repeats: int = 20,
    warmup: int = 2,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """Medians (ms) of ``fn_a`` and ``fn_b`` timed alternately, call by call, by ``clock``
    (seconds; default wall-clock, ``time.thread_time`` for this thread's CPU time).

    Alternating makes a ratio of the two robust to load that changes during the run (a
    shared machine): both see the same conditions.
    """
    for _ in range(warmup):
        fn_a()
        fn_b()
    times_a, times_b = [], []
    for _ in range(repeats):
        start = clock()
        fn_a()
        middle = clock()
        fn_b()
        times_b.append(clock() - middle)
        times_a.append(middle - start)
    return 1e3 * statistics.median(times_a), 1e3 * statistics.median(times_b)


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))

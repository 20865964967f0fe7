"""Competing CPU load for the benchmarks' ``--busy`` option.

Users train with data-loader workers and other jobs on the same cores; ``busy(n)`` starts
``n`` processes that spin in a Python loop for as long as the measurement runs, so that a
benchmark sees cores that are not its own (on a 2-core machine, ``n = 3`` gives a load of
about 3 besides the benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

__all__ = ["DEFAULT_BUSY", "add_busy_argument", "busy", "busy_label"]

#: Competing processes of a bare ``--busy``.
DEFAULT_BUSY = 3

_SPIN = "while True:\n    pass\n"


@contextlib.contextmanager
def busy(processes: int) -> Iterator[None]:
    """Run ``processes`` CPU-bound processes (none for ``0``) while the block runs."""
    children = [
        subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.DEVNULL)
        for _ in range(max(0, processes))
    ]
    try:
        if children:
            time.sleep(0.2)  # let them start spinning before anything is timed
        yield
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()


def add_busy_argument(parser: argparse.ArgumentParser) -> None:
    """``--busy [N]``: measure with ``N`` (default :data:`DEFAULT_BUSY`) competing processes."""
    parser.add_argument(
        "--busy",
        type=int,
        nargs="?",
        const=DEFAULT_BUSY,
        default=0,
        metavar="N",
        help=f"run N competing CPU-bound processes during the measurement (bare: {DEFAULT_BUSY})",
    )


def busy_label(processes: int) -> str:
    """What the output says about the load."""
    if processes <= 0:
        return "no competing load"
    return f"{processes} competing CPU-bound processes (--busy {processes})"

"""Names and checks of the device operations between updates (spec C.3).

A pulsed device that decays, diffuses or resets to a biased target gives the tile extra
per-cross-point arrays from its ``sample()`` (spec C.2); a tile runs an operation only
when its array is there, so devices without these features keep their arrays and seeds.
The compiled kernels are in ``cpp/src/device_ops.cpp``, the plain-torch twins in
:mod:`aihw.core.reference_device_ops` (engine contract §9).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "DECAY_SCALE",
    "DIFFUSION_RATE",
    "RESET_BIAS",
    "DEVICE_OP_ARRAYS",
    "check_alpha",
    "check_reset_arguments",
]

#: ``kappa_ij``: the weight keeps ``1 + alpha * (kappa - 1)`` of its distance to the reset
#: bias per decay step; present only when the device decays (``lifetime > 0``).
DECAY_SCALE = "decay_scale"
#: ``rho_ij``: the std of one diffusion step; present only when ``diffusion > 0``.
DIFFUSION_RATE = "diffusion_rate"
#: ``r0_ij``: the reset target (and the point decay moves toward); absent means 0.
RESET_BIAS = "reset_bias"
DEVICE_OP_ARRAYS = (DECAY_SCALE, DIFFUSION_RATE, RESET_BIAS)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def check_alpha(alpha: Any) -> float:
    """``alpha`` of a decay step: a finite number >= 0 (1 is one mini-batch)."""
    if not _is_number(alpha) or alpha < 0:
        raise ValueError(
            f"decay_weights: alpha={alpha!r} is invalid; allowed: a finite number >= 0"
        )
    return float(alpha)


def check_reset_arguments(
    start_column_idx: Any, num_columns: Any, reset_prob: Any, x_size: int
) -> tuple[int, int, float]:
    """Check the columns ``[start, start + num)`` of ``x_size`` and the probability."""
    where = "reset_columns"
    if (
        isinstance(start_column_idx, bool)
        or not isinstance(start_column_idx, int)
        or not (0 <= start_column_idx < x_size)
    ):
        raise ValueError(
            f"{where}: start_column_idx={start_column_idx!r} is invalid; allowed: an integer "
            f"in [0, {x_size - 1}] (the tile has {x_size} columns, the bias column included)"
        )
    room = x_size - start_column_idx
    if (
        isinstance(num_columns, bool)
        or not isinstance(num_columns, int)
        or not (1 <= num_columns <= room)
    ):
        raise ValueError(
            f"{where}: num_columns={num_columns!r} is invalid; allowed: an integer in "
            f"[1, {room}] (columns {start_column_idx} to {x_size - 1} are left)"
        )
    if not _is_number(reset_prob) or not 0 <= reset_prob <= 1:
        raise ValueError(
            f"{where}: reset_prob={reset_prob!r} is invalid; allowed: 0 <= reset_prob <= 1"
        )
    return start_column_idx, num_columns, float(reset_prob)

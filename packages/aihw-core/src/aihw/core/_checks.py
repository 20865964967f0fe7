"""Argument checks shared by the tiles.

Every helper raises with a message that names the parameter, the value it got and what
is allowed, so that a user sees at once which argument to fix. The helpers never modify
their inputs; callers validate everything before touching any state.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

import torch

__all__ = [
    "all_finite",
    "check_floating_tensor",
    "check_last_dim",
    "check_finite",
    "check_learning_rate",
    "check_seed",
    "check_positive_int",
    "check_same_rows",
    "check_tensor_device",
    "SEED_LIMIT",
]

#: Tile seeds are 64-bit Philox keys.
SEED_LIMIT = 2**64

# float16/bfloat16/float64 are widened or narrowed to the engine's float32.
_ACCEPTED_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ("," if t.dim() == 1 else "") + ")"


def check_floating_tensor(name: str, value: Any) -> torch.Tensor:
    """Return ``value`` as a float32 tensor (same device), or raise ``TypeError``.

    Args:
        name: the parameter name used in the message.
        value: the argument to check; integer, bool and complex dtypes are rejected.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}")
    if value.dtype not in _ACCEPTED_FLOATS:
        raise TypeError(
            f"{name} must be a floating-point tensor; got dtype {value.dtype} "
            "(allowed: torch.float32, float16, bfloat16, float64; it is used as float32)"
        )
    return value if value.dtype == torch.float32 else value.to(torch.float32)


def check_last_dim(name: str, value: torch.Tensor, size: int, *, matrix: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` has ``size`` in its last dimension.

    Args:
        name: the parameter name used in the message.
        value: the tensor to check.
        size: the required size of the last dimension.
        matrix: require exactly two dimensions ``(N, size)``.
    """
    if matrix:
        if value.dim() != 2 or value.shape[1] != size:
            raise ValueError(f"{name} has shape {_shape(value)}; expected (N, {size})")
    elif value.dim() < 1 or value.shape[-1] != size:
        raise ValueError(
            f"{name} has shape {_shape(value)}; expected (..., {size}): "
            f"the last dimension must be {size}"
        )


def check_same_rows(x_name: str, x: torch.Tensor, d_name: str, d: torch.Tensor) -> None:
    """Raise ``ValueError`` unless two batches have the same number of rows."""
    if x.shape[0] != d.shape[0]:
        raise ValueError(
            f"{x_name} has {x.shape[0]} rows but {d_name} has {d.shape[0]}; "
            "each row is one sample, so they must match"
        )


def check_finite(name: str, value: torch.Tensor, why: str = "update inputs must be finite") -> None:
    """Raise ``ValueError`` if ``value`` holds a NaN or an infinity."""
    if value.numel() and not all_finite(value):
        raise ValueError(f"{name} contains NaN or Inf; {why}")


def all_finite(value: torch.Tensor) -> bool:
    """Whether ``value`` holds no NaN and no infinity."""
    # A NaN or an infinity makes the sum NaN or infinite, so a finite sum (the cheapest
    # reduction) proves every value finite; only an infinite sum, which finite values can
    # also give by overflowing, needs min and max (finite exactly when every value is).
    if math.isfinite(value.sum().item()):
        return True
    low, high = torch.aminmax(value)
    return math.isfinite(low.item()) and math.isfinite(high.item())


def check_tensor_device(name: str, value: torch.Tensor, device: torch.device) -> None:
    """Raise ``ValueError`` unless ``value`` lives on the tile's ``device``."""
    if value.device != device:
        raise ValueError(
            f"{name} is on {value.device} but the tile is on {device}; "
            f"move one of them (tensor.to(...) or tile.to(...))"
        )


def check_learning_rate(lr: Any, name: str = "lr") -> float:
    """Return ``lr`` as a float, or raise: it must be a finite number ``>= 0``."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        if isinstance(lr, torch.Tensor) and lr.numel() == 1 and not lr.is_complex():
            lr = lr.item()
        else:
            raise TypeError(f"{name}={lr!r} must be a number >= 0; got {type(lr).__name__}")
    lr = float(lr)
    if not math.isfinite(lr):
        raise ValueError(f"{name}={lr} must be a finite number >= 0")
    if lr < 0.0:
        raise ValueError(f"{name}={lr} must be >= 0")
    return float(lr)


def check_seed(seed: Any) -> int:
    """Return ``seed`` as an int, or raise: an integer in ``[0, 2**64)``."""
    allowed = "allowed: an integer in [0, 2**64) or None"
    if isinstance(seed, bool):
        raise TypeError(f"seed={seed!r} must be an integer; {allowed}")
    try:
        seed = operator.index(seed)
    except TypeError:
        raise TypeError(f"seed={seed!r} must be an integer; {allowed}") from None
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed={seed} is out of range; {allowed}")
    return int(seed)


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, or raise: it must be an integer ``>= 1``."""
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be a positive integer")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name}={value!r} must be a positive integer; got {type(value).__name__}"
        ) from None
    if value < 1:
        raise ValueError(f"{name}={value} must be a positive integer")
    return int(value)

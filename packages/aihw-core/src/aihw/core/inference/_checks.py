"""Parameter checks of noise models, converters and compensations, with errors that name
the class, the field, its value and what is allowed."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["check_real", "check_reals", "invalid"]


def invalid(owner: Any, name: str, value: Any, allowed: str) -> NoReturn:
    """Raise ``ValueError("<Class>.<name>=<value> is invalid; allowed: <allowed>")``."""
    raise ValueError(f"{type(owner).__name__}.{name}={value!r} is invalid; allowed: {allowed}")


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(owner: Any, name: str, low: float | None = None, strict: bool = False) -> float:
    """Field ``name`` of ``owner`` as a finite float, ``>= low`` (``> low`` if ``strict``)."""
    value = getattr(owner, name)
    if not _is_real(value) or not math.isfinite(value):
        invalid(owner, name, value, "a finite number")
    if low is not None and (value <= low if strict else value < low):
        invalid(owner, name, value, f"a number {'>' if strict else '>='} {low}")
    return float(value)


def check_reals(owner: Any, name: str, length: int | None = None) -> tuple[float, ...]:
    """Field ``name`` of ``owner`` as a tuple of finite floats (of ``length`` if given)."""
    value = getattr(owner, name)
    ok = isinstance(value, Sequence) and not isinstance(value, str)
    ok = ok and all(_is_real(v) and math.isfinite(v) for v in value)
    if ok and length is not None and len(value) != length:
        ok = False
    if not ok or not value:
        size = f"{length} " if length is not None else "one or more "
        invalid(owner, name, value, f"a list of {size}finite numbers")
    return tuple(float(v) for v in value)

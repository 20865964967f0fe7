"""Checks of device parameters, with errors that name the field, its value and what is allowed.

Every message has the form ``"<ParametersClass>.<field>=<value> is invalid; allowed: ..."``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn

__all__ = ["check_bool", "check_number", "invalid", "is_real"]


def is_real(value: Any) -> bool:
    """A real number that is not a bool (``True`` is an ``int`` to Python)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def invalid(params: Any, name: str, value: Any, allowed: str) -> NoReturn:
    """Raise the ``ValueError`` for field ``name`` of ``params``."""
    raise ValueError(f"{type(params).__name__}.{name}={value!r} is invalid; allowed: {allowed}")


def check_number(params: Any, name: str, low: float | None = None, strict: bool = False) -> float:
    """Check that field ``name`` of ``params`` is a finite number (``>= low`` or ``> low``)."""
    value = getattr(params, name)
    if not is_real(value) or not math.isfinite(value):
        invalid(params, name, value, "a finite number")
    if low is not None and (value <= low if strict else value < low):
        invalid(params, name, value, f"{name} {'>' if strict else '>='} {low}")
    return float(value)


def check_bool(params: Any, name: str) -> bool:
    """Check that field ``name`` of ``params`` is ``True`` or ``False``."""
    value = getattr(params, name)
    if not isinstance(value, bool):
        invalid(params, name, value, "True or False")
    return value

"""Reading an enum field that may be given as the member, its value or its name."""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from ._checks import invalid

__all__ = ["check_enum"]

_E = TypeVar("_E", bound=enum.Enum)


def check_enum(owner: Any, name: str, kind: type[_E]) -> _E:
    """Field ``name`` of ``owner`` as a member of ``kind``: the member itself, its value
    (``"AddNormal"``) or its name (``"ADD_NORMAL"``); else ``ValueError`` naming the class,
    field, value and the allowed values."""
    value = getattr(owner, name)
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        for member in kind:
            if value in (member.value, member.name):
                return member
    if value is None:
        for member in kind:
            if member.value == "None":
                return member
    allowed = ", ".join(repr(m.value) for m in kind)
    invalid(owner, name, value, f"a {kind.__name__} or one of {allowed}")

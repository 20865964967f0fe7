"""Name the distribution when ``aihw.nn``, ``aihw.optim`` or ``aihw.devices`` is missing.

``aihw`` is a namespace package spread over four distributions; without one of them,
``import aihw.nn`` says only ``No module named 'aihw.nn'``. :class:`MissingPartFinder`,
appended last to :data:`sys.meta_path` when ``aihw.core`` is imported, is asked only
after every other finder failed, and for these three names only raises a
``ModuleNotFoundError`` that names the distribution to install. Probes with
:func:`importlib.util.find_spec` still get ``None``: the finder raises only for an
import statement (the import system's own call).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["DISTRIBUTIONS", "MissingPartFinder", "install"]

#: The part of ``aihw`` each distribution provides.
DISTRIBUTIONS = {
    "aihw.nn": "aihw-torch",
    "aihw.optim": "aihw-optim",
    "aihw.devices": "aihw-devices",
}


def _from_import_statement() -> bool:
    """Whether the import system itself (not ``importlib.util.find_spec``) asks."""
    # this <- find_spec <- importlib._bootstrap._find_spec <- its caller
    frame = sys._getframe(3)
    return frame.f_code.co_name == "_find_and_load_unlocked"


class MissingPartFinder:
    """A meta path finder that finds nothing; for a missing part of ``aihw`` it raises
    ``ModuleNotFoundError`` naming the distribution."""

    @staticmethod
    def find_spec(
        fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        distribution = DISTRIBUTIONS.get(fullname)
        if distribution is None or not _from_import_statement():
            return None
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: it is provided by the distribution "
            f"{distribution!r}, which is not installed (pip install {distribution})",
            name=fullname,
        )

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


def install() -> None:
    """Append :class:`MissingPartFinder` to :data:`sys.meta_path` (once)."""
    if MissingPartFinder() not in sys.meta_path:
        sys.meta_path.append(MissingPartFinder())

"""Optional sibling distributions: aihw-torch does not depend on aihw-optim.

Tests that train through :class:`aihw.optim.AnalogSGD` skip when aihw-torch is tested
alone (nox session ``tests(torch)``) and run in the ``integration`` session, where all four
distributions are installed.
"""

from __future__ import annotations

from typing import Any

import pytest


def AnalogSGD(*args: Any, **kwargs: Any) -> Any:
    """Build an ``aihw.optim.AnalogSGD``, or skip the calling test without aihw-optim."""
    optim = pytest.importorskip("aihw.optim", reason="aihw-optim is not installed")
    return optim.AnalogSGD(*args, **kwargs)

"""Layer tests that train through ``aihw.optim.AnalogSGD`` (aihw-torch and aihw-optim)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded() -> None:
    # The seed of aihw-torch's own tests, where these tests come from.
    torch.manual_seed(1234)

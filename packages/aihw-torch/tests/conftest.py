"""Shared fixtures of the aihw-torch tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded() -> None:
    # Tiles draw their seed from torch's global generator: seeding it makes tests repeatable.
    torch.manual_seed(1234)

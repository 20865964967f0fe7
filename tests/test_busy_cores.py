"""Busy cores: the engine reports them, and a layer's prepared inference then runs its
matrix products on the calling thread with the same numbers."""

from __future__ import annotations

import copy

import pytest
import torch

from aihw.core import engine, native_available
from aihw.devices import InferenceRPUConfig
from aihw.nn import AnalogLinear

pytestmark = pytest.mark.skipif(not native_available(), reason="needs the compiled engine")


def test_engine_says_whether_the_cores_are_busy():
    assert isinstance(engine.cores_busy(), bool)


def _forward(layer: AnalogLinear, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return layer(x)


def test_busy_cores_keep_the_numbers_and_the_thread_count(monkeypatch):
    x = torch.randn(16, 1024, generator=torch.Generator().manual_seed(0))
    quiet = AnalogLinear(1024, 64, rpu_config=InferenceRPUConfig(), seed=3)
    busy = copy.deepcopy(quiet)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        expected = [_forward(quiet, x) for _ in range(2)]
        assert quiet.grid.inference_passes[1] is not None  # the prepared grid pass ran
        seen: list[int] = []
        original_mm = torch.mm

        def mm(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return original_mm(*args, **kwargs)

        monkeypatch.setattr(engine, "cores_busy", lambda: True)
        monkeypatch.setattr(torch, "mm", mm)
        got = [_forward(busy, x) for _ in range(2)]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))
    assert seen and set(seen[-2:]) == {1}  # the two splits' products of the last call

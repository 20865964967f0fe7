"""Shared helpers for the cross-package tests."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch

SNIPPETS = Path(__file__).parent / "seed_snippets"


@pytest.fixture(autouse=True)
def _seeded() -> None:
    # Tiles draw their seed from torch's global generator: seeding it makes every test
    # reproducible.
    torch.manual_seed(2024)


@pytest.fixture
def run_snippet():
    """Run a seed-guide snippet file and return its globals (``print`` is captured)."""

    def run(name: str) -> dict:
        printed: list[str] = []
        namespace = runpy.run_path(
            str(SNIPPETS / f"{name}.py"),
            init_globals={"print": lambda *args: printed.append(" ".join(map(str, args)))},
        )
        namespace["_printed"] = printed
        return namespace

    return run


def _tensors(value, prefix=""):
    """``(path, tensor)`` for every tensor in nested dicts and lists (a checkpoint)."""
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{prefix}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _tensors(item, f"{prefix}/{index}")


@pytest.fixture
def tensors_by_path():
    """``{path: tensor}`` of a checkpoint, to compare two of them tensor by tensor."""
    return lambda value: dict(_tensors(value))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``cuda`` run only where the CUDA kernels and a GPU are (tools/gpu_check.sh)."""
    from aihw.core.engine import cuda_available

    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs the CUDA kernels and a GPU (cuda_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)

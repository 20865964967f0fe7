"""Find every tensor a tile (or a grid) holds, however deep: for tests of device moves."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

import torch


def tensors_of(
    obj: Any, path: str = "tile", seen: set[int] | None = None
) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, tensor or generator)`` for every tensor and ``torch.Generator`` reachable
    from ``obj`` through aihw objects, dicts, lists and tuples."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (torch.Tensor, torch.Generator)):
        yield path, obj
        return
    if obj is None or isinstance(obj, (str, bytes, int, float, bool, enum.Enum, type)):
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from tensors_of(value, f"{path}[{key!r}]", seen)
        return
    if isinstance(obj, (list, tuple)):
        for index, value in enumerate(obj):
            yield from tensors_of(value, f"{path}[{index}]", seen)
        return
    if not (type(obj).__module__ or "").startswith("aihw"):
        return
    attributes = getattr(obj, "__dict__", None)
    if attributes is None:
        names = [n for n in getattr(type(obj), "__slots__", ()) if hasattr(obj, n)]
        attributes = {n: getattr(obj, n) for n in names}
    for name, value in attributes.items():
        yield from tensors_of(value, f"{path}.{name}", seen)


def left_behind(obj: Any, device: torch.device) -> list[str]:
    """The paths of the tensors (and generators) of ``obj`` that are not on ``device``."""
    return [
        f"{path} on {value.device}"
        for path, value in tensors_of(obj)
        if value.device.type != device.type
    ]


def states_equal(a: Any, b: Any, path: str = "state") -> list[str]:
    """Where two plain-data states (``aihw.core.tiles.state.tile_state``) differ; tensors
    are compared bit for bit on the CPU, whatever device each is on."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and torch.equal(a.detach().cpu(), b.detach().cpu())
        )
        return [] if same else [path]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path} keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in states_equal(a[k], b[k], f"{path}[{k!r}]")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path} lengths {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in states_equal(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]

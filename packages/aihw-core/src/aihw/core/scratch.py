"""A CPU buffer reused from call to call once nobody holds what was handed out of it.

Large temporaries of a training step (im2col patches, the product of a backward pass) are
megabytes each. glibc serves them from its heap and trims the heap's top when they are
freed, so each step touches fresh pages again: about 700 page faults (1-2 ms) per step
of a small CNN. A :class:`Scratch` keeps the buffer and hands out an alias of it; the next
call reuses it only when no tensor shares its storage any more (no view, no record of an
update, no saved tensor of autograd, no gradient that took it over), else it allocates a
new one as before. Results do not change, only where they are written.

The alias shares the storage without being a view in autograd's sense (``set_``, not
``view``): a custom autograd function may return it, and the caller may change it in
place (an output that is a view made inside a custom function may not be).

The check reads the storage's reference count (``torch._C._storage_Use_Count``, which
torch's own CUDA-graph trees use); where torch lacks it, nothing is reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["MIN_SCRATCH_ELEMENTS", "Scratch"]

#: Smaller buffers come from the allocator's free lists without page faults: not worth
#: the check.
MIN_SCRATCH_ELEMENTS = 1 << 15

_storage_use_count: Callable[[int], int] | None = getattr(torch._C, "_storage_Use_Count", None)


def _use_count(base: torch.Tensor) -> int:
    assert _storage_use_count is not None
    return int(_storage_use_count(base.untyped_storage()._cdata))


class Scratch:
    """One reusable float32 CPU buffer (see the module's docstring).

    :meth:`take` returns a new contiguous alias of the kept buffer when nobody else holds
    any part of it and its size fits, else a new buffer (which it keeps from then on).
    Threads take turns; pickles and copies start empty.
    """

    def __init__(self) -> None:
        self._base: torch.Tensor | None = None
        self._free_count = 0  # the storage's count when only this object holds it
        self._lock = threading.Lock()

    def take(self, shape: Sequence[int]) -> torch.Tensor:
        """An uninitialised float32 CPU tensor of ``shape``."""
        numel = 1
        for size in shape:
            numel *= int(size)
        if _storage_use_count is None or numel < MIN_SCRATCH_ELEMENTS:
            return torch.empty(tuple(shape), dtype=torch.float32)
        with self._lock:  # the alias is made before another thread can count
            base = self._base
            if base is None or base.numel() != numel or _use_count(base) != self._free_count:
                base = torch.empty(numel, dtype=torch.float32)
                self._base = base
                self._free_count = _use_count(base)
            dims = tuple(int(v) for v in shape)
            strides = [1] * len(dims)
            for i in range(len(dims) - 2, -1, -1):
                strides[i] = strides[i + 1] * dims[i + 1]
            alias = torch.empty(0, dtype=torch.float32)
            return alias.set_(base.untyped_storage(), 0, dims, strides)

    def clear(self) -> None:
        """Drop the kept buffer."""
        with self._lock:
            self._base = None

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def __deepcopy__(self, memo: dict[int, Any]) -> Scratch:
        return Scratch()

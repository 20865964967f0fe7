"""Data-parallel training: every rank applies the same analog update.

Under ``torch.distributed`` each rank's tiles record the rows of its own samples. Before
an optimizer applies them, :func:`gather_recorded_updates` replaces every tile's records by
the records of all ranks, concatenated in rank order, with the errors divided by the world
size (the mean over ranks, as ``DistributedDataParallel`` averages digital gradients). The
tiles of all replicas then run one identical update: same rows, same seed, same counters,
so the same pulses, and the replicas stay bit-identical without sending weights.

A weight takes part once it is marked with :func:`mark_distributed` (``aihw.nn``'s
``prepare_for_ddp`` does it); :func:`synchronize_recorded_updates` is what optimizers call
at each step. The marks live in a table of weak references, not on the parameter, so that pickling and
copying a model never meet a process group.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterable
from typing import Any

import torch

from .links import tiles_of

__all__ = [
    "all_gather_held",
    "distributed_group",
    "gather_recorded_updates",
    "is_distributed",
    "mark_distributed",
    "synchronize_recorded_updates",
    "unmark_distributed",
]

#: ``id(param)`` -> (a weak reference to the marked parameter, its process group or
#: ``None`` for the default one). Keyed by id: tensors compare by value, not identity.
_GROUPS: dict[int, tuple[weakref.ref[torch.Tensor], Any]] = {}
#: The tensors of the latest collectives. gloo's worker thread frees a finished
#: collective's work object a moment after the caller's wait() returns; if that drops the
#: last reference to a tensor Python created, the thread needs the GIL, and when that
#: happens while the interpreter shuts down (the last step of a training script) the thread
#: is torn down inside a destructor and the process aborts ("terminate called without an
#: active exception", seen under load). Held here, the tensors are freed by Python instead.
_IN_FLIGHT: list[torch.Tensor] = []


def all_gather_held(outputs: list[torch.Tensor], tensor: torch.Tensor, group: Any = None) -> None:
    """``torch.distributed.all_gather`` whose tensors stay referenced until the next call
    (:data:`_IN_FLIGHT`)."""
    torch.distributed.all_gather(outputs, tensor, group=group)
    _IN_FLIGHT[:] = [*outputs, tensor]


def _entry(param: torch.Tensor) -> tuple[weakref.ref[torch.Tensor], Any] | None:
    entry = _GROUPS.get(id(param))
    return entry if entry is not None and entry[0]() is param else None


def mark_distributed(param: torch.Tensor, group: Any = None) -> None:
    """Make the tiles of ``param`` gather their records over ``group`` (``None``: the
    default process group) before each optimizer step."""
    key = id(param)

    def forget(ref: weakref.ref[torch.Tensor]) -> None:
        if _GROUPS.get(key, (None,))[0] is ref:
            del _GROUPS[key]

    _GROUPS[key] = (weakref.ref(param, forget), group)


def unmark_distributed(param: torch.Tensor) -> None:
    """Undo :func:`mark_distributed` (nothing if ``param`` is not marked)."""
    if _entry(param) is not None:
        del _GROUPS[id(param)]


def is_distributed(param: torch.Tensor) -> bool:
    """Whether ``param`` is marked by :func:`mark_distributed`."""
    return _entry(param) is not None


def distributed_group(param: torch.Tensor) -> Any:
    """The process group ``param`` was marked with (``None``: the default group)."""
    entry = _entry(param)
    return None if entry is None else entry[1]


def synchronize_recorded_updates(params: Iterable[torch.Tensor]) -> None:
    """Gather the records of the tiles of the marked ones among ``params`` over their
    process groups (one :func:`gather_recorded_updates` per group, tiles in order).

    Every rank must call it with the same marked parameters in the same order (an
    optimizer step over replicas of one model does). Under an initialised process group,
    an analog weight that is not marked but has a ``.grad`` (which only
    ``DistributedDataParallel`` gives it) warns: the model was wrapped without
    ``prepare_for_ddp``.
    """
    dist = torch.distributed
    distributed = dist.is_available() and dist.is_initialized()
    if not _GROUPS and not distributed:
        return
    buckets: dict[int, tuple[Any, dict[int, Any]]] = {}
    for param in params:
        entry = _entry(param)
        if entry is None:
            if distributed and param.grad is not None and tiles_of(param):
                _warn_unprepared(param)
            continue
        group = entry[1]
        _, tiles = buckets.setdefault(id(group), (group, {}))
        for tile in tiles_of(param):
            tiles.setdefault(id(tile), tile)
    for group, tiles in buckets.values():
        gather_recorded_updates(list(tiles.values()), group)


def _warn_unprepared(param: torch.Tensor) -> None:
    owner = getattr(param, "analog_owner", "an analog layer's weight")
    warnings.warn(
        f"{owner} {tuple(param.shape)} has a .grad under torch.distributed: the model was "
        "wrapped in DistributedDataParallel without aihw.nn.prepare_for_ddp(model), so "
        "DDP all-reduces zeros for the analog weights and each replica's tiles apply only "
        "their own samples (the replicas drift apart). Call prepare_for_ddp(model) before "
        "DistributedDataParallel(model).",
        UserWarning,
        stacklevel=4,
    )


def _local_rows(tile: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows ``tile`` recorded since its last update, as one ``(x, d)`` pair."""
    records: list[tuple[torch.Tensor, torch.Tensor]] = tile._recorded
    if len(records) == 1:
        return records[0]
    if not records:
        device = tile.device
        return (
            torch.zeros(0, tile.in_size, device=device),
            torch.zeros(0, tile.out_size, device=device),
        )
    return torch.cat([r[0] for r in records]), torch.cat([r[1] for r in records])


def gather_recorded_updates(tiles: list[Any], group: Any = None) -> None:
    """Replace the records of ``tiles`` by those of all ranks of ``group``.

    Each tile ends with one record: the rows of rank 0, then rank 1, ..., with the errors
    ``d`` divided by the world size (the update is then that of the mean of the ranks'
    gradients). Ranks may have recorded different numbers of rows (a short last batch).
    Two collectives for all ``tiles`` together: the row counts, then the rows. Nothing
    happens without an initialised process group or with one rank.

    Args:
        tiles: the same tiles (shapes, order) on every rank of ``group``.
        group: a ``torch.distributed`` process group; ``None`` for the default one.
    """
    dist = torch.distributed
    if not tiles or not dist.is_available() or not dist.is_initialized():
        return
    world = dist.get_world_size(group)
    if world == 1:
        return
    device = tiles[0].device
    rows = [_local_rows(tile) for tile in tiles]
    counts = torch.tensor([x.shape[0] for x, _ in rows], dtype=torch.int64, device=device)
    all_counts = [torch.empty_like(counts) for _ in range(world)]
    all_gather_held(all_counts, counts, group)
    widths = [tile.in_size + tile.out_size for tile in tiles]
    per_rank = [[int(n) for n in c.tolist()] for c in all_counts]
    sizes = [sum(n * w for n, w in zip(c, widths, strict=True)) for c in per_rank]
    longest = max(sizes)
    if longest == 0:
        return
    pieces = [t.reshape(-1).to(device) for x, d in rows for t in (x, d)]
    buffer = torch.zeros(longest, dtype=torch.float32, device=device)
    if pieces:
        local = torch.cat(pieces)
        buffer[: local.numel()] = local
    gathered = [torch.empty_like(buffer) for _ in range(world)]
    all_gather_held(gathered, buffer, group)
    xs: list[list[torch.Tensor]] = [[] for _ in tiles]
    ds: list[list[torch.Tensor]] = [[] for _ in tiles]
    for flat, counts_r in zip(gathered, per_rank, strict=True):
        offset = 0
        for index, (tile, n) in enumerate(zip(tiles, counts_r, strict=True)):
            x_len, d_len = n * tile.in_size, n * tile.out_size
            xs[index].append(flat[offset : offset + x_len].view(n, tile.in_size))
            ds[index].append(flat[offset + x_len : offset + x_len + d_len].view(n, tile.out_size))
            offset += x_len + d_len
    for index, tile in enumerate(tiles):
        tile._recorded.clear()
        if sum(x.shape[0] for x in xs[index]):
            x = torch.cat(xs[index]).to(tile.device)  # a model may span devices
            d = torch.cat(ds[index]).div_(world).to(tile.device)
            tile._recorded.append((x, d))

"""The prepared inference of a :class:`~aihw.core.grid.TileGrid`.

The tiles of a column split read the same input slice; where their DACs are identical and
draw no random numbers, a :class:`~aihw.core.first_pass.SharedFirstPass` runs them
together on the split's storage (the tiles' rows stacked), with each tile's own output
stage: the same numbers as tile by tile, with fewer, larger matrix products; a
:class:`~aihw.core.first_pass.GridPass` runs every split's in one step. The passes are
prepared once and kept while their key stays the same: each tile's ``version``, its
forward periphery, that periphery's IO parameters and their ``version``, and the tiles'
weight storage (counters and pointers only).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .first_pass import GridPass, SharedFirstPass

if TYPE_CHECKING:
    from .grid import TileGrid

__all__ = ["DATA_PTR", "TILE_KEY", "WEIGHTS", "Columns", "PreparedInference", "inference_key"]

#: What the prepared passes depend on besides the weights' storage: each tile's version
#: (backend, threads, peripheries), its forward periphery, IO parameters and their version.
#: Read from the attributes behind ``TileBase.version`` and ``forward_periphery``: each
#: property read is a Python call, and the key is read on every inference forward.
TILE_KEY: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(
    "_version", "_forward_periphery", "_forward_periphery.io", "_forward_periphery.io.version"
)
WEIGHTS = operator.attrgetter("weights")
DATA_PTR = Tensor.data_ptr

#: Per column split its first pass (``None``: tile by tile) and its ``[in, out]`` matrix.
Columns = list[tuple[SharedFirstPass | None, Tensor | None]]


def _tile_key_slowly(tile: Any) -> tuple[Any, ...]:
    """``TILE_KEY(tile)`` for a tile without a forward periphery."""
    p = tile.forward_periphery
    io = None if p is None else p.io
    return (tile.version, p, io, None if io is None else io.version)


def inference_key(grid: TileGrid) -> tuple[Any, ...]:
    """What the prepared passes of ``grid`` depend on: per tile :data:`TILE_KEY`, the
    tiles' weight storage, and whether the grid scales its weights. (C-level getters:
    this runs on every inference forward.)"""
    tiles = grid.tiles
    try:
        attributes = tuple(map(TILE_KEY, tiles))
    except AttributeError:  # an exact forward (no periphery)
        attributes = tuple(map(_tile_key_slowly, tiles))
    return (grid.scales is None, attributes, tuple(map(DATA_PTR, map(WEIGHTS, tiles))))


class PreparedInference:
    """A grid's prepared passes: ``plan`` is ``(key, columns, grid pass)`` as last built
    (``columns`` ``None`` where the shared inference does not apply), or ``None``.
    Pickles and copies leave the plan behind (it holds buffers and pointers)."""

    def __init__(self) -> None:
        self.plan: tuple[Any, Columns | None, GridPass | None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"plan": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.plan = None

    def run(self, grid: TileGrid, x: Tensor, bias: Tensor | None = None) -> Tensor | None:
        """``grid``'s output for ``x`` by the passes (prepared first if the key moved),
        or ``None`` where they do not apply (groups, weight scaling, an analog bias column,
        tiles not on the compiled CPU path, a drift-compensation factor); a column split
        that cannot share its first pass runs tile by tile. A ``bias`` (float32, contiguous, with a float32 ``x``) is
        added: by the engine, with the last split's sum, where there are several splits.
        (A grid of one tile gains from this too: no autograd node, no per-call checks.)
        """
        if x.shape[0] == 0:
            return None  # the general path: no tile sees an empty batch
        tiles = grid.tiles
        key = inference_key(grid)
        plan = self.plan
        if plan is None or plan[0] != key:
            plan = self.plan = (key, *self.build(grid))
        _, columns, grid_pass = plan
        if columns is None:
            return None
        x32 = x if x.dtype == torch.float32 else x.to(torch.float32)
        if not x32.is_contiguous():
            x32 = x32.contiguous()
        if grid_pass is not None:  # every split shared: the whole grid in one step
            result: Tensor | None = grid_pass(x32, bias)
            if result is not None:
                return result if result.dtype == x.dtype else result.to(x.dtype)
        n_c = len(columns)
        out: Tensor | None = None
        bias_added = bias is None
        for c, (shared, matrix) in enumerate(columns):
            start, length = grid.col_splits[c]
            if shared is not None and matrix is not None:
                # Later splits go to a buffer that the engine adds into the first (a new
                # one: this path is rare, and a shared one would race between threads).
                scratch = None if out is None else torch.empty_like(out)
                last_sum = out is not None and c == n_c - 1
                y = shared(x32, matrix, start, tiles[c].num_threads, scratch, out,
                           bias if last_sum else None)  # fmt: skip
                if y is not None:
                    bias_added = bias_added or last_sum
                    out = y if out is None else out
                    continue
            # Tile by tile.
            xc = x32 if n_c == 1 else x32[:, start : start + length].contiguous()
            y = torch.cat([tiles[i].forward(xc) for i in range(c, len(tiles), n_c)], dim=-1)
            out = y if out is None else out.add_(y)
        if out is not None and not bias_added and bias is not None:
            out = out.add_(bias)
        return out if out is None or out.dtype == x.dtype else out.to(x.dtype)

    @staticmethod
    def build(grid: TileGrid) -> tuple[Columns | None, GridPass | None]:
        """Per column split: its :class:`SharedFirstPass` (``None``: tile by tile) and its
        ``[in, out]`` matrix, ``None`` where the shared inference does not apply; and the
        :class:`GridPass` of them all where every split has one."""
        n_c = len(grid.col_splits)
        if grid.groups != 1 or grid.scales is not None or grid.analog_bias:
            return None, None
        tiles = grid.tiles
        # The shared first pass drives the CPU engine (host buffers): tiles on a GPU go
        # tile by tile, whichever engine runs their periphery there.
        if not all(
            t.forward_periphery is not None and t.device.type == "cpu" and t.periphery_uses_native()
            for t in tiles
        ):
            return None, None
        if any(getattr(t, "_alpha", None) is not None for t in tiles):
            return None, None  # a compensation factor: each tile's forward applies it
        if any(getattr(t, "_own_pass", False) for t in tiles):
            return None, None  # modified weights or output scales (hardware-aware training)
        columns: Columns = []
        for c in range(n_c):
            column = grid.column_tiles(c)
            master = grid.column_storage(c)
            shared = None
            if _stacked_in(grid, master, c):
                shared = SharedFirstPass.build([t.forward_periphery for t in column])
            columns.append((shared, None if shared is None else master.t()))
        grid_pass = None
        splits = [
            (shared, matrix, grid.col_splits[c][0], tiles[c].num_threads)
            for c, (shared, matrix) in enumerate(columns)
            if shared is not None and matrix is not None
        ]
        if len(splits) == n_c:
            grid_pass = GridPass.build(splits)
        return columns, grid_pass


def _stacked_in(grid: TileGrid, master: Tensor, c: int) -> bool:
    """Whether the tiles of column split ``c`` are its storage's consecutive row blocks."""
    for i in range(c, len(grid.tiles), len(grid.col_splits)):
        start, length = grid.rows(i)
        weights = grid.tiles[i].weights
        if weights.data_ptr() != master[start].data_ptr() or weights.shape[0] != length:
            return False
    return master.is_contiguous() and master.shape[0] == grid.out_size

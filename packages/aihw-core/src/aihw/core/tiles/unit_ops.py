"""What a compound tile does to one of its device tiles besides the ordinary update:
read columns or rows with one-hot vectors through the tile's periphery, write rank-1
pulsed updates with other update parameters, reset chosen elements
(docs/physics/compounds.md).

Every operation is a call of the ordinary tile machinery (the periphery pass, the pulsed
update, the column reset), so it runs in the compiled engine where the tile does and in
the plain-torch reference otherwise, with the tile's own random streams.
"""

from __future__ import annotations

import dataclasses

import torch

from ..io_parameters import BoundManagementType, IOParameters, NoiseManagementType
from ..parameters import UpdateParameters
from .analog import AnalogTile

__all__ = [
    "floor",
    "one_hot",
    "read_io",
    "read_vectors",
    "reset_elements",
    "trunc",
    "write_pulsed",
]

#: Counts are kept within this range before they become integers.
_COUNT_LIMIT = float(2**31)


def trunc(values: torch.Tensor) -> torch.Tensor:
    """``values`` rounded toward zero (clamped to +-2**31 first), by an integer
    conversion: torch's own rounding kernels take milliseconds on small CPU tensors when
    they use several threads."""
    limited = values.clamp(-_COUNT_LIMIT, _COUNT_LIMIT)
    return limited.to(torch.int64).to(values.dtype)


def floor(values: torch.Tensor) -> torch.Tensor:
    """``values`` rounded down (see :func:`trunc`)."""
    toward_zero = trunc(values)
    return toward_zero - (toward_zero > values).to(values.dtype)


def read_io(io: IOParameters, managed: bool = True) -> IOParameters:
    """``io`` for one-hot reads; ``managed=False`` turns noise and bound management off
    (a one-hot input needs neither, and a transfer must not rescale its read)."""
    if managed:
        return dataclasses.replace(io)
    return dataclasses.replace(
        io,
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
    )


def one_hot(indices: list[int], size: int) -> torch.Tensor:
    """float32 ``[len(indices), size]``, row ``r`` the unit vector ``e_{indices[r]}``."""
    out = torch.zeros(len(indices), size, dtype=torch.float32)
    out[torch.arange(len(indices)), torch.tensor(indices, dtype=torch.long)] = 1.0
    return out


def read_vectors(tile: AnalogTile, indices: list[int], columns: bool = True) -> torch.Tensor:
    """Columns ``W e_j`` (``columns=True``, through the forward periphery) or rows
    ``W^T e_i`` (through the backward periphery) of ``tile`` for each index, as rows of
    the result: ``[len(indices), out_size]`` for columns, ``[len(indices), x_size]`` for
    rows (the bias column included)."""
    weights = tile.weights
    if columns:
        x = one_hot(indices, tile.x_size).to(weights.device)
        periphery, matrix = tile.forward_periphery, weights.t()
    else:
        x = one_hot(indices, tile.d_size).to(weights.device)
        periphery, matrix = tile.backward_periphery, weights
    if periphery is None:
        return x @ matrix
    if periphery.io.exact:
        return periphery.run(x, matrix, "reference")
    return periphery.run(x, matrix, tile._periphery_engine(), tile.num_threads)


def write_pulsed(
    tile: AnalogTile,
    x: torch.Tensor,
    d: torch.Tensor,
    lr: float,
    update: UpdateParameters | None = None,
) -> int:
    """``W -= lr d^T x`` on ``tile`` by its pulsed update (``x`` ``[N, x_size]`` with the
    bias column, ``d`` ``[N, d_size]``), under ``update`` instead of the tile's own update
    parameters when given; returns the pulses applied."""
    saved = tile.update_parameters
    if update is not None:
        tile.update_parameters = update
    try:
        tile._update_rows(x.contiguous(), d.contiguous(), lr)
    finally:
        tile.update_parameters = saved
    return int(tile.last_update_pulses)


def reset_elements(tile: AnalogTile, mask: torch.Tensor, prob: float = 1.0) -> None:
    """Reset the devices of ``tile`` where ``mask`` (bool ``[d_size, x_size]``) is set,
    each with probability ``prob`` (docs/physics/device-operations.md#reset): one reset of
    the columns that hold a masked element, after which the other elements of those
    columns get their old values back."""
    columns = torch.nonzero(mask.any(dim=0)).flatten().tolist()
    if not columns:
        return
    hidden = tile.hidden_weights
    old = tile.weights.clone()
    old_hidden = None if hidden is None else hidden.clone()
    start, stop = columns[0], columns[-1] + 1
    tile.reset_columns(start, stop - start, prob)
    keep = ~mask.to(tile.weights.device)
    with torch.no_grad():
        tile.weights.copy_(torch.where(keep, old, tile.weights))
        if hidden is not None and old_hidden is not None:
            hidden.copy_(torch.where(keep, old_hidden, hidden))

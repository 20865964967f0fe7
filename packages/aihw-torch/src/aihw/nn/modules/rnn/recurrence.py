"""The time loop of the recurrent layers, over padded or packed sequences.

A sequence is handled in the packed layout of :class:`torch.nn.utils.rnn.PackedSequence`:
the rows of all time steps one after the other (``sizes[t]`` rows at step ``t``,
non-increasing: the sequences sorted by decreasing length). A padded batch is the case
where every step has all ``N`` rows. The input-to-hidden product of a whole layer is one
pass through its tiles (one update record of all steps); the hidden-to-hidden product
runs step by step, and each step records its own ``(x, d)`` on the tiles.

A state is a tensor ``[N, *]`` or a tuple of them (LSTM ``(h, c)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module, ModuleList

from .cells import AnalogRecurrentCell

__all__ = ["map_state", "run_direction", "run_stack"]


def map_state(fn: Callable[[Tensor], Tensor], state: Any) -> Any:
    """``fn`` applied to each tensor of ``state`` (a tensor or a tuple of tensors)."""
    if isinstance(state, Tensor):
        return fn(state)
    return tuple(fn(part) for part in state)


def _cat_states(states: list[Any]) -> Any:
    if isinstance(states[0], Tensor):
        return torch.cat(states)
    return tuple(torch.cat(list(parts)) for parts in zip(*states, strict=True))


def _rows(state: Any, start: int, stop: int | None = None) -> Any:
    """Rows ``start:stop`` of every tensor of ``state``."""
    return map_state(lambda s: s[start:stop], state)


def run_direction(
    cell: Module, input: Tensor, sizes: Sequence[int], state: Any, reverse: bool
) -> tuple[Tensor, Any]:
    """Run ``cell`` over a packed sequence in one direction.

    Args:
        cell: an :class:`~aihw.nn.AnalogRecurrentCell` (its input gates are computed for
            all steps at once), or any module called ``cell(x_t, state) -> (out, state)``
            (then every step has the same rows).
        input: the packed rows ``[sum(sizes), features]``.
        sizes: the rows of each time step, non-increasing.
        state: the initial state, ``[sizes[0], *]`` per tensor.
        reverse: run from the last step to the first (each sequence starts at its own
            last step, from its row of ``state``).

    Returns:
        The packed outputs ``[sum(sizes), out]`` (in time order) and the final state of
        every sequence (after its last step; after step 0 when ``reverse``).
    """
    fast = isinstance(cell, AnalogRecurrentCell)
    gates = cell.input_gates(input) if fast else input  # type: ignore[operator]
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    steps = range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes))
    outputs: list[Tensor] = [input] * len(sizes)  # placeholders, all replaced
    finished: list[Any] = []  # forward: the states of sequences that ended, last rows first
    initial = state
    rows = sizes[-1] if reverse else sizes[0]
    if reverse and rows < sizes[0]:
        state = _rows(initial, 0, rows)
    step: Any = cell.recur if fast else cell
    for t in steps:
        size = sizes[t]
        if size < rows:  # forward: the last rows' sequences have ended
            finished.append(_rows(state, size))
            state = _rows(state, 0, size)
        elif size > rows:  # reverse: sequences that start here, from their initial state
            state = _cat_states([state, _rows(initial, rows, size)])
        rows = size
        x_t = gates[offsets[t] : offsets[t + 1]]
        out, state = step(x_t, state)
        outputs[t] = out
    if finished:
        state = _cat_states([state, *reversed(finished)])
    return torch.cat(outputs) if len(outputs) > 1 else outputs[0], state


def run_stack(
    cells: ModuleList | Sequence[Module],
    num_layers: int,
    directions: int,
    input: Tensor,
    sizes: Sequence[int],
    states: Sequence[Any],
    dropout: float,
    training: bool,
) -> tuple[Tensor, list[Any]]:
    """Run ``num_layers`` layers of ``directions`` cells each (``cells[l * D + d]``) over a
    packed sequence; ``states[l * D + d]`` is the initial state of each. Dropout (when
    ``training``) on the outputs of all layers but the last, as in ``torch.nn.LSTM``.

    Returns the last layer's packed outputs (directions concatenated) and the final
    state of each cell.
    """
    finals: list[Any] = []
    layer_input = input
    for layer in range(num_layers):
        outputs = []
        for d in range(directions):
            index = layer * directions + d
            out, final = run_direction(cells[index], layer_input, sizes, states[index], d == 1)
            outputs.append(out)
            finals.append(final)
        layer_input = outputs[0] if directions == 1 else torch.cat(outputs, -1)
        if dropout > 0 and training and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, training=True)
    return layer_input, finals

"""``AnalogRNN(cell, input_size, hidden_size, ...)``: the reference toolkit's recurrent
layer, generic over the cell class, so scripts written for it port by changing imports."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module, ModuleList, init

from ...functional import autocast_dtype, check_input_tensor
from ..checks import check_bool, check_positive_int
from ..linear import AnalogLinear
from .cells import AnalogRecurrentCell, check_tile_module_class
from .layers import check_dropout
from .recurrence import run_stack

__all__ = ["AnalogRNN"]


class AnalogRNN(Module):
    """A stack of recurrent layers made of ``cell`` (the reference toolkit's form).

    The input is time first, ``(L, N, input_size)``; the states are a list with one entry
    per layer: the cell's state (``h``, or ``(h, c)`` for an LSTM cell), or
    ``[forward, backward]`` states when ``bidir``. For ``torch.nn``'s call signature
    (``batch_first``, ``h_0`` tensors, packed sequences) use :class:`~aihw.nn.AnalogLSTM`,
    :class:`~aihw.nn.AnalogGRU` or :class:`~aihw.nn.AnalogVanillaRNN`.

    Args:
        cell: the cell class: :class:`~aihw.nn.AnalogLSTMCell`,
            :class:`~aihw.nn.AnalogGRUCell`, :class:`~aihw.nn.AnalogVanillaRNNCell`,
            :class:`~aihw.nn.AnalogLSTMCellCombinedWeight`, or any class called
            ``cell(input_size, hidden_size, bias, rpu_config)`` whose instances map
            ``(x_t, state) -> (output, state)`` and have ``get_zero_state(batch_size)``.
        input_size: the features of the input.
        hidden_size: the features of the hidden state.
        bias: whether the matrices have a bias.
        rpu_config: the tiles' configuration (``None``: floating-point tiles, unless
            ``resistive_device`` is given).
        tile_module_class: the reference toolkit's argument; only ``None``.
        xavier: initialise the weights with ``xavier_uniform_`` and the biases with zeros
            (default: ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` for both).
        num_layers: the number of stacked layers.
        bidir: bidirectional layers (the next layer's input is ``2 * hidden_size``).
        dropout: dropout on the outputs of all layers but the last (in training).
        resistive_device, mapping, update, device, dtype: passed to aihw's cells (as for
            :class:`~aihw.nn.AnalogLinear`); only given to the cell when set.
        seed: if given, the cell ``k`` (layer by layer, forward before backward) is seeded
            with ``seed + 3 * k``.

    Train it with :class:`aihw.optim.AnalogSGD`: every time step's ``(x, d)`` is
    recorded on the tiles and one optimizer step applies them all.
    """

    def __init__(
        self,
        cell: type[Module],
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        xavier: bool = False,
        num_layers: int = 1,
        bidir: bool = False,
        dropout: float = 0.0,
        *,
        resistive_device: Any = None,
        mapping: Any = None,
        update: Any = None,
        seed: int | None = None,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if not (isinstance(cell, type) and issubclass(cell, Module)):
            raise TypeError(
                "AnalogRNN: cell must be a cell class such as AnalogLSTMCell (the class, not "
                f"an instance); got {cell!r}"
            )
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_layers", num_layers)
        check_bool("bias", bias)
        check_bool("xavier", xavier)
        check_bool("bidir", bidir)
        check_tile_module_class(tile_module_class)
        dropout = check_dropout(dropout, num_layers)
        super().__init__()
        extra = {
            name: value
            for name, value in (
                ("resistive_device", resistive_device),
                ("mapping", mapping),
                ("update", update),
                ("device", device),
                ("dtype", dtype),
            )
            if value is not None
        }
        directions = 2 if bidir else 1
        cells: list[Module] = []
        for layer in range(num_layers):
            for _ in range(directions):
                kwargs = dict(extra)
                if seed is not None:
                    kwargs["seed"] = seed + 3 * len(cells)
                size = input_size if layer == 0 else directions * hidden_size
                cells.append(cell(size, hidden_size, bias, rpu_config, **kwargs))
        self.cells = ModuleList(cells)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidir = bidir
        self.dropout = dropout
        self.reset_parameters(xavier)

    @torch.no_grad()
    def init_layers(
        self,
        weight_init_fn: Callable[[Tensor], Any],
        bias_init_fn: Callable[[Tensor], Any] | None = None,
    ) -> None:
        """Initialise every analog matrix with in-place functions of its weight and bias
        (``bias_init_fn`` defaults to ``weight_init_fn``); programmed with ``set_weights``."""
        for module in self.modules():
            if isinstance(module, AnalogLinear):
                weight, bias = module.get_weights()
                weight_init_fn(weight)
                if bias is not None:
                    (bias_init_fn or weight_init_fn)(bias)
                module.set_weights(weight, bias)

    def reset_parameters(self, xavier: bool = False) -> None:
        """``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` for weights and biases, or with
        ``xavier``: ``xavier_uniform_`` weights and zero biases."""
        if xavier:
            self.init_layers(init.xavier_uniform_, init.zeros_)
        else:
            bound = 1.0 / math.sqrt(self.hidden_size)
            self.init_layers(lambda t: t.uniform_(-bound, bound))

    def get_zero_state(self, batch_size: int) -> list[Any]:
        """The zero state of every layer (``[forward, backward]`` per layer when ``bidir``)."""
        states = [cell.get_zero_state(batch_size) for cell in self.cells]  # type: ignore[operator]
        if not self.bidir:
            return states
        return [states[i : i + 2] for i in range(0, len(states), 2)]

    def forward(self, input: Tensor, states: list[Any] | None = None) -> tuple[Tensor, list[Any]]:
        """Run over ``input`` ``(L, N, input_size)`` from ``states`` (zeros by default);
        returns the last layer's outputs ``(L, N, D * hidden_size)`` and the final states
        (the structure of ``states``)."""
        name = type(self).__name__
        first = self.cells[0]
        if isinstance(first, AnalogRecurrentCell):
            check_input_tensor(input, first.analog_layers()[0].grid.device, layer=name)
        elif not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a torch.Tensor; got {type(input).__name__}")
        if input.dim() != 3 or input.shape[-1] != self.input_size or input.shape[0] == 0:
            raise ValueError(
                f"{name}: input has shape {tuple(input.shape)}; expected (L, N, "
                f"{self.input_size}), time first, with L >= 1 and input_size={self.input_size}"
            )
        steps, batch = input.shape[0], input.shape[1]
        if states is None:
            states = self.get_zero_state(batch)
        directions = 2 if self.bidir else 1
        if not isinstance(states, (list, tuple)) or len(states) != self.num_layers:
            raise ValueError(
                f"{name}: states must be a list of {self.num_layers} per-layer states "
                f"(num_layers={self.num_layers}); got {type(states).__name__}"
                + (f" of length {len(states)}" if isinstance(states, (list, tuple)) else "")
            )
        flat: list[Any] = []
        for layer_state in states:
            if self.bidir:
                if not isinstance(layer_state, (list, tuple)) or len(layer_state) != 2:
                    raise ValueError(
                        f"{name}: with bidir=True each layer's state is a list [forward, backward]"
                    )
                flat.extend(layer_state)
            else:
                flat.append(layer_state)
        for index, state in enumerate(flat):
            self._check_state(index, state, batch)
        x = input.reshape(steps * batch, self.input_size)
        out, finals = run_stack(
            self.cells,
            self.num_layers,
            directions,
            x,
            [batch] * steps,
            flat,
            self.dropout,
            self.training,
        )
        amp = autocast_dtype(x)
        if amp is not None:  # as the torch layers: output and states in the autocast dtype
            out = out.to(amp)
            finals = [_to_dtype(f, amp) for f in finals]
        if self.bidir:
            finals = [finals[i : i + 2] for i in range(0, len(finals), 2)]
        return out.reshape(steps, batch, out.shape[-1]), finals

    def _check_state(self, index: int, state: Any, batch: int) -> None:
        cell = self.cells[index]
        if not isinstance(cell, AnalogRecurrentCell):
            return
        parts = [state] if cell.state_parts == 1 else state
        if cell.state_parts == 2 and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise ValueError(
                f"{type(self).__name__}: the state of cell {index} must be a tuple (h, c); "
                f"got {type(state).__name__}"
            )
        for part, size in zip(parts, cell.state_sizes, strict=True):
            if not isinstance(part, Tensor) or tuple(part.shape) != (batch, size):
                shape = tuple(part.shape) if isinstance(part, Tensor) else type(part).__name__
                raise ValueError(
                    f"{type(self).__name__}: the state of cell {index} has shape {shape}; "
                    f"expected ({batch}, {size}) = (batch, hidden_size)"
                )


def _to_dtype(state: Any, dtype: torch.dtype) -> Any:
    """A cell state (a tensor, or a tuple or list of them) in ``dtype``."""
    if isinstance(state, Tensor):
        return state.to(dtype)
    return type(state)(_to_dtype(s, dtype) for s in state)

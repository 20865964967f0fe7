"""Analog recurrent cells: one time step, their input and hidden matrices on analog tiles.

Each matrix is an :class:`~aihw.nn.AnalogLinear` (mapped onto tiles like any other: split
when larger than the mapping's tile size, digital or analog bias). A cell called at every
time step records every step's ``(x, d)`` on its tiles during the backward pass, so one
:class:`aihw.optim.AnalogSGD` step applies the update of the whole sequence.

The call forms are the reference toolkit's: ``cell(input, state)`` returns
``(output, new_state)``; the state is ``h`` (RNN, GRU) or ``(h, c)`` (LSTM). The gate
layouts are those of ``torch.nn`` (LSTM ``i, f, g, o``; GRU ``r, z, n``), so
``torch.nn.LSTM`` weights copy over as they are.

Besides ``forward``, each cell has the two halves the sequence layers use:
:meth:`input_gates` (the input-to-hidden product, computed for all time steps at once)
and :meth:`recur` (the rest of one step).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module

from aihw.core.device_model import DeviceModel

from ...mapping import MappingParameters
from ..checks import check_bool, check_positive_int
from ..linear import AnalogLinear

__all__ = [
    "AnalogGRUCell",
    "AnalogLSTMCell",
    "AnalogLSTMCellCombinedWeight",
    "AnalogRecurrentCell",
    "AnalogVanillaRNNCell",
    "LSTMState",
]

#: The LSTM state ``(h, c)`` as the reference toolkit names it.
LSTMState = namedtuple("LSTMState", ["hx", "cx"])

_NONLINEARITIES = ("tanh", "relu")


def check_tile_module_class(tile_module_class: Any) -> None:
    """The reference toolkit's ``tile_module_class``: aihw picks the tile class from the
    configuration, so only ``None`` is accepted."""
    if tile_module_class is not None:
        raise TypeError(
            f"tile_module_class={tile_module_class!r} is not supported: aihw chooses the tile "
            "from rpu_config (or resistive_device); allowed: None"
        )


def check_proj_size(proj_size: Any, hidden_size: int) -> None:
    """Raise unless ``proj_size`` is an integer in ``[0, hidden_size)``."""
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError(f"proj_size must be an integer >= 0; got {proj_size!r}")
    if proj_size >= hidden_size:
        raise ValueError(
            f"proj_size has to be smaller than hidden_size; got proj_size={proj_size}, "
            f"hidden_size={hidden_size}"
        )


class AnalogRecurrentCell(Module):
    """Base of the analog cells: builds their :class:`~aihw.nn.AnalogLinear` matrices.

    A subclass sets ``gates`` (the number of gate blocks of ``hidden_size`` rows) and
    ``state_parts`` (1 for ``h``, 2 for ``(h, c)``) and implements :meth:`recur`.
    """

    gates: int = 1
    state_parts: int = 1
    input_size: int
    hidden_size: int
    bias: bool

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        resistive_device: DeviceModel | None = None,
        mapping: MappingParameters | None = None,
        max_input_size: int | None = None,
        max_output_size: int | None = None,
        update: Any = None,
        seed: int | None = None,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        check_bool("bias", bias)
        check_tile_module_class(tile_module_class)
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self._linear_kwargs: dict[str, Any] = {
            "resistive_device": resistive_device,
            "mapping": mapping,
            "max_input_size": max_input_size,
            "max_output_size": max_output_size,
            "update": update,
            "rpu_config": rpu_config,
            "device": device,
            "dtype": dtype,
        }
        self._seed = seed
        self._made = 0

    def _linear(self, in_features: int, out_features: int, bias: bool) -> AnalogLinear:
        """The next analog matrix of this cell (seeds ``seed``, ``seed + 1``, ...)."""
        seed = None if self._seed is None else self._seed + self._made
        self._made += 1
        return AnalogLinear(in_features, out_features, bias, seed=seed, **self._linear_kwargs)

    def analog_layers(self) -> list[AnalogLinear]:
        """The cell's analog matrices."""
        return [m for m in self.children() if isinstance(m, AnalogLinear)]

    def reset_parameters(self) -> None:
        """``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` for every weight and bias, as
        ``torch.nn.LSTMCell`` and its siblings (programmed with ``set_weights``, so a pulsed
        tile clips them to its bounds)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for layer in self.analog_layers():
            weight, bias = layer.get_weights()
            weight.uniform_(-bound, bound)
            if bias is not None:
                bias.uniform_(-bound, bound)
            layer.set_weights(weight, bias)

    def get_zero_state(self, batch_size: int) -> Any:
        """The zero state for ``batch_size`` samples (the reference toolkit's name)."""
        layer = self.analog_layers()[0]
        device = layer.grid.device
        bias = layer.bias
        dtype = bias.dtype if bias is not None else torch.float32
        zeros = [
            torch.zeros(batch_size, size, device=device, dtype=dtype) for size in self.state_sizes
        ]
        return zeros[0] if self.state_parts == 1 else LSTMState(*zeros)

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """The feature size of each part of the state."""
        return (self.hidden_size,) * self.state_parts

    @property
    def output_size(self) -> int:
        """The feature size of the output (``hidden_size``; ``proj_size`` for a projecting
        LSTM)."""
        return self.state_sizes[0]

    def input_gates(self, input: Tensor) -> Tensor:
        """The input's contribution to the gates, for any leading dimensions."""
        raise NotImplementedError

    def recur(self, gates: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One step from the input gates ``[N, *]`` and the state: ``(output, new_state)``."""
        raise NotImplementedError

    def forward(self, input: Tensor, state: Any) -> tuple[Tensor, Any]:
        """One time step: ``input`` ``[N, input_size]`` and ``state``; returns
        ``(output, new_state)``."""
        return self.recur(self.input_gates(input), state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"


class _TwoMatrixCell(AnalogRecurrentCell):
    """A cell with ``weight_ih`` ``[gates * H, input_size]`` and ``weight_hh``
    ``[gates * H, H]``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, rpu_config, tile_module_class, **kwargs)
        rows = self.gates * hidden_size
        self.weight_ih = self._linear(input_size, rows, bias)
        self.weight_hh = self._linear(self._hidden_in, rows, bias)

    @property
    def _hidden_in(self) -> int:
        return self.hidden_size

    def input_gates(self, input: Tensor) -> Tensor:
        return self.weight_ih(input)  # type: ignore[no-any-return]


class AnalogVanillaRNNCell(_TwoMatrixCell):
    """An Elman RNN cell, ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or ``relu``), with
    ``W_ih`` and ``W_hh`` on analog tiles; the counterpart of :class:`torch.nn.RNNCell`.

    Args:
        input_size, hidden_size: the features of the input and of the hidden state.
        bias: whether the matrices have a bias (digital, or analog as ``mapping`` says).
        rpu_config: the tiles' configuration (:class:`aihw.core.config.TileConfig`);
            ``None`` with no ``resistive_device``: floating-point tiles.
        tile_module_class: the reference toolkit's argument; only ``None``.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        resistive_device, mapping, max_input_size, max_output_size, update, seed, device, dtype:
            as for :class:`~aihw.nn.AnalogLinear` (``seed`` is that of ``weight_ih``;
            ``weight_hh`` gets ``seed + 1``).

    Call: ``cell(input, h)`` with ``input`` ``[N, input_size]`` and ``h``
    ``[N, hidden_size]`` returns ``(h', h')``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        nonlinearity: str = "tanh",
        **kwargs: Any,
    ) -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, rpu_config, tile_module_class, **kwargs)
        self.nonlinearity = nonlinearity
        self.reset_parameters()

    def recur(self, gates: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        pre = gates + self.weight_hh(state)
        out = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        return out, out

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"


def _lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """``(h', c')`` of an LSTM step from its gates ``i, f, g, o`` and the cell state."""
    i, f, g, o = gates.chunk(4, 1)
    c_y = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_y), c_y


class AnalogLSTMCell(_TwoMatrixCell):
    """An LSTM cell with ``W_ih`` ``[4H, input_size]`` and ``W_hh`` ``[4H, H]`` on analog
    tiles; the counterpart of :class:`torch.nn.LSTMCell` (gates ``i, f, g, o``).

    Args:
        input_size, hidden_size, bias, rpu_config, tile_module_class: as for
            :class:`AnalogVanillaRNNCell`.
        proj_size: if ``> 0``, ``h`` is projected to ``proj_size`` features by a third
            analog matrix ``weight_hr`` ``[proj_size, H]`` (no bias), as in
            :class:`torch.nn.LSTM`; ``W_hh`` is then ``[4H, proj_size]``.
        resistive_device, mapping, max_input_size, max_output_size, update, seed, device, dtype:
            as for :class:`~aihw.nn.AnalogLinear`.

    Call: ``cell(input, (h, c))`` returns ``(h', (h', c'))``.
    """

    gates = 4
    state_parts = 2

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        proj_size: int = 0,
        **kwargs: Any,
    ) -> None:
        check_proj_size(proj_size, hidden_size)
        self.proj_size = proj_size
        super().__init__(input_size, hidden_size, bias, rpu_config, tile_module_class, **kwargs)
        if proj_size:
            self.weight_hr = self._linear(hidden_size, proj_size, False)
        self.reset_parameters()

    @property
    def _hidden_in(self) -> int:
        return self.proj_size or self.hidden_size

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def recur(self, gates: Tensor, state: Any) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        h_y, c_y = _lstm_update(gates + self.weight_hh(h), c)
        if self.proj_size:
            h_y = self.weight_hr(h_y)
        return h_y, (h_y, c_y)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", proj_size={self.proj_size}" if self.proj_size else "")


class AnalogLSTMCellCombinedWeight(AnalogRecurrentCell):
    """An LSTM cell whose input and hidden matrices are one analog matrix ``weight``
    ``[4H, input_size + H]`` applied to ``cat(x, h)`` (one bias). Arguments and call as
    :class:`AnalogLSTMCell` (without ``proj_size``)."""

    gates = 4
    state_parts = 2

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, rpu_config, tile_module_class, **kwargs)
        self.weight = self._linear(input_size + hidden_size, 4 * hidden_size, bias)
        self.reset_parameters()

    def input_gates(self, input: Tensor) -> Tensor:
        return input  # the product needs h: it is done in recur

    def recur(self, gates: Tensor, state: Any) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        h_y, c_y = _lstm_update(self.weight(torch.cat((gates, h.to(gates.dtype)), 1)), c)
        return h_y, (h_y, c_y)


class AnalogGRUCell(_TwoMatrixCell):
    """A GRU cell with ``W_ih`` ``[3H, input_size]`` and ``W_hh`` ``[3H, H]`` on analog
    tiles; the counterpart of :class:`torch.nn.GRUCell` (gates ``r, z, n``;
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``).

    Arguments as :class:`AnalogVanillaRNNCell` (without ``nonlinearity``). Call:
    ``cell(input, h)`` returns ``(h', h')``.
    """

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, rpu_config, tile_module_class, **kwargs)
        self.reset_parameters()

    def recur(self, gates: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        i_r, i_z, i_n = gates.chunk(3, 1)
        h_r, h_z, h_n = self.weight_hh(state).chunk(3, 1)
        reset = torch.sigmoid(i_r + h_r)
        update = torch.sigmoid(i_z + h_z)
        new = torch.tanh(i_n + reset * h_n)
        h_y = new + update * (state - new)
        return h_y, h_y

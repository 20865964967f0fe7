"""``AnalogLSTM``, ``AnalogGRU`` and ``AnalogVanillaRNN``: the ``torch.nn.LSTM``-shaped
recurrent layers, with ``torch.nn``'s constructor arguments and call signatures.

Layer ``l``, direction ``d`` is the cell ``cells[l * num_directions + d]`` (an
:class:`~aihw.nn.AnalogLSTMCell`, :class:`~aihw.nn.AnalogGRUCell` or
:class:`~aihw.nn.AnalogVanillaRNNCell`), whose matrices hold ``torch.nn``'s
``weight_ih_l{l}[_reverse]`` and ``weight_hh_l{l}[_reverse]`` (and biases).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import Module, ModuleList
from torch.nn.utils.rnn import PackedSequence

from aihw.core.device_model import DeviceModel

from ...functional import autocast_dtype, check_input_tensor
from ...mapping import MappingParameters
from ..checks import check_bool, check_positive_int
from .cells import (
    AnalogGRUCell,
    AnalogLSTMCell,
    AnalogRecurrentCell,
    AnalogVanillaRNNCell,
    check_proj_size,
)
from .recurrence import run_stack

__all__ = [
    "AnalogGRU",
    "AnalogLSTM",
    "AnalogVanillaRNN",
    "copy_torch_weights",
    "from_torch",
    "to_torch",
]


def check_dropout(dropout: Any, num_layers: int) -> float:
    """``dropout`` as a float in ``[0, 1]``; warns as ``torch.nn.LSTM`` when it has no
    effect (one layer)."""
    if (
        isinstance(dropout, bool)
        or not isinstance(dropout, numbers.Number)
        or not 0 <= dropout <= 1  # type: ignore[operator]
    ):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed; got {dropout!r}"
        )
    if dropout > 0 and num_layers == 1:  # type: ignore[operator]
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            UserWarning,
            stacklevel=3,
        )
    return float(dropout)  # type: ignore[arg-type]


class _AnalogRNNBase(Module):
    """The common part of the ``torch.nn``-shaped recurrent layers."""

    _cell: type[AnalogRecurrentCell]
    _torch: type[nn.RNNBase]
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    proj_size: int

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
        device: torch.device | str | int | None,
        dtype: torch.dtype | None,
        cell_kwargs: dict[str, Any],
        *,
        resistive_device: DeviceModel | None,
        rpu_config: Any,
        mapping: MappingParameters | None,
        max_input_size: int | None,
        max_output_size: int | None,
        update: Any,
        seed: int | None,
    ) -> None:
        check_positive_int("input_size", input_size)
        check_positive_int("hidden_size", hidden_size)
        check_positive_int("num_layers", num_layers)
        for name, flag in (
            ("bias", bias),
            ("batch_first", batch_first),
            ("bidirectional", bidirectional),
        ):
            check_bool(name, flag)
        dropout = check_dropout(dropout, num_layers)
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.proj_size = cell_kwargs.get("proj_size", 0)
        directions = 2 if bidirectional else 1
        out_size = self.proj_size or hidden_size
        cells: list[Module] = []
        for layer in range(num_layers):
            for _ in range(directions):
                index = len(cells)
                cells.append(
                    self._cell(
                        input_size if layer == 0 else out_size * directions,
                        hidden_size,
                        bias,
                        rpu_config,
                        resistive_device=resistive_device,
                        mapping=mapping,
                        max_input_size=max_input_size,
                        max_output_size=max_output_size,
                        update=update,
                        seed=None if seed is None else seed + 3 * index,
                        device=device,
                        dtype=dtype,
                        **cell_kwargs,
                    )
                )
        self.cells = ModuleList(cells)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _tile_device(self) -> torch.device:
        cell: AnalogRecurrentCell = self.cells[0]  # type: ignore[assignment]
        return cell.analog_layers()[0].grid.device

    def reset_parameters(self) -> None:
        """``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` for every weight and bias, as
        ``torch.nn.LSTM``."""
        for cell in self.cells:
            cell.reset_parameters()  # type: ignore[operator]

    def _state_shapes(self) -> list[tuple[str, int]]:
        return [("h_0", self.proj_size or self.hidden_size)]

    def _initial_states(
        self,
        hx: Any,
        batch: int,
        unbatched: bool,
        x: Tensor,
        order: Tensor | None,
        packed: bool = False,
    ) -> list[Any]:
        """One initial state per cell, from ``hx`` (or zeros) in the batch's (sorted) order."""
        name = type(self).__name__
        shapes = self._state_shapes()
        lead = self.num_layers * self.num_directions
        device = self._tile_device()
        if hx is None:
            parts = [
                torch.zeros(lead, batch, size, device=x.device, dtype=x.dtype) for _, size in shapes
            ]
        else:
            if len(shapes) == 2:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(
                        f"{name}: hx must be a tuple (h_0, c_0) of two tensors; got "
                        f"{type(hx).__name__}"
                    )
                given = list(hx)
            else:
                if not isinstance(hx, Tensor):
                    raise TypeError(f"{name}: hx must be a tensor h_0; got {type(hx).__name__}")
                given = [hx]
            parts = []
            for (label, size), part in zip(shapes, given, strict=True):
                if not isinstance(part, Tensor):
                    raise TypeError(f"{name}: {label} must be a tensor; got {type(part).__name__}")
                check_input_tensor(part, device, layer=f"{name} {label}")
                expected = (lead, size) if unbatched else (lead, batch, size)
                if tuple(part.shape) != expected:
                    batch_dim = 0 if self.batch_first else 1
                    layout = "(num_layers * num_directions, " + ("" if unbatched else "batch, ")
                    if unbatched:
                        why = f"for unbatched 2-D input, {label} must be 2-D"
                    elif order is not None or packed:
                        why = "batch is the packed sequence's number of sequences"
                    else:
                        why = (
                            f"batch is the input's dimension {batch_dim} "
                            f"(batch_first={self.batch_first})"
                        )
                    raise ValueError(
                        f"{name}: {label} has shape {tuple(part.shape)}; expected {expected} = "
                        f"{layout}{'proj_size' if label == 'h_0' and self.proj_size else 'hidden_size'}"
                        f"); {why}"
                    )
                part = part.unsqueeze(1) if unbatched else part
                if order is not None:
                    part = part.index_select(1, order)
                parts.append(part.to(x.dtype))
        states = []
        for index in range(lead):
            cell_parts = [p[index] for p in parts]
            states.append(cell_parts[0] if len(cell_parts) == 1 else tuple(cell_parts))
        return states

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        """``(output, h_n)`` (``(output, (h_n, c_n))`` for LSTM), as the ``torch.nn`` layer.

        ``input`` is ``(L, N, input_size)`` (``(N, L, input_size)`` when ``batch_first``),
        unbatched ``(L, input_size)``, or a :class:`~torch.nn.utils.rnn.PackedSequence`.
        """
        name = type(self).__name__
        device = self._tile_device()
        packed = isinstance(input, PackedSequence)
        sorted_indices = unsorted_indices = None
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            check_input_tensor(data, device, layer=name)
            if data.dim() != 2 or data.shape[-1] != self.input_size:
                raise ValueError(
                    f"{name}: the packed data has shape {tuple(data.shape)}; expected "
                    f"(*, {self.input_size}): the last dimension must equal "
                    f"input_size={self.input_size}"
                )
            sizes = [int(s) for s in batch_sizes.tolist()]
            batch, unbatched, x = sizes[0], False, data
        else:
            check_input_tensor(input, device, layer=name)
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{name}: input has shape {tuple(input.shape)}; expected a 3-D batch "
                    f"({'N, L' if self.batch_first else 'L, N'}, {self.input_size}) or an "
                    f"unbatched 2-D (L, {self.input_size}); got {input.dim()}-D"
                )
            if input.shape[-1] != self.input_size:
                raise ValueError(
                    f"{name}: input has shape {tuple(input.shape)}; the last dimension must "
                    f"equal input_size={self.input_size}"
                )
            unbatched = input.dim() == 2
            if unbatched:
                seq = input.unsqueeze(1)
            else:
                seq = input.transpose(0, 1) if self.batch_first else input
            steps, batch = seq.shape[0], seq.shape[1]
            if steps == 0:
                raise ValueError(
                    f"{name}: input has shape {tuple(input.shape)}; the sequence length must "
                    "be at least 1"
                )
            sizes = [batch] * steps
            x = seq.reshape(steps * batch, self.input_size)
        states = self._initial_states(hx, batch, unbatched, x, sorted_indices, packed)
        out, finals = run_stack(
            self.cells,
            self.num_layers,
            self.num_directions,
            x,
            sizes,
            states,
            self.dropout,
            self.training,
        )
        per_cell = [(f,) if isinstance(f, Tensor) else tuple(f) for f in finals]
        parts = [torch.stack(p) for p in zip(*per_cell, strict=True)]
        amp = autocast_dtype(x)
        if amp is not None:  # as the torch layer: output and states in the autocast dtype
            out = out.to(amp)
            parts = [p.to(amp) for p in parts]
        output: Any
        if packed:
            output = PackedSequence(out, input.batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                parts = [p.index_select(1, unsorted_indices) for p in parts]
        else:
            output = out.reshape(len(sizes), batch, out.shape[-1])
            if unbatched:
                output = output.squeeze(1)
                parts = [p.squeeze(1) for p in parts]
            elif self.batch_first:
                output = output.transpose(0, 1)
        return output, (parts[0] if len(parts) == 1 else tuple(parts))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


_ARGS = """
    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional:
            as for :class:`torch.nn.{torch}`.
        device, dtype: as for :class:`torch.nn.{torch}` (``dtype`` is that of the digital
            biases; the tiles are float32).{extra}
        resistive_device: the device model of every tile; ``None`` (default) with no
            ``rpu_config``: floating-point tiles (exact products and SGD updates).
        rpu_config: a :class:`aihw.core.config.TileConfig` for every tile, instead of
            ``resistive_device`` and ``update``.
        mapping, max_input_size, max_output_size, update: as for
            :class:`~aihw.nn.AnalogLinear`.
        seed: if given, the tiles of cell ``k`` are seeded from ``seed + 3 * k``.

    Call: ``layer(input, hx=None)`` with ``input`` ``(L, N, input_size)``
    (``(N, L, input_size)`` when ``batch_first``), unbatched ``(L, input_size)``, or a
    :class:`~torch.nn.utils.rnn.PackedSequence`; returns ``(output, {state})`` shaped as
    ``torch.nn.{torch}``'s. Wrong shapes raise ``ValueError`` naming the expected one.

    Train it with :class:`aihw.optim.AnalogSGD`: the tiles record the ``(x, d)`` of every
    time step and one optimizer step applies them all.
"""


class AnalogLSTM(_AnalogRNNBase):
    __doc__ = """A multi-layer LSTM whose matrices live on analog tiles; the counterpart of
    :class:`torch.nn.LSTM`, built from :class:`~aihw.nn.AnalogLSTMCell`.
""" + _ARGS.format(
        torch="LSTM",
        state="(h_n, c_n)",
        extra="\n        proj_size: as for :class:`torch.nn.LSTM` (a third analog matrix per "
        "cell).",
    )
    _cell = AnalogLSTMCell
    _torch = nn.LSTM

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
        *,
        resistive_device: DeviceModel | None = None,
        rpu_config: Any = None,
        mapping: MappingParameters | None = None,
        max_input_size: int | None = None,
        max_output_size: int | None = None,
        update: Any = None,
        seed: int | None = None,
    ) -> None:
        check_positive_int("hidden_size", hidden_size)
        check_proj_size(proj_size, hidden_size)
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            {"proj_size": proj_size},
            resistive_device=resistive_device,
            rpu_config=rpu_config,
            mapping=mapping,
            max_input_size=max_input_size,
            max_output_size=max_output_size,
            update=update,
            seed=seed,
        )

    def _state_shapes(self) -> list[tuple[str, int]]:
        return [("h_0", self.proj_size or self.hidden_size), ("c_0", self.hidden_size)]


class AnalogGRU(_AnalogRNNBase):
    __doc__ = """A multi-layer GRU whose matrices live on analog tiles; the counterpart of
    :class:`torch.nn.GRU`, built from :class:`~aihw.nn.AnalogGRUCell`.
""" + _ARGS.format(torch="GRU", state="h_n", extra="")
    _cell = AnalogGRUCell
    _torch = nn.GRU

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
        *,
        resistive_device: DeviceModel | None = None,
        rpu_config: Any = None,
        mapping: MappingParameters | None = None,
        max_input_size: int | None = None,
        max_output_size: int | None = None,
        update: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            {},
            resistive_device=resistive_device,
            rpu_config=rpu_config,
            mapping=mapping,
            max_input_size=max_input_size,
            max_output_size=max_output_size,
            update=update,
            seed=seed,
        )


class AnalogVanillaRNN(_AnalogRNNBase):
    __doc__ = """A multi-layer Elman RNN whose matrices live on analog tiles; the counterpart of
    :class:`torch.nn.RNN`, built from :class:`~aihw.nn.AnalogVanillaRNNCell`. (The name
    ``AnalogRNN`` is the reference toolkit's cell-generic layer, :class:`~aihw.nn.AnalogRNN`.)
""" + _ARGS.format(
        torch="RNN",
        state="h_n",
        extra="\n        nonlinearity: ``'tanh'`` (default) or ``'relu'``.",
    )
    _cell = AnalogVanillaRNNCell
    _torch = nn.RNN

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
        *,
        resistive_device: DeviceModel | None = None,
        rpu_config: Any = None,
        mapping: MappingParameters | None = None,
        max_input_size: int | None = None,
        max_output_size: int | None = None,
        update: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            {"nonlinearity": nonlinearity},
            resistive_device=resistive_device,
            rpu_config=rpu_config,
            mapping=mapping,
            max_input_size=max_input_size,
            max_output_size=max_output_size,
            update=update,
            seed=seed,
        )
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


# -- torch.nn <-> analog ------------------------------------------------------------------
_TORCH_TO_ANALOG: dict[type[nn.Module], type[_AnalogRNNBase]] = {
    nn.LSTM: AnalogLSTM,
    nn.GRU: AnalogGRU,
    nn.RNN: AnalogVanillaRNN,
}


def _matrices(cell: Module) -> list[tuple[str, Any]]:
    names = [("ih", cell.weight_ih), ("hh", cell.weight_hh)]
    if getattr(cell, "proj_size", 0):
        names.append(("hr", cell.weight_hr))
    return names


def _shape_kwargs(module: Any) -> dict[str, Any]:
    kwargs = {
        "input_size": module.input_size,
        "hidden_size": module.hidden_size,
        "num_layers": module.num_layers,
        "bias": module.bias,
        "batch_first": module.batch_first,
        "dropout": float(module.dropout),
        "bidirectional": module.bidirectional,
    }
    if isinstance(module, (nn.LSTM, AnalogLSTM)):
        kwargs["proj_size"] = module.proj_size
    if isinstance(module, (nn.RNN, AnalogVanillaRNN)):
        kwargs["nonlinearity"] = module.nonlinearity
    return kwargs


def from_torch(module: nn.RNNBase, **kwargs: Any) -> _AnalogRNNBase:
    """The analog counterpart of ``nn.LSTM``/``nn.GRU``/``nn.RNN`` ``module``, with its
    options and weights (``kwargs``: the layer options, e.g. ``rpu_config``)."""
    param = next(module.parameters())
    bias = getattr(module, "bias_ih_l0", None)
    with warnings.catch_warnings():  # torch warned already when the module was made
        warnings.simplefilter("ignore", UserWarning)
        layer = _TORCH_TO_ANALOG[type(module)](
            **_shape_kwargs(module),
            device=param.device,
            dtype=None if bias is None else bias.dtype,
            **kwargs,
        )
    copy_torch_weights(layer, module)
    layer.train(module.training)
    return layer


def copy_torch_weights(layer: _AnalogRNNBase, module: nn.RNNBase) -> None:
    """Program ``layer``'s tiles with the weights of the ``torch.nn`` layer ``module``
    (``weight_ih_l0`` and so on; same options)."""
    directions = layer.num_directions
    with torch.no_grad():
        for index, cell in enumerate(layer.cells):
            suffix = f"_l{index // directions}" + ("_reverse" if index % directions else "")
            for kind, linear in _matrices(cell):
                weight = getattr(module, f"weight_{kind}{suffix}").detach()
                bias = getattr(module, f"bias_{kind}{suffix}", None) if kind != "hr" else None
                linear.set_weights(weight, None if bias is None else bias.detach())


def to_torch(layer: _AnalogRNNBase) -> nn.RNNBase:
    """The ``torch.nn`` layer holding ``layer``'s current weights."""
    first: Any = layer.cells[0].weight_ih
    dtype = first.bias.dtype if first.bias is not None else torch.float32
    module = layer._torch(**_shape_kwargs(layer), device=first.grid.device, dtype=dtype)
    directions = layer.num_directions
    with torch.no_grad():
        for index, cell in enumerate(layer.cells):
            suffix = f"_l{index // directions}" + ("_reverse" if index % directions else "")
            for kind, linear in _matrices(cell):
                weight, bias = linear.get_weights()
                alpha = linear.out_scaling_alpha
                if alpha is not None:
                    weight = weight * alpha.detach().to(weight).reshape(-1, 1)
                    if bias is not None and linear.grid.analog_bias:
                        bias = bias * alpha.detach().to(bias)
                getattr(module, f"weight_{kind}{suffix}").copy_(weight)
                if bias is not None:
                    getattr(module, f"bias_{kind}{suffix}").copy_(bias)
    module.train(layer.training)
    return module

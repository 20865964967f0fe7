"""The mixin shared by every analog layer: its tiles, the linked weight, a digital bias.

A layer's logical weight ``[out, in]`` (``in`` = everything but the first dimension of
the weight shape; for a grouped convolution, one group's inputs) is mapped onto a grid of
tiles (spec D.6): ``groups`` blocks (one per convolution group, block-diagonal layout)
times ``row splits`` (outputs) times ``column splits`` (inputs), each tile at most
``max_output_size x max_input_size``. The partial outputs of the column splits are summed
digitally and the bias is added once.

The weight ``Parameter`` *shares storage* with the tiles: the tiles of one column split
are row slices of one contiguous tensor. Without column splits (the usual case) that
tensor viewed in the layer's weight shape is ``weight``, exactly as for a single tile.
With column splits, each column split ``c`` is a parameter ``weight_split_{c}`` of shape
``[out, in_c]`` and ``layer.weight`` gives the assembled weight (a copy).

Each of these parameters carries ``analog_tiles`` (the list of tiles it shares storage
with) and ``analog_tile`` (the first of them), which :class:`aihw.optim.AnalogSGD` uses to
apply every tile's update. They never receive a ``.grad``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import operator
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import Parameter, init

from aihw.core.config import TileConfig
from aihw.core.device_model import DeviceModel
from aihw.core.first_pass import GridPass, SharedFirstPass
from aihw.core.tiles import create_tile
from aihw.core.tiles.base import draw_seed
from aihw.core.tiles.state import (
    MissingDeviceError,
    TileStateError,
    replace_tile,
    tile_from_state,
    tile_state,
)

from ..functions import analog_matmul
from ..mapping import MappingParameters, split_sizes

__all__ = [
    "AnalogLayerBase",
    "LayerStateError",
    "check_bool",
    "check_positive_int",
    "check_resistive_device",
]

_LAYER_FORMAT = "aihw.layer"
_LAYER_VERSION = 1
_SEED_STEP = 0x9E3779B97F4A7C15


class LayerStateError(TileStateError):
    """A layer's checkpoint state is malformed or does not fit the layer."""


def check_resistive_device(resistive_device: Any) -> None:
    """Raise ``TypeError`` unless ``resistive_device`` is ``None`` or a device-model instance."""
    if resistive_device is None or isinstance(resistive_device, DeviceModel):
        return
    if isinstance(resistive_device, type) and issubclass(resistive_device, DeviceModel):
        name = resistive_device.__name__
        raise TypeError(
            f"resistive_device must be a device instance such as {name}(); got the class "
            f"{name} itself"
        )
    raise TypeError(
        "resistive_device must be None (floating point) or a device model instance such as "
        f"ConstantStepResistiveDevice(); got {type(resistive_device).__name__}"
    )


def check_positive_int(name: str, value: Any) -> None:
    """Raise unless ``value`` is an integer ``>= 1`` (``TypeError`` for a non-integer)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive integer; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")


def check_bool(name: str, value: Any) -> None:
    """Raise ``TypeError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}")


def _check_float_dtype(dtype: torch.dtype | None) -> None:
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype or None; got {dtype!r}")


def resolve_mapping(
    mapping: MappingParameters | None,
    max_input_size: int | None = None,
    max_output_size: int | None = None,
) -> MappingParameters:
    """A copy of ``mapping`` (default: the defaults) with the size overrides applied."""
    if mapping is None:
        mapping = MappingParameters()
    elif not isinstance(mapping, MappingParameters):
        raise TypeError(f"mapping must be MappingParameters or None; got {type(mapping).__name__}")
    overrides: dict[str, int] = {}
    if max_input_size is not None:
        overrides["max_input_size"] = max_input_size
    if max_output_size is not None:
        overrides["max_output_size"] = max_output_size
    return dataclasses.replace(mapping, **overrides)  # validates


#: What a layer's prepared inference passes depend on besides its tiles' weight storage: the
#: tile's version (backend, threads, peripheries) and its forward IO parameters' version.
_TILE_KEY = operator.attrgetter(
    "version", "forward_periphery", "forward_periphery.io", "forward_periphery.io.version"
)


def _tile_key_slowly(tile: Any) -> tuple:
    """``_TILE_KEY(tile)`` for a tile without a forward periphery."""
    p = tile.forward_periphery
    io = None if p is None else p.io
    return (tile.version, p, io, None if io is None else io.version)


class AnalogLayerBase:
    """Mixin for :class:`~torch.nn.Module` layers whose weight lives on analog tiles.

    A subclass calls :meth:`_init_analog_tile` in its constructor, after
    ``Module.__init__``, and :meth:`_init_bias` after it. It then has:

    * ``analog_tile``: the first tile; :meth:`analog_tiles` yields all of them;
    * ``weight``: the weight (see the module docstring for split layers);
    * ``bias``: the digital bias ``Parameter``, or ``None`` (no bias, or an analog bias);
    * ``out_scaling_alpha``: the learned output scale when ``mapping.learn_out_scaling``;
    * ``resistive_device`` and ``mapping``.

    Writing into ``weight`` in place writes into the tiles *without* the device's
    clipping: use :meth:`set_weights` for that.
    """

    analog_tile: Any
    resistive_device: DeviceModel | None
    mapping: MappingParameters
    rpu_config: Any
    bias: Parameter | None
    _weight_shape: tuple[int, ...]

    # -- construction ---------------------------------------------------------------------
    def _init_analog_tile(
        self,
        resistive_device: DeviceModel | None,
        weight_shape: Sequence[int],
        *,
        groups: int = 1,
        bias: bool = False,
        mapping: MappingParameters | None = None,
        update: Any = None,
        rpu_config: Any = None,
        seed: int | None = None,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        """Create the tiles for a weight of ``weight_shape`` (``[out, ...]``) and link them.

        Args:
            groups: number of independent blocks (convolution groups); ``out`` must be
                divisible by it, and the weight shape's inputs are per group.
            bias: whether the layer has a bias (digital or analog as ``mapping`` says).
            rpu_config: an :class:`aihw.core.config.TileConfig` replacing
                ``resistive_device`` and ``update``; giving both is an error.
        """
        if rpu_config is not None:
            if not isinstance(rpu_config, TileConfig):
                raise TypeError(
                    "rpu_config must be a TileConfig such as aihw.devices.SingleRPUConfig(); "
                    f"got {type(rpu_config).__name__}"
                )
            given = [n for n, v in (("resistive_device", resistive_device), ("update", update))
                     if v is not None]
            if given:
                raise ValueError(
                    f"give either rpu_config= or {'/'.join(given)}=, not both: rpu_config "
                    "already holds the device and the update parameters"
                )
            resistive_device = rpu_config.device
        check_resistive_device(resistive_device)
        _check_float_dtype(dtype)
        mapping = resolve_mapping(mapping)
        out_size = int(weight_shape[0])
        in_size = 1
        for size in weight_shape[1:]:
            in_size *= int(size)
        if out_size % groups:
            raise ValueError(f"out size {out_size} is not divisible by groups={groups}")
        self.resistive_device = resistive_device
        self.mapping = mapping
        self.groups = groups
        self.rpu_config = rpu_config
        self._weight_shape = tuple(int(s) for s in weight_shape)
        self._analog_bias = bool(bias) and not mapping.digital_bias
        self._row_splits = split_sizes(out_size // groups, mapping.max_output_size)
        self._col_splits = split_sizes(in_size, mapping.max_input_size)
        tiles: list[Any] = []
        for index in range(groups * len(self._row_splits) * len(self._col_splits)):
            _, r, c = self._tile_position(index)
            tile_seed = seed
            if seed is not None and index:
                tile_seed = (seed + index * _SEED_STEP) % 2**64
            elif seed is None:
                tile_seed = draw_seed()
            tile_bias = self._analog_bias and c == len(self._col_splits) - 1
            tile = create_tile(
                None if rpu_config is not None else resistive_device,
                self._row_splits[r][1],
                self._col_splits[c][1],
                bias=tile_bias,
                seed=tile_seed,
                update=update,
                rpu_config=rpu_config,
            )
            tiles.append(tile)
        self._tiles = tiles
        self.analog_tile = tiles[0]
        self._scales: list[Tensor] | None = None
        if mapping.weight_scaling_omega > 0:
            self._scales = [torch.ones(t.out_size, dtype=torch.float32) for t in tiles]
        self._masters: list[Tensor] = []
        self._relink(create=True)
        if mapping.learn_out_scaling:
            size = out_size if mapping.out_scaling_columnwise else 1
            self.out_scaling_alpha = Parameter(torch.ones(size, device=device, dtype=dtype))
        else:
            self.register_parameter("out_scaling_alpha", None)  # type: ignore[attr-defined]
        if device is not None:
            self._move_tiles(torch.device(device))

    def reset_parameters(self) -> None:
        """Initialise like the torch layer: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

        ``kaiming_uniform_(a=sqrt(5))`` as in ``torch.nn.Linear`` and ``ConvNd``, with
        ``fan_in`` the inputs of one output (per group for convolutions). The weights are
        programmed with :meth:`set_weights`, so a pulsed tile clips them to its device
        bounds.
        """
        device = self.analog_tile.weights.device
        weight = torch.empty(self._weight_shape, device=device)
        init.kaiming_uniform_(weight, a=math.sqrt(5))
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        bias = None
        if self._analog_bias:
            bias = torch.empty(self._weight_shape[0], device=device).uniform_(-bound, bound)
        self.set_weights(weight, bias)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def _init_bias(self, bias: bool, out_size: int, factory_kwargs: dict[str, Any]) -> None:
        if bias and not self._analog_bias:
            self.bias = Parameter(torch.empty(out_size, **factory_kwargs))
        else:
            self.register_parameter("bias", None)  # type: ignore[attr-defined]

    # -- the grid ---------------------------------------------------------------------------
    def _tile_position(self, index: int) -> tuple[int, int, int]:
        """``(group, row split, column split)`` of tile ``index``."""
        n_c = len(self._col_splits)
        n_r = len(self._row_splits)
        return index // (n_r * n_c), (index // n_c) % n_r, index % n_c

    def _tile_rows(self, index: int) -> tuple[int, int]:
        """The logical output rows ``(start, length)`` of tile ``index``."""
        g, r, _ = self._tile_position(index)
        start, length = self._row_splits[r]
        return g * (self._weight_shape[0] // self.groups) + start, length

    @property
    def tile_grid(self) -> tuple[int, int, int]:
        """``(groups, row splits, column splits)`` of the tile grid."""
        return self.groups, len(self._row_splits), len(self._col_splits)

    def _weight_param_names(self) -> list[str]:
        if len(self._col_splits) == 1:
            return ["weight"]
        return [f"weight_split_{c}" for c in range(len(self._col_splits))]

    def _relink(self, create: bool = False) -> None:
        """Make the tiles of each column split row slices of one tensor and link the params.

        Cheap when already linked; after pickling, deep copies or device moves (which give
        each tile a tensor of its own) it copies the tiles' weights into new tensors.
        """
        out_size = self._weight_shape[0]
        n_c = len(self._col_splits)
        device = self._tiles[0].weights.device
        masters: list[Tensor] = []
        for c in range(n_c):
            indices = [i for i in range(len(self._tiles)) if i % n_c == c]
            x_size = self._tiles[indices[0]].x_size
            master = self._masters[c] if c < len(self._masters) else None
            linked = (
                master is not None
                and master.device == device
                and all(
                    self._tiles[i].weights.data_ptr() == master[self._tile_rows(i)[0]].data_ptr()
                    and self._tiles[i].weights.shape == (self._tile_rows(i)[1], x_size)
                    and self._tiles[i].weights.device == device
                    for i in indices
                )
            )
            if not linked:
                master = torch.empty(out_size, x_size, dtype=torch.float32, device=device)
                for i in indices:
                    start, length = self._tile_rows(i)
                    tile = self._tiles[i]
                    master[start : start + length].copy_(tile.weights.to(device))
                    tile.weights = master[start : start + length]
            masters.append(master)  # type: ignore[arg-type]
        self._masters = masters
        parameters = self._parameters  # type: ignore[attr-defined]
        for c, name in enumerate(self._weight_param_names()):
            in_c = self._col_splits[c][1]
            view = masters[c][:, :in_c]
            if n_c == 1:
                view = (
                    view.unflatten(1, self._weight_shape[1:])
                    if len(self._weight_shape) > 1
                    else view
                )
            tiles = [self._tiles[i] for i in range(len(self._tiles)) if i % n_c == c]
            param = None if create else parameters.get(name)
            if param is None:
                param = Parameter(view)
                setattr(self, name, param)
            elif not (
                param.data_ptr() == view.data_ptr()
                and param.dtype == view.dtype
                and param.device == view.device
                and param.shape == view.shape
                and param.stride() == view.stride()
            ):
                param.data = view
            param.analog_tiles = tiles  # type: ignore[attr-defined]
            param.analog_tile = tiles[0]  # type: ignore[attr-defined]
        self.analog_tile = self._tiles[0]

    def _parameter(self, name: str) -> Any:
        """``getattr(self, name)`` for a registered parameter (``None`` included), without
        the two Python-level ``__getattr__`` calls (this runs on every forward)."""
        parameters = self._parameters  # type: ignore[attr-defined]
        return parameters[name] if name in parameters else getattr(self, name)

    def _weight_params(self) -> list[Parameter]:
        parameters = self._parameters  # type: ignore[attr-defined]
        return [parameters[name] for name in self._weight_param_names()]

    def __getattr__(self, name: str) -> Any:
        if name == "weight":
            splits = self.__dict__.get("_col_splits")
            if splits is not None and len(splits) > 1:
                return self.get_weights()[0]
        return super().__getattr__(name)  # type: ignore[misc]

    # -- the tile <-> Parameter link ------------------------------------------------------
    def sync_parameters_from_tile(self) -> None:
        """Make ``weight`` show the tiles' weights.

        ``weight`` shares the tiles' storage, so it is always in sync and this is cheap: it
        only re-links ``weight`` (keeping the same ``Parameter`` object, so optimizers that
        hold it keep working) if something replaced its data, e.g. ``weight.data = ...``.
        It exists for the API of the original user guide.
        """
        self._relink()

    def analog_tiles(self) -> Iterator[Any]:
        """Yield the analog tiles of this layer (group by group, row split by row split)."""
        yield from self._tiles

    # -- the matrix product -----------------------------------------------------------------
    def _analog_mvm(self, x: Tensor, bias: Tensor | None = None) -> Tensor:
        """``[N, groups * in] -> [N, out]`` through the tile grid, scales included, plus the
        digital ``bias`` (``[out]``) when given."""
        grad = torch.is_grad_enabled()
        alpha = self._parameter("out_scaling_alpha")
        if not grad or not (
            x.requires_grad or any(p.requires_grad for p in self._weight_params())
        ):
            # Without autograd the result is a tensor of our own: the bias can go in place,
            # or into the last column split's pass, where that keeps ``out + bias``'s dtype.
            in_place = bias is not None and not (grad and bias.requires_grad)
            fuse = (
                in_place
                and alpha is None
                and x.dtype == torch.float32
                and bias.dtype == torch.float32  # type: ignore[union-attr]
                and bias.is_contiguous()  # type: ignore[union-attr]
            )
            out = self._inference_by_column(x, bias if fuse else None)
            if out is not None:
                if alpha is not None:
                    out = out * alpha
                if bias is None or fuse:
                    return out
                return out.add_(bias) if in_place and out.dtype == bias.dtype else out + bias
        n_c = len(self._col_splits)
        in_size = self._col_splits[-1][0] + self._col_splits[-1][1]
        params = self._weight_params()
        outputs: list[Tensor] = []
        # The tiles of one column split share its input slice: copy it once, not per tile.
        slices: dict[tuple[int, int], Tensor] = {}
        for index, tile in enumerate(self._tiles):
            g, _, c = self._tile_position(index)
            if self.groups == 1 and n_c == 1:
                xc = x
            else:
                xc = slices.get((g, c))
                if xc is None:
                    start, length = self._col_splits[c]
                    offset = g * in_size + start
                    xc = slices[(g, c)] = x[:, offset : offset + length].contiguous()
            y = analog_matmul(tile, params[c], xc, self._update_scale(index))
            if self._scales is not None:
                y = y * self._scales[index].to(y)
            if c == 0:
                outputs.append(y)
            else:
                outputs[-1] = outputs[-1] + y
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
        if alpha is not None:
            out = out * alpha
        return out if bias is None else out + bias

    def _prepared_forward(self, x: Any, bias: Tensor | None) -> Tensor | None:
        """The layer's prepared :class:`GridPass` on a plain 2-D float32 CPU input under
        ``no_grad``, with the bias; ``None`` (nothing done) where anything else applies.

        The hot path of inference, in one frame: it checks only what decides that the
        general path would take the same route (which also raises the errors for bad
        input), since every Python step after a matrix product runs with cold caches.
        """
        plan = self.__dict__.get("_inference_plan")
        if (
            plan is None
            or plan[2] is None
            or torch.is_grad_enabled()
            or type(x) is not Tensor
            or x.dtype is not torch.float32
            or x.dim() != 2
            or x.shape[0] == 0  # the general path: no tile sees an empty batch
            or not x.is_cpu
            or not x.is_contiguous()
            or x.shape[1] != plan[2].in_size
            or (bias is not None and (bias.dtype is not torch.float32 or not bias.is_contiguous()))
            or self._parameter("out_scaling_alpha") is not None
            or plan[0] != self._inference_key(self._tiles)
        ):
            return None
        return plan[2](x, bias)

    def _inference_by_column(self, x: Tensor, bias: Tensor | None = None) -> Tensor | None:
        """Inference with one DAC pass and one matrix product per column split.

        The tiles of a column split read the same input slice; where their DACs are
        identical and draw no random numbers, a :class:`~aihw.core.first_pass.
        SharedFirstPass` runs them together on the column's weights (one tensor, the
        tiles' rows stacked), with each tile's own output stage: the same numbers as tile
        by tile, with fewer, larger matrix products. The passes are prepared once and kept
        while the tiles, their weights' storage and their IO parameters stay the same (a
        layer of one tile gains from that too: no autograd node, no per-call checks).
        ``None`` where it does not apply (groups, weight scaling, an analog bias column,
        tiles not on the compiled CPU path); a column split it cannot share runs tile by
        tile. A ``bias`` (float32, contiguous, with a float32 ``x``) is added to the result:
        by the engine, with the last split's sum, where the grid has several column splits.
        """
        if x.shape[0] == 0:
            return None  # the general path: no tile sees an empty batch
        tiles = self._tiles
        key = self._inference_key(tiles)
        cached = self.__dict__.get("_inference_plan")
        if cached is None or cached[0] != key:
            cached = (key, *self._build_inference_plan())
            self.__dict__["_inference_plan"] = cached
        _, columns, grid = cached
        if columns is None:
            return None
        x32 = x if x.dtype == torch.float32 else x.to(torch.float32)
        if not x32.is_contiguous():
            x32 = x32.contiguous()
        if grid is not None:  # every split shared: the whole grid in one step
            out = grid(x32, bias)
            if out is not None:
                return out if out.dtype == x.dtype else out.to(x.dtype)
        n_c = len(columns)
        out: Tensor | None = None
        bias_added = bias is None
        for c, (shared, matrix) in enumerate(columns):
            start, length = self._col_splits[c]
            if shared is not None:
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
        if out is not None and not bias_added:
            out = out.add_(bias)
        return out if out is None or out.dtype == x.dtype else out.to(x.dtype)

    def _inference_key(self, tiles: list[Any]) -> tuple:
        """What the prepared inference passes depend on: each tile's forward periphery, its
        IO parameters (and whether a field changed), back-end, thread count and weights'
        storage, and whether the layer scales its weights. (Read with C-level getters: this
        runs on every inference forward.)"""
        try:
            attributes = tuple(map(_TILE_KEY, tiles))
        except AttributeError:  # an exact forward (no periphery), or IO without the flag
            attributes = tuple(map(_tile_key_slowly, tiles))
        return (self._scales is None, attributes, *[t.weights.data_ptr() for t in tiles])

    def _build_inference_plan(self) -> tuple[list[tuple[Any, Tensor]] | None, GridPass | None]:
        """Per column split: its :class:`SharedFirstPass` (``None``: tile by tile) and its
        ``[in, out]`` matrix, ``None`` where the shared inference does not apply; and the
        :class:`GridPass` of them all where every split has one."""
        n_c = len(self._col_splits)
        if self.groups != 1 or self._scales is not None or self._analog_bias:
            return None, None
        tiles = self._tiles
        if not all(t.forward_periphery is not None and t.periphery_uses_native() for t in tiles):
            return None, None
        columns: list[tuple[Any, Tensor]] = []
        for c in range(n_c):
            column = [tiles[i] for i in range(c, len(tiles), n_c)]
            master = self._masters[c] if c < len(self._masters) else None
            shared = None
            if master is not None and self._stacked_in(master, c):
                shared = SharedFirstPass.build([t.forward_periphery for t in column])
            columns.append((shared, None if shared is None else master.t()))
        grid = None
        if all(shared is not None for shared, _ in columns):
            grid = GridPass.build(
                [(shared, matrix, self._col_splits[c][0], tiles[c].num_threads)
                 for c, (shared, matrix) in enumerate(columns)]
            )  # fmt: skip
        return columns, grid

    def _stacked_in(self, master: Tensor, c: int) -> bool:
        """Whether the tiles of column split ``c`` are its consecutive row blocks."""
        n_c = len(self._col_splits)
        for i in range(c, len(self._tiles), n_c):
            start, length = self._tile_rows(i)
            weights = self._tiles[i].weights
            if weights.data_ptr() != master[start].data_ptr() or weights.shape[0] != length:
                return False
        return master.is_contiguous() and master.shape[0] == self._weight_shape[0]

    def _update_scale(self, index: int) -> Tensor | None:
        """What the recorded error of tile ``index`` is multiplied by (weight scaling).

        The tile sees ``d * s`` (the gradient of its own output); the logical update of
        spec D.6 needs ``d / s``, so the record is divided by ``s**2``. The learning-rate
        compensation ``lambda_c`` of the spec multiplies the tile's learning rate and
        divides the error, which leaves their product, and so the update, unchanged; it
        is folded in here.
        """
        if self._scales is None:
            return None
        return 1.0 / self._scales[index] ** 2

    # -- weights --------------------------------------------------------------------------
    def _weight_matrix(self, weight: Tensor, out_size: int, in_size: int) -> Tensor:
        return weight.detach().to(dtype=torch.float32).reshape(out_size, in_size)

    def get_weights(self) -> tuple[Tensor, Tensor | None]:
        """Return copies of ``(weight, bias)``; ``bias`` is ``None`` without a bias.

        The weight has the layer's weight shape and is float32 (the tiles' dtype); the
        mapping scales are applied, so this is the logical weight.
        """
        out_size = self._weight_shape[0]
        in_size = self._col_splits[-1][0] + self._col_splits[-1][1]
        device = self._tiles[0].weights.device
        weight = torch.empty(out_size, in_size, dtype=torch.float32, device=device)
        bias = (
            torch.empty(out_size, dtype=torch.float32, device=device) if self._analog_bias else None
        )
        for index, tile in enumerate(self._tiles):
            start, length = self._tile_rows(index)
            c0, c_len = self._col_splits[self._tile_position(index)[2]]
            w, b = tile.get_weights()
            if self._scales is not None:
                scale = self._scales[index].to(device)
                w = w * scale.unsqueeze(1)
                b = None if b is None else b * scale
            weight[start : start + length, c0 : c0 + c_len] = w
            if b is not None and bias is not None:
                bias[start : start + length] = b
        if not self._analog_bias:
            bias = None if self.bias is None else self.bias.detach().clone()
        return weight.reshape(self._weight_shape), bias

    def _has_bias(self) -> bool:
        return self._analog_bias or self.bias is not None

    def set_weights(self, weight: Tensor, bias: Tensor | None = None) -> None:
        """Program the tiles with ``weight`` and, if given, set the bias.

        A pulsed tile clips the weights to its device bounds. ``bias=None`` leaves a
        digital bias as it is (an analog bias column is then set to 0). With weight scaling
        (``mapping.weight_scaling_omega > 0``) the scales are recomputed. A rejected call
        changes nothing.

        Args:
            weight: a float tensor of the layer's weight shape (or ``[out, in]`` flattened).
            bias: a float tensor ``[out]``, or ``None``.
        """
        name = type(self).__name__
        out_size = self._weight_shape[0]
        in_size = self._col_splits[-1][0] + self._col_splits[-1][1]
        if not isinstance(weight, Tensor) or not weight.is_floating_point():
            got = weight.dtype if isinstance(weight, Tensor) else type(weight).__name__
            raise TypeError(
                f"{name}.set_weights: weight must be a floating-point tensor; got {got}"
            )
        if tuple(weight.shape) not in (self._weight_shape, (out_size, in_size)):
            raise ValueError(
                f"{name}.set_weights: weight has shape {tuple(weight.shape)}; expected "
                f"{self._weight_shape}"
            )
        if not bool(torch.isfinite(weight).all()):
            raise ValueError(f"{name}.set_weights: weight must be finite")
        if bias is not None:
            if not self._has_bias():
                raise ValueError(f"{name}.set_weights: got a bias but the layer has bias=False")
            if not isinstance(bias, Tensor) or not bias.is_floating_point():
                got = bias.dtype if isinstance(bias, Tensor) else type(bias).__name__
                raise TypeError(
                    f"{name}.set_weights: bias must be a floating-point tensor; got {got}"
                )
            if tuple(bias.shape) != (out_size,):
                raise ValueError(
                    f"{name}.set_weights: bias has shape {tuple(bias.shape)}; expected ({out_size},)"
                )
            if not bool(torch.isfinite(bias).all()):
                raise ValueError(f"{name}.set_weights: bias must be finite")
        device = self._tiles[0].weights.device
        matrix = self._weight_matrix(weight, out_size, in_size).to(device)
        analog_bias = None
        if self._analog_bias:
            analog_bias = (
                torch.zeros(out_size, device=device)
                if bias is None
                else bias.detach().to(device=device, dtype=torch.float32)
            )
        omega = self.mapping.weight_scaling_omega
        for index, tile in enumerate(self._tiles):
            start, length = self._tile_rows(index)
            c0, c_len = self._col_splits[self._tile_position(index)[2]]
            w = matrix[start : start + length, c0 : c0 + c_len]
            b = None
            if tile.bias:
                b = analog_bias[start : start + length]  # type: ignore[index]
            if self._scales is not None:
                block = w if b is None else torch.cat((w, b.unsqueeze(1)), dim=1)
                if self.mapping.weight_scaling_columnwise:
                    peak = block.abs().amax(dim=1)
                else:
                    peak = block.abs().amax().expand(length)
                scale = torch.where(peak > 0, peak / omega, torch.ones_like(peak))
                self._scales[index] = scale.detach().cpu().clone()
                w = w / scale.unsqueeze(1)
                if b is not None:
                    b = b / scale
            tile.set_weights(w.contiguous(), None if b is None else b.contiguous())
        if bias is not None and not self._analog_bias:
            with torch.no_grad():
                self.bias.copy_(bias.detach())  # type: ignore[union-attr]
        self._relink()

    # -- torch.nn.Module integration --------------------------------------------------------
    def _move_tiles(self, target: torch.device) -> None:
        if self._tiles[0].weights.device != target:
            for tile in self._tiles:
                tile.to(target)
        self._relink()

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        """Move the tiles with the layer; the tiles (and the weight) stay float32.

        ``Module._apply`` would convert the weight like any parameter (``.double()``,
        ``.half()``) and break the shared storage, so the weight sits out the generic pass;
        the tiles follow the device that ``fn`` targets, and the weight is re-linked.
        """
        parameters = self._parameters  # type: ignore[attr-defined]
        names = self._weight_param_names()
        saved = {name: parameters[name] for name in names}
        for name in names:
            parameters[name] = None  # keeps the key order (state_dict order) unchanged
        try:
            super()._apply(fn, recurse)  # type: ignore[misc]
        finally:
            parameters.update(saved)
        tile_device = self._tiles[0].weights.device
        self._move_tiles(fn(torch.zeros(1, device=tile_device)).device)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # The prepared inference passes and their buffer are rebuilt on use.
        state = super().__getstate__()  # type: ignore[misc]
        state = dict(state)
        state.pop("_inference_plan", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # copy.deepcopy and pickle copy the tiles and the Parameters separately: re-link.
        super().__setstate__(state)  # type: ignore[misc]
        self._relink()

    # -- persistence ------------------------------------------------------------------------
    def _layout(self) -> dict[str, Any]:
        return {
            "weight_shape": list(self._weight_shape),
            "groups": self.groups,
            "row_splits": [list(s) for s in self._row_splits],
            "col_splits": [list(s) for s in self._col_splits],
            "analog_bias": self._analog_bias,
        }

    def get_extra_state(self) -> dict[str, Any]:
        """The tiles' complete state and the layout, as plain data (``weights_only`` safe)."""
        return {
            "format": _LAYER_FORMAT,
            "version": _LAYER_VERSION,
            "layout": self._layout(),
            "mapping": self.mapping.as_dict(),
            "tiles": [_cloned(tile_state(tile)) for tile in self._tiles],
            "scales": None if self._scales is None else [s.clone() for s in self._scales],
        }

    def check_extra_state(self, state: Any) -> list[Any]:
        """Validate a layer state from :meth:`get_extra_state`; return the new tiles.

        Raises:
            LayerStateError: the state is malformed or does not fit this layer.
            aihw.core.tiles.state.MissingDeviceError: a device is not installed.
        """
        name = type(self).__name__
        if not isinstance(state, dict) or state.get("format") != _LAYER_FORMAT:
            raise LayerStateError(
                f"{name}: the checkpoint's analog state is not an aihw layer state"
            )
        if state.get("version") != _LAYER_VERSION:
            raise LayerStateError(
                f"{name}: analog layer state version {state.get('version')!r} is not supported"
            )
        expected_keys = {"format", "version", "layout", "mapping", "tiles", "scales"}
        if set(state) != expected_keys:
            raise LayerStateError(
                f"{name}: analog layer state has keys {sorted(state)}; expected "
                f"{sorted(expected_keys)}"
            )
        if state["layout"] != self._layout():
            raise LayerStateError(
                f"{name}: the checkpoint's tile layout {state['layout']} does not match this "
                f"layer's {self._layout()} (different shape, groups, bias or max tile sizes)"
            )
        tiles = state["tiles"]
        if not isinstance(tiles, list) or len(tiles) != len(self._tiles):
            raise LayerStateError(f"{name}: the checkpoint has the wrong number of tiles")
        new_tiles = []
        for index, (tile, tile_data) in enumerate(zip(self._tiles, tiles, strict=True)):
            try:
                new = tile_from_state(tile_data)
            except MissingDeviceError as error:
                error.args = (f"{name}, tile {index}: {error.args[0]}", *error.args[1:])
                raise
            except TileStateError as error:
                raise LayerStateError(f"{name}, tile {index}: {error}") from error
            if (new.out_size, new.in_size, new.bias) != (tile.out_size, tile.in_size, tile.bias):
                raise LayerStateError(f"{name}, tile {index}: the tile sizes do not match")
            new_tiles.append(new)
        scales = state["scales"]
        if (scales is None) != (self._scales is None):
            raise LayerStateError(f"{name}: the checkpoint's weight scaling does not match")
        if scales is not None:
            if not isinstance(scales, list) or len(scales) != len(self._tiles):
                raise LayerStateError(f"{name}: the checkpoint's weight scales are malformed")
            for tile, scale in zip(self._tiles, scales, strict=True):
                if (
                    not isinstance(scale, Tensor)
                    or not scale.is_floating_point()
                    or tuple(scale.shape) != (tile.out_size,)
                    or not bool((scale > 0).all())
                ):
                    raise LayerStateError(f"{name}: the checkpoint's weight scales are malformed")
        return new_tiles

    def set_extra_state(self, state: Any) -> None:
        """Restore :meth:`get_extra_state` output; nothing changes if it is rejected."""
        pending = self.__dict__.pop("_pending_tiles", None)
        new_tiles = pending[1] if pending is not None and pending[0] is state else None
        if new_tiles is None:
            new_tiles = self.check_extra_state(state)
        for tile, new in zip(self._tiles, new_tiles, strict=True):
            replace_tile(tile, new)
        if state["scales"] is not None:
            self._scales = [s.detach().to(torch.float32).cpu().clone() for s in state["scales"]]
        self._relink()

    def _load_from_state_dict(
        self,
        state_dict: Any,
        prefix: str,
        local_metadata: Any,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        # Check everything of this layer before anything changes.
        name = type(self).__name__
        extra_key = prefix + "_extra_state"
        extra = state_dict.get(extra_key)
        for key, param in list(self._parameters.items()):  # type: ignore[attr-defined]
            value = state_dict.get(prefix + key)
            if param is not None and value is not None:
                if not isinstance(value, Tensor):
                    raise LayerStateError(f"{name}: {prefix + key} is not a tensor")
                if value.shape != param.shape:
                    raise LayerStateError(
                        f"{name}: {prefix + key} has shape {tuple(value.shape)} in the "
                        f"checkpoint; this layer's is {tuple(param.shape)}"
                    )
        if strict:
            known = {prefix + k for k in self._parameters}  # type: ignore[attr-defined]
            known |= {prefix + k for k in self._buffers}  # type: ignore[attr-defined]
            known.add(extra_key)
            foreign = [k for k in state_dict if k.startswith(prefix) and k not in known]
            if foreign:
                raise LayerStateError(
                    f"{name}: unexpected key(s) in the checkpoint: {', '.join(foreign)}"
                )
        if strict and extra is not None:
            absent = [
                prefix + key
                for key, param in self._parameters.items()  # type: ignore[attr-defined]
                if param is not None and prefix + key not in state_dict
            ]
            if absent:
                raise LayerStateError(f"{name}: the checkpoint lacks {', '.join(absent)}")
        if extra is not None:
            self.__dict__["_pending_tiles"] = (extra, self.check_extra_state(extra))
        try:
            super()._load_from_state_dict(  # type: ignore[misc]
                state_dict,
                prefix,
                local_metadata,
                strict,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )
        finally:
            self.__dict__.pop("_pending_tiles", None)
        if extra_key in missing_keys:
            # A state dict without the analog state (e.g. from a torch.nn layer): program
            # the tiles from the loaded weight, clipped by a pulsed device.
            missing_keys.remove(extra_key)
        if extra is None:
            weight, bias = self._loaded_weight()
            self.set_weights(weight, bias)
        self._relink()

    def _loaded_weight(self) -> tuple[Tensor, Tensor | None]:
        """The weight as the parameters now hold it (after a plain state-dict load)."""
        params = self._weight_params()
        if len(params) == 1:
            weight = params[0].detach().reshape(self._weight_shape[0], -1)
        else:
            weight = torch.cat([p.detach() for p in params], dim=1)
        if self._scales is not None:
            # The parameters hold the tiles' (scaled) values: undo the scales.
            weight = weight.clone()
            for index in range(len(self._tiles)):
                start, length = self._tile_rows(index)
                c0, c_len = self._col_splits[self._tile_position(index)[2]]
                weight[start : start + length, c0 : c0 + c_len] *= (
                    self._scales[index].to(weight.device).unsqueeze(1)
                )
        bias = None
        if self._analog_bias:
            bias = self.get_weights()[1]
        return weight.clone(), bias


def _cloned(state: dict[str, Any]) -> dict[str, Any]:
    """A snapshot of a tile state: the tensors cloned, the plain data deep-copied."""
    tensors = ("weights", "device_arrays")
    out = copy.deepcopy({k: v for k, v in state.items() if k not in tensors})
    out["weights"] = state["weights"].detach().clone()
    out["device_arrays"] = {k: v.detach().clone() for k, v in state["device_arrays"].items()}
    return out

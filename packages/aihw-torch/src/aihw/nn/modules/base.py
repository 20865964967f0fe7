"""The mixin shared by every analog layer: its tile grid as ``torch.nn.Module`` parameters.

A layer's logical weight ``[out, in]`` (``in`` = everything but the first dimension of
the weight shape; for a grouped convolution, one group's inputs) lives on a
:class:`~aihw.core.grid.TileGrid`: ``groups`` blocks times row splits times column
splits, each tile at most ``max_output_size x max_input_size``. The partial outputs of
the column splits are summed digitally and the bias is added once.

The weight ``Parameter`` *shares storage* with the tiles: the tiles of one column split
are row slices of one contiguous tensor. Without column splits (the usual case) that
tensor viewed in the layer's weight shape is ``weight``, exactly as for a single tile.
With column splits, each column split ``c`` is a parameter ``weight_split_{c}`` of shape
``[out, in_c]`` and ``layer.weight`` gives the assembled weight (a copy).

Each of these parameters is linked to the tiles it shares storage with
(:func:`aihw.core.links.link_parameter`: ``param.analog_tiles`` and ``param.analog_tile``),
which is how :class:`aihw.optim.AnalogSGD` finds them. They never receive a ``.grad``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.nn import Module, Parameter, init

from aihw.core.device_model import DeviceModel
from aihw.core.grid import TileGrid
from aihw.core.links import is_same_view, link_parameter, mark_step_consumes

from ..input_range import apply_input_range, init_input_range, set_input_range
from ..mapping import MappingParameters
from . import checkpoint
from .checkpoint import LayerStateError
from .checks import check_float_dtype, check_resistive_device, check_rpu_config, resolve_mapping

__all__ = ["AnalogLayerBase", "LayerStateError"]

_Layer = TypeVar("_Layer", bound="AnalogLayerBase")


class _Registered:
    """``layer.<name>`` read straight from the layer's registered parameters.

    ``Module.__getattr__`` finds a parameter only after a failed attribute lookup, which
    costs a small layer's forward more than the rest of its Python; ``forward`` reads the
    bias and the output scale on every call.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, layer: Module | None, owner: type | None = None) -> Any:
        if layer is None:
            return self
        try:
            return layer.__dict__["_parameters"][self.name]
        except KeyError:
            raise AttributeError(self.name) from None


def _round_input(layer: Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """``rpu_config.runtime.data_type`` HALF or BFLOAT16: the input in that dtype."""
    dtype = layer.__dict__.get("boundary_dtype")
    if dtype is None or not args or not isinstance(args[0], Tensor):
        return None
    return (args[0].to(dtype), *args[1:])


def _cast_output(layer: Module, args: tuple[Any, ...], output: Any) -> Any:
    """``rpu_config.runtime.data_type`` HALF or BFLOAT16: the output in that dtype."""
    dtype = layer.__dict__.get("boundary_dtype")
    if dtype is None or not isinstance(output, Tensor):
        return None
    return output.to(dtype)


#: Whether dynamo is tracing (``torch.compiler.is_compiling``; torch 2.3 and later).
_is_compiling = getattr(torch.compiler, "is_compiling", lambda: False)


def _eager_under_compile(forward: Any) -> Any:
    """``forward`` run eagerly, as one graph break, when ``torch.compile`` traces it.

    The tiles cannot be compiled anyway; breaking at the layer's entry keeps dynamo from
    compiling the layer's own frames once per layer, shape and grad mode (and from
    reaching its recompile limit in models with many analog layers).
    """

    @functools.wraps(forward)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> Any:
        if _is_compiling():
            # Made here: torch.compiler.disable imports dynamo (a second at import time).
            eager = torch.compiler.disable(forward)  # type: ignore[no-untyped-call]
            return eager(self, *args, **kwargs)
        return forward(self, *args, **kwargs)

    return wrapper


class AnalogLayerBase(Module):
    """Base of the :class:`~torch.nn.Module` layers whose weight lives on analog tiles.

    A subclass calls :meth:`_init_analog_tile` in its constructor, after
    ``Module.__init__``, and :meth:`_init_bias` after it. It then has:

    * ``grid``: the :class:`~aihw.core.grid.TileGrid`; ``analog_tile`` is its first tile,
      :meth:`analog_tiles` yields all of them;
    * ``weight``: the weight (see the module docstring for split layers);
    * ``bias``: the digital bias ``Parameter``, or ``None`` (no bias, or an analog bias);
    * ``out_scaling_alpha``: the learned output scale when ``mapping.learn_out_scaling``;
    * ``input_range``: the learned input range when
      ``rpu_config.pre_post.input_range.enable`` (``aihw.nn.input_range``);
    * ``resistive_device``, ``mapping`` and ``rpu_config``;
    * ``boundary_dtype``: from ``rpu_config.runtime.data_type``, the dtype the layer rounds
      its input to and returns (``None``: its input's own dtype).

    Writing into ``weight`` in place writes into the tiles *without* the device's
    clipping: use :meth:`set_weights` for that.
    """

    grid: TileGrid
    resistive_device: DeviceModel | None
    mapping: MappingParameters
    rpu_config: Any
    boundary_dtype: torch.dtype | None = None  # layers pickled before it existed
    groups: int
    bias = _Registered()
    out_scaling_alpha = _Registered()
    input_range = _Registered()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is not None:
            cls.forward = _eager_under_compile(forward)

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
        """Create the tile grid for a weight of ``weight_shape`` (``[out, ...]``) and link
        the weight parameters to it.

        Args:
            groups: number of independent blocks (convolution groups); ``out`` must be
                divisible by it, and the weight shape's inputs are per group.
            bias: whether the layer has a bias (digital or analog as ``mapping`` says).
            rpu_config: an :class:`aihw.core.config.TileConfig` replacing
                ``resistive_device`` and ``update``; giving both is an error.
        """
        if rpu_config is not None:
            check_rpu_config(rpu_config, resistive_device, update)
            resistive_device = rpu_config.device
        check_resistive_device(resistive_device)
        check_float_dtype(dtype)
        # rpu_config.mapping applies where no mapping was resolved yet (a subclass may
        # hand over the one it resolved from both).
        mapping = resolve_mapping(mapping, rpu_config=rpu_config if mapping is None else None)
        self.resistive_device = resistive_device
        self.mapping = mapping
        self.groups = groups
        self.rpu_config = rpu_config
        self.grid = TileGrid(
            weight_shape,
            groups=groups,
            bias=bias,
            mapping=mapping,
            resistive_device=resistive_device,
            update=update,
            rpu_config=rpu_config,
            seed=seed,
            name=type(self).__name__,
        )
        self._link_weights(create=True)
        if mapping.learn_out_scaling:
            size = self.grid.out_size if mapping.out_scaling_columnwise else 1
            self.out_scaling_alpha = Parameter(torch.ones(size, device=device, dtype=dtype))
        else:
            self.register_parameter("out_scaling_alpha", None)
        init_input_range(self, device, dtype)  # rpu_config.pre_post.input_range
        if device is not None:
            self.grid.to(torch.device(device))
            self._link_weights()
        # Read once, like the rest of the configuration: the layer's input is rounded to
        # this dtype and its output returned in it (the tiles compute in float32).
        boundary = None if rpu_config is None else rpu_config.runtime.boundary_dtype
        self.boundary_dtype = boundary
        if boundary is not None:
            self.register_forward_pre_hook(_round_input)
            self.register_forward_hook(_cast_output)

    def reset_parameters(self) -> None:
        """Initialise like the torch layer: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

        ``kaiming_uniform_(a=sqrt(5))`` as in ``torch.nn.Linear`` and ``ConvNd``, with
        ``fan_in`` the inputs of one output (per group for convolutions). The weights are
        programmed with :meth:`set_weights`, so a pulsed tile clips them to its device
        bounds.
        """
        grid = self.grid
        device = grid.device
        weight = torch.empty(grid.weight_shape, device=device)
        init.kaiming_uniform_(weight, a=math.sqrt(5))
        fan_in = math.prod(grid.weight_shape[1:])
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        bias = None
        if grid.analog_bias:
            bias = torch.empty(grid.out_size, device=device).uniform_(-bound, bound)
        self.set_weights(weight, bias)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def _init_bias(self, bias: bool, out_size: int, factory_kwargs: dict[str, Any]) -> None:
        if bias and not self.grid.analog_bias:
            self.bias = Parameter(torch.empty(out_size, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self._mark_digital()

    def _mark_digital(self) -> None:
        """Mark the layer's digital parameters (bias, output scale, input range) as
        consumed by an optimizer step, like the tiles' recorded updates
        (``aihw.core.links``)."""
        for name in ("bias", "out_scaling_alpha", "input_range"):
            param = self._parameters.get(name)
            if param is not None:
                mark_step_consumes(param)

    # -- the grid and its parameters ------------------------------------------------------
    @property
    def analog_tile(self) -> Any:
        """The first tile of the grid."""
        return self.grid.tiles[0]

    def analog_tiles(self) -> Iterator[Any]:
        """Yield the analog tiles of this layer (group by group, row split by row split)."""
        yield from self.grid.tiles

    def analog_engines(self) -> dict[str, dict[str, str]]:
        """Which implementation each tile runs (``tile.engines``: ``"native"``, ``"cuda"``
        or ``"reference"`` per part), keyed ``"tiles[i]"`` in :meth:`analog_tiles` order."""
        return {f"tiles[{i}]": tile.engines for i, tile in enumerate(self.analog_tiles())}

    @property
    def tile_grid(self) -> tuple[int, int, int]:
        """``(groups, row splits, column splits)`` of the tile grid."""
        return self.grid.shape

    def _weight_param_names(self) -> list[str]:
        n_c = len(self.grid.col_splits)
        return ["weight"] if n_c == 1 else [f"weight_split_{c}" for c in range(n_c)]

    def _weight_params(self) -> list[Parameter]:
        return [self._parameters[name] for name in self._weight_param_names()]  # type: ignore[misc]

    def _link_weights(self, create: bool = False) -> None:
        """Make each weight parameter a view of its column split's storage (keeping the
        ``Parameter`` object), link it to the split's tiles and bind it to the grid.

        Cheap when already linked; after pickling, deep copies, device moves or a load that
        replaced a parameter's data or object, it re-links.
        """
        grid = self.grid
        grid.relink()
        params: list[Tensor] = []
        for c, (name, view) in enumerate(
            zip(self._weight_param_names(), grid.weight_views(), strict=True)
        ):
            param = None if create else self._parameters.get(name)
            if param is None:
                param = Parameter(view)
                setattr(self, name, param)
            elif not is_same_view(param, view):
                param.data = view
            link_parameter(param, grid.column_tiles(c), f"{grid.name}.{name}")
            params.append(param)
        grid.bind_weights(params)
        if not create:
            self._mark_digital()  # a copy or a load may have made new Parameter objects

    def __getattr__(self, name: str) -> Any:
        if name == "weight":
            grid = self.__dict__.get("grid")
            if grid is not None and len(grid.col_splits) > 1:
                return self.get_weights()[0]
        return super().__getattr__(name)

    def sync_parameters_from_tile(self) -> None:
        """Make ``weight`` show the tiles' weights.

        ``weight`` shares the tiles' storage, so it is always in sync and this is cheap: it
        only re-links ``weight`` (keeping the same ``Parameter`` object, so optimizers that
        hold it keep working) if something replaced its data, e.g. ``weight.data = ...``.
        It exists for the API of the original user guide.
        """
        self._link_weights()

    # -- weights --------------------------------------------------------------------------
    def _has_bias(self) -> bool:
        return self.grid.analog_bias or self.bias is not None

    def get_weights(self) -> tuple[Tensor, Tensor | None]:
        """Return copies of ``(weight, bias)``; ``bias`` is ``None`` without a bias.

        The weight has the layer's weight shape and is float32 (the tiles' dtype); the
        mapping scales are applied, so this is the logical weight.
        """
        weight, bias = self.grid.get_weights()
        if not self.grid.analog_bias:
            bias = None if self.bias is None else self.bias.detach().clone()
        return weight, bias

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
        self._program(weight, bias)

    def _program(self, weight: Tensor, bias: Tensor | None) -> int:
        """:meth:`set_weights`; returns how many values the device bounds clipped."""
        grid = self.grid
        matrix = grid.check_weights(weight, bias, has_bias=self._has_bias())
        clipped = grid.program(matrix, bias if grid.analog_bias else None)
        if bias is not None and not grid.analog_bias and self.bias is not None:
            with torch.no_grad():
                self.bias.copy_(bias.detach())
        self._link_weights()
        return clipped

    # -- the learned input range (aihw.nn.input_range) --------------------------------------
    def set_input_range(self, value: float) -> None:
        """Set the learned input range ``r`` (a finite number ``> 0``)."""
        set_input_range(self, value)

    def _pre_post(self, input: Any) -> tuple[Any, Tensor | None]:
        """The input the tiles see and the output scale (``out_scaling_alpha``, times the
        input range when the layer has one)."""
        return apply_input_range(self, input, self._parameters.get("out_scaling_alpha"))

    # -- inference on programmed devices (aihw.nn.inference) --------------------------------
    def program_analog_weights(self, seed: int | None = None) -> None:
        """Program the weights onto the noise model's devices
        (:func:`aihw.nn.inference.program_analog_weights`)."""
        from ..inference import program_analog_weights

        program_analog_weights(self, seed)

    def drift_analog_weights(self, t_inference: float = 0.0) -> None:
        """Read the programmed weights ``t_inference`` seconds later
        (:func:`aihw.nn.inference.drift_analog_weights`)."""
        from ..inference import drift_analog_weights

        drift_analog_weights(self, t_inference)

    def remap_analog_weights(self, remap: Any = None) -> None:
        """Remap the weights into the tiles' output scales
        (:func:`aihw.nn.inference.remap_analog_weights`)."""
        from ..inference import remap_analog_weights

        remap_analog_weights(self, remap)

    def prepare_for_ddp(self, group: Any = None) -> None:
        """Ready this layer for ``DistributedDataParallel``
        (:func:`aihw.nn.distributed.prepare_for_ddp`)."""
        from ..distributed import prepare_for_ddp

        prepare_for_ddp(self, group)

    def train(self: _Layer, mode: bool = True) -> _Layer:
        """As ``Module.train``; the tiles learn the mode too (drift compensation applies in
        eval mode only)."""
        super().train(mode)
        from ..inference import sync_test_mode

        sync_test_mode(self)
        return self

    # -- torch.nn.Module integration --------------------------------------------------------
    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        """Move the tiles with the layer; the tiles (and the weight) stay float32.

        ``Module._apply`` would convert the weight like any parameter (``.double()``,
        ``.half()``) and break the shared storage, so the weight sits out the generic pass;
        the tiles follow the device that ``fn`` targets, and the weight is re-linked.
        """
        parameters = self._parameters
        names = self._weight_param_names()
        saved = {name: parameters[name] for name in names}
        for name in names:
            parameters[name] = None  # keeps the key order (state_dict order) unchanged
        try:
            super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        finally:
            parameters.update(saved)
        self.grid.to(fn(torch.zeros(1, device=self.grid.device)).device)
        self._link_weights()
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        # copy.deepcopy and pickle copy the grid and the Parameters separately: re-link.
        super().__setstate__(state)  # type: ignore[no-untyped-call]
        self._link_weights()

    # -- checkpoints (aihw.nn.modules.checkpoint) -------------------------------------------
    def get_extra_state(self) -> dict[str, Any]:
        """The tiles' complete state and the layout, as plain data (``weights_only`` safe)."""
        return checkpoint.layer_state(self)

    def check_extra_state(self, state: Any) -> list[Any]:
        """Validate a layer state from :meth:`get_extra_state`; return the new tiles.

        Raises:
            LayerStateError: the state is malformed or does not fit this layer.
            aihw.core.tiles.state.MissingDeviceError: a device is not installed.
        """
        return checkpoint.check_layer_state(self, state)

    def set_extra_state(self, state: Any) -> None:
        """Restore :meth:`get_extra_state` output; nothing changes if it is rejected."""
        checkpoint.set_layer_state(self, state)

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
        checkpoint.load_layer_entries(
            self,
            super()._load_from_state_dict,
            state_dict,
            prefix,
            local_metadata,
            strict,
            missing_keys,
            unexpected_keys,
            error_msgs,
        )

"""The mixin shared by every analog layer: the tile, the linked ``weight``, a digital bias.

The layer's ``weight`` is a :class:`~torch.nn.Parameter` that *shares storage* with the
tile's weight tensor (``analog_tile.weights``), so it always shows what the tile holds and
costs nothing to read. It never receives a ``.grad``: the backward pass records its inputs
on the tile and :class:`aihw.optim.AnalogSGD` applies the update inside the tile. The bias
is digital, a plain ``Parameter`` trained by the optimizer like any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import Parameter

from aihw.core.config import TileConfig
from aihw.core.device_model import DeviceModel
from aihw.core.tiles import create_tile

__all__ = ["AnalogLayerBase", "check_bool", "check_positive_int", "check_resistive_device"]


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


class AnalogLayerBase:
    """Mixin for :class:`~torch.nn.Module` layers whose weight lives on an analog tile.

    A subclass calls :meth:`_init_analog_tile` in its constructor, after
    ``Module.__init__``. It then has:

    * ``analog_tile``: the tile (``aihw.core.tiles``) that holds the weights, float32;
    * ``weight``: a ``Parameter`` of the layer's weight shape sharing the tile's storage,
      with ``weight.analog_tile`` set so that optimizers find the tile from the parameter;
    * ``resistive_device``: the device model given (``None`` = floating point).

    Because the storage is shared, ``weight`` is always in sync with the tile. Writing into
    ``weight`` in place writes into the tile *without* the device's clipping: use
    :meth:`set_weights` for that.
    """

    analog_tile: Any
    resistive_device: DeviceModel | None
    rpu_config: Any
    weight: Parameter
    bias: Parameter | None
    _weight_shape: tuple[int, ...]

    # -- construction ---------------------------------------------------------------------
    def _init_analog_tile(
        self,
        resistive_device: DeviceModel | None,
        weight_shape: Sequence[int],
        *,
        update: Any = None,
        rpu_config: Any = None,
        seed: int | None = None,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        """Create the tile for a weight of ``weight_shape`` (``[out, ...]``) and link ``weight``.

        ``rpu_config`` (an :class:`aihw.core.config.TileConfig`) replaces
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
        check_resistive_device(resistive_device)
        _check_float_dtype(dtype)
        out_size = weight_shape[0]
        in_size = 1
        for size in weight_shape[1:]:
            in_size *= size
        # The bias is digital (a plain Parameter), so the tile has no analog bias column.
        if rpu_config is not None:
            tile = create_tile(None, out_size, in_size, bias=False, seed=seed, rpu_config=rpu_config)
            resistive_device = rpu_config.device
        else:
            tile = create_tile(
                resistive_device, out_size, in_size, bias=False, seed=seed, update=update
            )
        if device is not None:
            tile = tile.to(torch.device(device))
        self.resistive_device = resistive_device
        self.rpu_config = rpu_config
        self._weight_shape = tuple(int(s) for s in weight_shape)
        self.analog_tile = tile
        self.weight = Parameter(self._tile_weight_view())
        self.weight.analog_tile = tile  # type: ignore[attr-defined]

    def _tile_weight_view(self) -> Tensor:
        return self.analog_tile.weights.view(self._weight_shape)

    # -- the tile <-> Parameter link ------------------------------------------------------
    def sync_parameters_from_tile(self) -> None:
        """Make ``weight`` show the tile's weights.

        ``weight`` shares the tile's storage, so it is always in sync and this is cheap: it
        only re-links ``weight`` (keeping the same ``Parameter`` object, so optimizers that
        hold it keep working) if something replaced its data, e.g. ``weight.data = ...``.
        It exists for the API of the original user guide.
        """
        weight: Parameter = self._parameters["weight"]  # type: ignore[attr-defined]
        view = self._tile_weight_view()
        if not (
            weight.data_ptr() == view.data_ptr()
            and weight.dtype == view.dtype
            and weight.device == view.device
            and weight.shape == view.shape
            and weight.stride() == view.stride()
        ):
            weight.data = view
        weight.analog_tile = self.analog_tile  # type: ignore[attr-defined]

    def analog_tiles(self) -> Iterator[Any]:
        """Yield the analog tiles of this layer (one)."""
        yield self.analog_tile

    # -- weights --------------------------------------------------------------------------
    def get_weights(self) -> tuple[Tensor, Tensor | None]:
        """Return copies of ``(weight, bias)``; ``bias`` is ``None`` without a bias.

        The weight has the layer's weight shape and is float32 (the tile's dtype).
        """
        weights, _ = self.analog_tile.get_weights()
        weight = weights.reshape(self._weight_shape)
        bias = None if self.bias is None else self.bias.detach().clone()
        return weight, bias

    def set_weights(self, weight: Tensor, bias: Tensor | None = None) -> None:
        """Program the tile with ``weight`` and, if given, set the digital ``bias``.

        A pulsed tile clips the weights to its device bounds. ``bias=None`` leaves the bias
        as it is. A rejected call changes nothing.

        Args:
            weight: a float tensor of the layer's weight shape (or ``[out, in]`` flattened).
            bias: a float tensor ``[out]``, or ``None``.
        """
        name = type(self).__name__
        out_size = self._weight_shape[0]
        in_size = self.analog_tile.weights.shape[1]
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
        if bias is not None:
            if self.bias is None:
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
        tile_device = self.analog_tile.weights.device
        weights = (
            weight.detach().to(device=tile_device, dtype=torch.float32).reshape(out_size, in_size)
        )
        self.analog_tile.set_weights(weights.contiguous())
        if bias is not None:
            with torch.no_grad():
                self.bias.copy_(bias.detach())  # type: ignore[union-attr]
        self.sync_parameters_from_tile()

    # -- torch.nn.Module integration --------------------------------------------------------
    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        """Move the tile with the layer; the tile (and ``weight``) stay float32.

        ``Module._apply`` would convert ``weight`` like any parameter (``.double()``,
        ``.half()``) and break the shared storage, so ``weight`` sits out the generic pass;
        the tile follows the device that ``fn`` targets, and ``weight`` is re-linked.
        """
        parameters = self._parameters  # type: ignore[attr-defined]
        weight = parameters["weight"]
        parameters["weight"] = None  # keeps the key order (state_dict order) unchanged
        try:
            super()._apply(fn, recurse)  # type: ignore[misc]
        finally:
            parameters["weight"] = weight
        tile_device = self.analog_tile.weights.device
        target = fn(torch.zeros(1, device=tile_device)).device
        if target != tile_device:
            self.analog_tile = self.analog_tile.to(target)
        self.sync_parameters_from_tile()
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        # copy.deepcopy and pickle copy the tile and the Parameter separately: re-link them.
        super().__setstate__(state)  # type: ignore[misc]
        self.sync_parameters_from_tile()

    def _load_from_state_dict(
        self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)  # type: ignore[misc]
        # Loading copies into `weight` in place (or assigns a new tensor with assign=True):
        # program the tile with it so that a pulsed tile clips it to its bounds.
        weight = self._parameters["weight"]  # type: ignore[attr-defined]
        tile_weights = self.analog_tile.weights
        weights = weight.detach().to(device=tile_weights.device, dtype=torch.float32)
        self.analog_tile.set_weights(weights.reshape(tile_weights.shape).clone())
        self.sync_parameters_from_tile()

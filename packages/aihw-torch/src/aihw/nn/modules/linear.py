"""``AnalogLinear``: the analog counterpart of :class:`torch.nn.Linear`."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from aihw.core.device_model import DeviceModel

from ..functional import analog_linear
from ..mapping import MappingParameters
from .base import AnalogLayerBase
from .checks import check_bool, check_positive_int, resolve_mapping

__all__ = ["AnalogLinear", "AnalogLinearMapped"]


class AnalogLinear(AnalogLayerBase):
    r"""Applies ``y = x W^T + b`` with ``W`` stored on an analog tile.

    The counterpart of :class:`torch.nn.Linear`. The matrix products of the forward and
    backward passes run on ``analog_tile``; the backward pass records its inputs there and
    :class:`aihw.optim.AnalogSGD` applies the update in the tile (by pulses on a pulsed
    device). The bias is digital: a plain ``Parameter`` trained like any other.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: if ``False``, the layer has no bias. Default: ``True``.
        resistive_device: the device model of the tile's cross-points, e.g.
            ``ConstantStepResistiveDevice()`` from :mod:`aihw.devices`. ``None`` (default)
            gives a floating-point tile: exact products and exact SGD updates.
        mapping: :class:`aihw.nn.MappingParameters`: digital (default) or analog bias,
            weight scaling, learned output scaling, and the maximum tile size (512 x 512 by
            default: a larger layer is split onto a grid of tiles whose partial outputs
            are summed digitally).
        max_input_size, max_output_size: override the mapping's maximum tile size
            (``0``: no limit).
        update: :class:`aihw.core.parameters.UpdateParameters` of a pulsed tile
            (``None``: the defaults).
        rpu_config: an :class:`aihw.core.config.TileConfig` (e.g.
            :class:`aihw.devices.InferenceRPUConfig`): device, forward and backward periphery
            and update parameters in one, instead of ``resistive_device`` and ``update``.
            Its ``mapping`` is the layer's unless ``mapping`` is given (refused when both
            differ from the default and from each other); its ``runtime.data_type``
            HALF or BFLOAT16 rounds the input to that dtype and returns the output in it.
        seed: the tile's random seed (``None``: drawn from torch's global generator, so
            ``torch.manual_seed`` makes the layer reproducible).
        device: where the tile and the bias live.
        dtype: dtype of the digital bias. The tile, and so ``weight``, is always float32.

    Attributes:
        analog_tile: the tile holding the weights, ``[out_features, in_features]``.
        weight: a ``Parameter`` of shape ``(out_features, in_features)`` sharing the tile's
            storage. It never gets a ``.grad``; the optimizer updates it through the tile.
        bias: the digital bias of shape ``(out_features)``, or ``None``.

    Shape:
        - Input: :math:`(*, H_{in})` where :math:`*` is any number of dimensions
          (including none) and :math:`H_{in} = \text{in\_features}`; any floating dtype
          (computed in float32 by the tile, returned in the input's dtype).
        - Output: :math:`(*, H_{out})` where :math:`H_{out} = \text{out\_features}`.

    Examples::

        >>> from aihw.nn import AnalogLinear
        >>> from aihw.devices import ConstantStepResistiveDevice
        >>> m = AnalogLinear(20, 30, resistive_device=ConstantStepResistiveDevice())
        >>> output = m(torch.randn(128, 20))
        >>> print(output.size())
        torch.Size([128, 30])
    """

    __constants__ = ["in_features", "out_features"]
    in_features: int
    out_features: int

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        resistive_device: DeviceModel | None = None,
        *,
        mapping: MappingParameters | None = None,
        max_input_size: int | None = None,
        max_output_size: int | None = None,
        update: Any = None,
        rpu_config: Any = None,
        seed: int | None = None,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_positive_int("in_features", in_features)
        check_positive_int("out_features", out_features)
        check_bool("bias", bias)
        mapping_ = resolve_mapping(mapping, max_input_size, max_output_size, rpu_config)
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self._init_analog_tile(
            resistive_device,
            (out_features, in_features),
            bias=bias,
            mapping=mapping_,
            update=update,
            rpu_config=rpu_config,
            seed=seed,
            device=device,
            dtype=dtype,
        )
        self._init_bias(bias, out_features, factory_kwargs)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        parameters = self._parameters
        if parameters.get("input_range") is None:  # the hot path: no input range
            # (read from the dict: each descriptor read is a Python call)
            return analog_linear(
                input, self.grid, parameters.get("bias"), parameters.get("out_scaling_alpha")
            )
        x, scale = self._pre_post(input)
        return analog_linear(x, self.grid, self.bias, scale)

    def extra_repr(self) -> str:
        device = type(self.resistive_device).__name__ if self.resistive_device is not None else None
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self._has_bias()}, resistive_device={device}"
        ) + (f", tile_grid={self.tile_grid}" if self.tile_grid != (1, 1, 1) else "")


#: The reference toolkit's name for a linear layer mapped onto several tiles; every
#: ``AnalogLinear`` is mapped onto a tile grid (``mapping.max_input_size`` and
#: ``max_output_size``), so it is the same class.
AnalogLinearMapped = AnalogLinear

"""``AnalogConv1d/2d/3d``: the analog counterparts of ``torch.nn.Conv1d/2d/3d``, by im2col."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from aihw.core.device_model import DeviceModel

from ..functional import analog_conv, conv_padding
from ..mapping import MappingParameters
from .base import AnalogLayerBase
from .checks import check_bool, check_positive_int, resolve_mapping

__all__ = ["AnalogConv1d", "AnalogConv2d", "AnalogConv3d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_PADDING_STRINGS = ("same", "valid")


def _ntuple(name: str, value: Any, n: int, *, minimum: int) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        values: tuple[Any, ...] = (value,) * n
    elif isinstance(value, (tuple, list)):
        values = tuple(value)
    else:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints; got {value!r}")
    if len(values) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name} must be an int or a tuple of {n} ints; got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return values


class _AnalogConvNd(AnalogLayerBase):
    """What the analog convolutions share; see :class:`AnalogConv2d`."""

    _dims: ClassVar[int] = 2

    __constants__ = [
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
        "in_channels",
        "out_channels",
        "kernel_size",
    ]
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: str | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
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
        n = self._dims
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("groups", groups)
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        kernel_size_ = _ntuple("kernel_size", kernel_size, n, minimum=1)
        stride_ = _ntuple("stride", stride, n, minimum=1)
        dilation_ = _ntuple("dilation", dilation, n, minimum=1)
        check_bool("bias", bias)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {', '.join(repr(m) for m in _PADDING_MODES)}; "
                f"got {padding_mode!r}"
            )
        padding_: str | tuple[int, ...]
        if isinstance(padding, str):
            if padding not in _PADDING_STRINGS:
                raise ValueError(
                    f"padding={padding!r} is not a padding string; allowed: 'same', 'valid', "
                    "an int or a tuple of ints"
                )
            if padding == "same" and any(s != 1 for s in stride_):
                raise ValueError(
                    f"padding='same' is not supported for strided convolutions (stride={stride!r})"
                )
            padding_ = padding
        else:
            padding_ = _ntuple("padding", padding, n, minimum=0)
        mapping_ = resolve_mapping(mapping, max_input_size, max_output_size, rpu_config)
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size_
        self.stride = stride_
        self.padding = padding_
        self.dilation = dilation_
        self.padding_mode = padding_mode
        self._pad = conv_padding(padding_, kernel_size_, dilation_)
        self._init_analog_tile(
            resistive_device,
            (out_channels, in_channels // groups, *kernel_size_),
            groups=groups,
            bias=bias,
            mapping=mapping_,
            update=update,
            rpu_config=rpu_config,
            seed=seed,
            device=device,
            dtype=dtype,
        )
        self._init_bias(bias, out_channels, factory_kwargs)
        self.reset_parameters()

    def forward(self, input: Tensor) -> Tensor:
        x, scale = self._pre_post(input)  # the input range, when the layer has one
        return analog_conv(
            x,
            self.grid,
            self.bias,
            self.stride,
            self._pad,
            self.dilation,
            self.padding_mode,
            scale,
        )

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.kernel_size):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.groups != 1:
            s += ", groups={groups}"
        if not self._has_bias():
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        device = type(self.resistive_device).__name__ if self.resistive_device is not None else None
        s = s.format(**self.__dict__) + f", resistive_device={device}"
        if self.tile_grid != (1, 1, 1):
            s += f", tile_grid={self.tile_grid}"
        return s


_DOC = r"""Applies a {n}-D convolution whose kernel is stored on analog tiles.

    The counterpart of :class:`torch.nn.Conv{n}d`, with all its options. The input is
    unfolded into patches (im2col) and each patch goes through the tiles as one input
    vector: the kernel of group ``g`` is the matrix
    ``[out_channels / groups, in_channels / groups * prod(kernel_size)]``.

    Grouped convolutions (``groups > 1``, depthwise included) use one tile (or one grid of
    tiles, when it is larger than the mapping's maximum tile size) per group, so no
    cross-point holds an off-diagonal zero.

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias: as for
            :class:`torch.nn.Conv{n}d`.
        padding, padding_mode: as for :class:`torch.nn.Conv{n}d` (``padding`` may be
            ``'same'``, ``'valid'``, an int or a tuple; ``padding_mode`` ``'zeros'``,
            ``'reflect'``, ``'replicate'`` or ``'circular'``).
        resistive_device: the device model of the tiles' cross-points; ``None`` (default)
            gives floating-point tiles: exact products and exact SGD updates.
        mapping: :class:`aihw.nn.MappingParameters` (digital or analog bias, weight
            scaling, learned output scaling, maximum tile size).
        max_input_size, max_output_size: override the mapping's maximum tile size.
        update: :class:`aihw.core.parameters.UpdateParameters` of pulsed tiles.
        rpu_config: an :class:`aihw.core.config.TileConfig` (e.g.
            :class:`aihw.devices.InferenceRPUConfig`): device, forward and backward periphery
            and update parameters in one, instead of ``resistive_device`` and ``update``.
            Its ``mapping`` is the layer's unless ``mapping`` is given (refused when both
            differ from the default and from each other); its ``runtime.data_type``
            HALF or BFLOAT16 rounds the input to that dtype and returns the output in it.
        seed: the seed of the first tile, the others derived from it (``None``: drawn from
            torch's global generator).
        device: where the tiles and the bias live.
        dtype: dtype of the digital bias. The tiles, and so ``weight``, are float32.

    Attributes:
        analog_tile: the first tile; ``analog_tiles()`` yields them all.
        weight: the kernel ``(out_channels, in_channels / groups, *kernel_size)`` sharing
            the tiles' storage (see :class:`aihw.nn.AnalogLayerBase` for split layers).
        bias: the digital bias of shape ``(out_channels)``, or ``None``.

    Shape:
        - Input: :math:`(N, C_{{in}}, *)` or unbatched :math:`(C_{{in}}, *)`, any floating
          dtype (computed in float32, returned in the input's dtype).
        - Output: as for :class:`torch.nn.Conv{n}d`.
    """


class AnalogConv1d(_AnalogConvNd):
    __doc__ = _DOC.format(n=1)
    _dims = 1


class AnalogConv2d(_AnalogConvNd):
    __doc__ = (
        _DOC.format(n=2)
        + """
    Examples::

        >>> from aihw.nn import AnalogConv2d
        >>> m = AnalogConv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> output = m(torch.randn(20, 16, 50, 100))
        >>> print(output.size())
        torch.Size([20, 33, 26, 100])
    """
    )
    _dims = 2


class AnalogConv3d(_AnalogConvNd):
    __doc__ = _DOC.format(n=3)
    _dims = 3

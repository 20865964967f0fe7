"""``AnalogConv2d``: the analog counterpart of :class:`torch.nn.Conv2d`, by im2col."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module, Parameter, init
from torch.nn.modules.utils import _pair

from aihw.core.device_model import DeviceModel

from ..functional import analog_conv2d
from .base import AnalogLayerBase, check_bool, check_positive_int

__all__ = ["AnalogConv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_PADDING_STRINGS = ("same", "valid")


def _pair_of_ints(name: str, value: Any, *, minimum: int) -> tuple[int, int]:
    pair = tuple(_pair(value))
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
    if any(v < minimum for v in pair):
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return pair  # type: ignore[return-value]


class AnalogConv2d(AnalogLayerBase, Module):
    r"""Applies a 2-D convolution whose kernel is stored on an analog tile.

    The counterpart of :class:`torch.nn.Conv2d`. The input is unfolded into patches
    (im2col, :func:`torch.nn.functional.unfold`) and each patch goes through the tile as
    one input vector: the tile holds the kernel as a matrix
    ``[out_channels, in_channels * kh * kw]``. The bias is digital.

    Grouped convolutions (``groups != 1``) are not supported yet: they raise
    ``NotImplementedError``.

    Args:
        in_channels: number of channels in the input image.
        out_channels: number of channels produced by the convolution.
        kernel_size: size of the convolving kernel, an int or a pair.
        stride: stride of the convolution. Default: 1.
        padding: padding added to all four sides: an int, a pair ``(ph, pw)``, ``'valid'``
            (none) or ``'same'`` (output as large as the input; stride must be 1).
            Default: 0.
        dilation: spacing between kernel elements. Default: 1.
        groups: must be 1 (grouped convolutions are not supported yet).
        bias: if ``False``, the layer has no bias. Default: ``True``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
            Default: ``'zeros'``.
        resistive_device: the device model of the tile's cross-points; ``None`` (default)
            gives a floating-point tile: exact products and exact SGD updates.
        update: :class:`aihw.core.parameters.UpdateParameters` of a pulsed tile.
        rpu_config: an :class:`aihw.core.config.TileConfig` (e.g.
            :class:`aihw.devices.InferenceRPUConfig`): device, forward and backward periphery
            and update parameters in one, instead of ``resistive_device`` and ``update``.
        seed: the tile's random seed (``None``: drawn from torch's global generator).
        device: where the tile and the bias live.
        dtype: dtype of the digital bias. The tile, and so ``weight``, is always float32.

    Attributes:
        analog_tile: the tile, ``[out_channels, in_channels * kh * kw]``.
        weight: a ``Parameter`` of shape ``(out_channels, in_channels, kh, kw)`` sharing
            the tile's storage; it never gets a ``.grad``.
        bias: the digital bias of shape ``(out_channels)``, or ``None``.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`,
          any floating dtype (computed in float32, returned in the input's dtype).
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          with :math:`H_{out}, W_{out}` as for :class:`torch.nn.Conv2d`.

    Examples::

        >>> from aihw.nn import AnalogConv2d
        >>> m = AnalogConv2d(16, 33, 3, stride=2)
        >>> m = AnalogConv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> output = m(torch.randn(20, 16, 50, 100))
        >>> print(output.size())
        torch.Size([20, 33, 26, 100])
    """

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
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: str | tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    padding_mode: str

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        resistive_device: DeviceModel | None = None,
        *,
        update: Any = None,
        rpu_config: Any = None,
        seed: int | None = None,
        device: torch.device | str | int | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_positive_int("in_channels", in_channels)
        check_positive_int("out_channels", out_channels)
        check_positive_int("groups", groups)
        if groups != 1:
            raise NotImplementedError(
                f"AnalogConv2d: grouped convolutions (groups={groups}) are not supported yet; "
                "use groups=1"
            )
        kernel_size_ = _pair_of_ints("kernel_size", kernel_size, minimum=1)
        stride_ = _pair_of_ints("stride", stride, minimum=1)
        dilation_ = _pair_of_ints("dilation", dilation, minimum=1)
        check_bool("bias", bias)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {', '.join(repr(m) for m in _PADDING_MODES)}; "
                f"got {padding_mode!r}"
            )
        padding_: str | tuple[int, int]
        if isinstance(padding, str):
            if padding not in _PADDING_STRINGS:
                raise ValueError(
                    f"padding={padding!r} is not a padding string; allowed: 'same', 'valid', "
                    "an int or a pair of ints"
                )
            if padding == "same" and stride_ != (1, 1):
                raise ValueError(
                    f"padding='same' is not supported for strided convolutions (stride={stride!r})"
                )
            padding_ = padding
        else:
            padding_ = _pair_of_ints("padding", padding, minimum=0)
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size_
        self.stride = stride_
        self.padding = padding_
        self.dilation = dilation_
        self.groups = groups
        self.padding_mode = padding_mode
        self._padding_lrtb = self._explicit_padding()
        self._init_analog_tile(
            resistive_device,
            (out_channels, in_channels, *kernel_size_),
            update=update,
            rpu_config=rpu_config,
            seed=seed,
            device=device,
            dtype=dtype,
        )
        if bias:
            self.bias = Parameter(torch.empty(out_channels, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _explicit_padding(self) -> tuple[int, int, int, int]:
        """The padding as ``(left, right, top, bottom)``, the order of ``F.pad``."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        if self.padding == "same":
            # As nn.Conv2d: the odd pixel of an even total padding goes right/bottom.
            pads = []
            for d, k in zip(reversed(self.dilation), reversed(self.kernel_size), strict=True):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            return tuple(pads)  # type: ignore[return-value]
        ph, pw = self.padding  # type: ignore[misc]
        return (pw, pw, ph, ph)

    def reset_parameters(self) -> None:
        """Initialise like :class:`torch.nn.Conv2d`: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

        ``fan_in = in_channels * kh * kw``; the weights are programmed with
        :meth:`set_weights`, so a pulsed tile clips them to its device bounds.
        """
        weight = torch.empty(self._weight_shape, device=self.analog_tile.weights.device)
        init.kaiming_uniform_(weight, a=math.sqrt(5))
        self.set_weights(weight)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return analog_conv2d(
            input,
            self.analog_tile,
            self.weight,
            self.bias,
            self.kernel_size,
            self.stride,
            self._padding_lrtb,
            self.dilation,
            self.padding_mode,
            layer=type(self).__name__,
        )

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.kernel_size):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        device = type(self.resistive_device).__name__ if self.resistive_device is not None else None
        return s.format(**self.__dict__) + f", resistive_device={device}"

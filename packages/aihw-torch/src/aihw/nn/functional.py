"""Functional forms of the analog layers: what their ``forward`` runs.

Each function takes the tile, the layer's linked ``weight`` Parameter (so that autograd
knows whether to record the update) and the digital bias, and checks its input with a
message naming ``input``.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from .functions import analog_matmul, check_input, check_input_tensor

__all__ = ["analog_linear", "analog_conv2d"]


def analog_linear(
    input: Tensor,
    analog_tile: Any,
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    layer: str = "analog_linear",
) -> Tensor:
    """``y = W x + b`` with ``W x`` on ``analog_tile``, for ``input`` of shape ``(*, in)``.

    Args:
        input: a floating-point tensor ``(*, in_features)`` on the tile's device.
        analog_tile: the tile holding ``W`` (``[out_features, in_features]``).
        weight: the layer's Parameter sharing the tile's storage.
        bias: the digital bias ``[out_features]``, or ``None``.
        layer: the name used in error messages.
    """
    in_features = analog_tile.weights.shape[1]
    check_input(input, in_features, analog_tile.weights.device, layer=layer)
    out = analog_matmul(analog_tile, weight, input.reshape(-1, in_features))
    out = out.reshape(*input.shape[:-1], out.shape[-1])
    if bias is not None:
        out = out + bias
    return out


def analog_conv2d(
    input: Tensor,
    analog_tile: Any,
    weight: Tensor,
    bias: Tensor | None,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int, int, int],
    dilation: tuple[int, int],
    padding_mode: str = "zeros",
    *,
    layer: str = "analog_conv2d",
) -> Tensor:
    """A 2-D convolution by im2col: patches ``[N*L, C*kh*kw]`` go through ``analog_tile``.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``, floating point.
        analog_tile: the tile holding the kernel as ``[out_channels, C*kh*kw]``.
        weight: the layer's Parameter sharing the tile's storage.
        bias: the digital bias ``[out_channels]``, or ``None``.
        kernel_size, stride, dilation: as for :func:`torch.nn.functional.conv2d`.
        padding: ``(left, right, top, bottom)``, the order of :func:`torch.nn.functional.pad`.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        layer: the name used in error messages.
    """
    tile_weights = analog_tile.weights
    check_input_tensor(input, tile_weights.device, layer=layer)
    in_channels = tile_weights.shape[1] // (kernel_size[0] * kernel_size[1])
    if input.dim() not in (3, 4) or input.shape[-3] != in_channels:
        raise ValueError(
            f"{layer}: input has shape {tuple(input.shape)}; expected (N, {in_channels}, H, W) "
            f"or unbatched ({in_channels}, H, W): the channel dimension must equal "
            f"in_channels={in_channels}"
        )
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    left, right, top, bottom = padding
    unfold_padding = (0, 0)
    if padding_mode == "zeros" and left == right and top == bottom:
        unfold_padding = (top, left)  # unfold pads zeros itself, without a padded copy
    elif any(padding):
        mode = "constant" if padding_mode == "zeros" else padding_mode
        x = F.pad(x, padding, mode=mode)
    height = x.shape[-2] + 2 * unfold_padding[0]
    width = x.shape[-1] + 2 * unfold_padding[1]
    out_h = (height - dilation[0] * (kernel_size[0] - 1) - 1) // stride[0] + 1
    out_w = (width - dilation[1] * (kernel_size[1] - 1) - 1) // stride[1] + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"{layer}: input has shape {tuple(input.shape)}; the (padded) image "
            f"{height}x{width} is smaller than the dilated kernel"
        )
    # [N, C*kh*kw, L] with the column order of weight.view(out, C*kh*kw).
    patches = F.unfold(x, kernel_size, dilation=dilation, padding=unfold_padding, stride=stride)
    batch, columns, length = patches.shape
    out = analog_matmul(
        analog_tile, weight, patches.transpose(1, 2).reshape(batch * length, columns)
    )
    out = out.reshape(batch, length, -1).transpose(1, 2).reshape(batch, -1, out_h, out_w)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out

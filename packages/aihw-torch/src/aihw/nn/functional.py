"""Functional forms of the analog layers: what their ``forward`` runs.

Each function takes the tile, the layer's linked ``weight`` Parameter (so that autograd
knows whether to record the update) and the digital bias, and checks its input with a
message naming ``input``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .functions import analog_matmul, check_input, check_input_tensor

__all__ = ["analog_linear", "analog_conv2d", "analog_conv", "conv_padding", "im2col"]


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


def conv_padding(
    padding: str | Sequence[int], kernel_size: Sequence[int], dilation: Sequence[int]
) -> tuple[int, ...]:
    """The padding as :func:`torch.nn.functional.pad` takes it (last dimension first).

    ``'same'`` puts the odd element of an odd total padding at the end, as ``torch.nn``.
    """
    pads: list[int] = []
    for i in reversed(range(len(kernel_size))):
        if padding == "valid":
            pads += [0, 0]
        elif padding == "same":
            total = dilation[i] * (kernel_size[i] - 1)
            pads += [total // 2, total - total // 2]
        else:
            pads += [padding[i], padding[i]]  # type: ignore[index]
    return tuple(pads)


def im2col(
    x: Tensor, kernel_size: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> tuple[Tensor, tuple[int, ...]]:
    """Patches of a padded ``(N, C, *spatial)`` input: ``([N * L, C * prod(k)], out_shape)``.

    The column order is that of ``weight.view(out, C * prod(k))`` (channel, then kernel
    positions), the row order batch then output positions (row-major).
    """
    dims = len(kernel_size)
    spatial = x.shape[2:]
    out_shape = tuple(
        (spatial[i] - dilation[i] * (kernel_size[i] - 1) - 1) // stride[i] + 1 for i in range(dims)
    )
    if dims == 2:
        patches = F.unfold(x, tuple(kernel_size), dilation=tuple(dilation), stride=tuple(stride))
        batch, columns, length = patches.shape
        return patches.transpose(1, 2).reshape(batch * length, columns), out_shape
    x = x.contiguous()
    strides = x.stride()
    view = x.as_strided(
        (x.shape[0], *out_shape, x.shape[1], *kernel_size),
        (
            strides[0],
            *(strides[2 + i] * stride[i] for i in range(dims)),
            strides[1],
            *(strides[2 + i] * dilation[i] for i in range(dims)),
        ),
    )
    columns = x.shape[1]
    for k in kernel_size:
        columns *= k
    return view.reshape(-1, columns), out_shape


def analog_conv(
    input: Tensor,
    mvm: Callable[[Tensor], Tensor],
    in_channels: int,
    bias: Tensor | None,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    padding_mode: str = "zeros",
    *,
    layer: str = "analog_conv",
) -> Tensor:
    """An N-d convolution by im2col: the patches go through ``mvm`` (``[M, C*K] -> [M, out]``).

    Groups are the business of ``mvm``: the patch columns are ordered by channel, so group
    ``g``'s columns are the ``g``-th block of ``C/groups * K`` columns.

    Args:
        input: ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, floating point.
        mvm: the layer's tile-grid product.
        in_channels: ``C``.
        bias: the digital bias ``[out_channels]``, or ``None``.
        kernel_size, stride, dilation: one int per spatial dimension.
        padding: as :func:`torch.nn.functional.pad` takes it (last dimension first).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        layer: the name used in error messages.
    """
    dims = len(kernel_size)
    if input.dim() not in (dims + 1, dims + 2) or input.shape[-dims - 1] != in_channels:
        spatial = ", ".join("DHW"[3 - dims :])
        raise ValueError(
            f"{layer}: input has shape {tuple(input.shape)}; expected (N, {in_channels}, "
            f"{spatial}) or unbatched ({in_channels}, {spatial}): the channel dimension must "
            f"equal in_channels={in_channels}"
        )
    unbatched = input.dim() == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    if any(padding):
        mode = "constant" if padding_mode == "zeros" else padding_mode
        x = F.pad(x, tuple(padding), mode=mode)
    sizes = x.shape[2:]
    if any(sizes[i] < dilation[i] * (kernel_size[i] - 1) + 1 for i in range(dims)):
        raise ValueError(
            f"{layer}: input has shape {tuple(input.shape)}; the (padded) input "
            f"{'x'.join(map(str, sizes))} is smaller than the dilated kernel"
        )
    if x.shape[0] == 0:
        patches = x.new_zeros((0, in_channels * int(torch.tensor(kernel_size).prod())))
        out_shape = tuple(
            (sizes[i] - dilation[i] * (kernel_size[i] - 1) - 1) // stride[i] + 1
            for i in range(dims)
        )
    else:
        patches, out_shape = im2col(x, kernel_size, stride, dilation)
    out = mvm(patches)
    batch = x.shape[0]
    out = out.reshape(batch, -1, out.shape[-1]).transpose(1, 2).reshape(batch, -1, *out_shape)
    if bias is not None:
        out = out + bias.reshape(1, -1, *([1] * dims))
    return out.squeeze(0) if unbatched else out

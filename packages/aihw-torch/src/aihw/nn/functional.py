"""Functional forms of the analog layers: what their ``forward`` runs.

Like :func:`torch.nn.functional.linear` and ``conv2d`` they take the weight, here a
:class:`~aihw.core.grid.TileGrid` (whose ``weights`` tell autograd whether the tiles are
trained), the digital bias and, for layers that learn one, an output scale. Input errors
name the grid's owner (the layer's class).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from aihw.core import engine
from aihw.core.grid import TileGrid
from aihw.core.scratch import Scratch

__all__ = [
    "ALLOWED_DTYPES",
    "analog_conv",
    "analog_linear",
    "autocast_dtype",
    "check_input",
    "check_input_tensor",
    "conv_padding",
    "im2col",
]

#: Dtypes an analog layer accepts; the tile itself works in float32.
ALLOWED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)

#: Whether autocast is enabled for any device type (``True`` where torch lacks the call:
#: the exact test below then decides).
_any_autocast: Any = getattr(torch._C, "_is_any_autocast_enabled", lambda: True)


def check_input_tensor(input: Any, device: torch.device, *, layer: str) -> None:
    """Raise unless ``input`` is a floating-point tensor on the tile's ``device``.

    Args:
        input: the layer's input.
        device: where the layer's tile lives.
        layer: the layer's class name, for the message.
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{layer}: input must be a torch.Tensor; got {type(input).__name__}")
    if input.dtype not in ALLOWED_DTYPES:
        allowed = ", ".join(str(d) for d in ALLOWED_DTYPES)
        raise TypeError(
            f"{layer}: input has dtype {input.dtype}; allowed: {allowed} "
            "(the analog tile computes in float32)"
        )
    if input.device != device:
        raise RuntimeError(
            f"{layer}: input is on {input.device} but the layer's analog tile is on {device}; "
            "move the input or the layer (layer.to(device))"
        )


def check_input(input: Any, in_features: int, device: torch.device, *, layer: str) -> None:
    """Raise unless ``input`` is a float tensor ``(*, in_features)`` on the tile's ``device``."""
    check_input_tensor(input, device, layer=layer)
    if input.dim() < 1 or input.shape[-1] != in_features:
        raise ValueError(
            f"{layer}: input has shape {tuple(input.shape)}; expected (*, {in_features}): "
            f"the last dimension must equal in_features={in_features}"
        )


def autocast_dtype(input: Tensor) -> torch.dtype | None:
    """The dtype an analog layer returns under :class:`torch.autocast`, else ``None``.

    Like ``torch.nn.Linear`` there: the autocast dtype for a float32 (or lower) input, and
    nothing for float64 (which autocast leaves alone). The tiles still compute in float32.
    """
    if not _any_autocast() or input.dtype is torch.float64:
        return None  # (the first test is one C call; the device's type costs more)
    device_type = input.device.type
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


def analog_linear(
    input: Tensor, grid: TileGrid, bias: Tensor | None = None, out_scale: Tensor | None = None
) -> Tensor:
    """``y = s * (W x) + b`` with ``W x`` on ``grid``, for ``input`` of shape ``(*, in)``.

    Args:
        input: a floating-point tensor ``(*, in_features)`` on the grid's device.
        grid: the tiles holding ``W`` (``[out_features, in_features]``).
        bias: the digital bias ``[out_features]``, or ``None``.
        out_scale: a learned output scale ``s`` (``[out_features]`` or ``[1]``), or ``None``.

    Under :class:`torch.autocast` the output is in the autocast dtype (see
    :func:`autocast_dtype`).
    """
    if isinstance(input, Tensor) and (amp := autocast_dtype(input)) is not None:
        with torch.autocast(input.device.type, enabled=False):
            return analog_linear(input, grid, bias, out_scale).to(amp)
    if out_scale is None:  # the hot path of inference: a prepared pass, when it applies
        out = grid.prepared_forward(input, bias)
        if out is not None:
            return out
    in_features = grid.in_size
    check_input(input, in_features, grid.device, layer=grid.name)
    if input.dim() == 2:
        return grid.matmul(input, bias, out_scale)
    out = grid.matmul(input.reshape(-1, in_features), bias, out_scale)
    return out.reshape(*input.shape[:-1], grid.out_size)


def conv_padding(
    padding: str | Sequence[int], kernel_size: Sequence[int], dilation: Sequence[int]
) -> tuple[int, ...]:
    """The padding as :func:`torch.nn.functional.pad` takes it (last dimension first).

    ``'same'`` puts the odd element of an odd total padding at the end, as ``torch.nn``.
    """
    pads: list[int] = []
    for i in reversed(range(len(kernel_size))):
        if isinstance(padding, str):
            total = dilation[i] * (kernel_size[i] - 1) if padding == "same" else 0  # or 'valid'
            pads += [total // 2, total - total // 2]
        else:
            pads += [padding[i], padding[i]]
    return tuple(pads)


def _patch_threads(elements: int) -> int:
    """Small copies stay on this thread: starting a parallel loop costs more."""
    return 1 if elements < 1 << 17 else torch.get_num_threads()


class _Patches2d(torch.autograd.Function):
    """im2col of a float32 CPU input by the engine; its backward is the engine's col2im."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, geometry: tuple[tuple[int, ...], ...], scratch: Scratch | None
    ) -> Tensor:
        ctx.geometry = geometry
        ctx.input_shape = tuple(x.shape)
        kernel, stride, dilation, out_shape = geometry
        threads = _patch_threads(x.numel() * kernel[0] * kernel[1])
        out = None
        if scratch is not None:
            rows = x.shape[0] * out_shape[0] * out_shape[1]
            out = scratch.take((rows, x.shape[1] * kernel[0] * kernel[1]))
        return engine.im2col_2d(x.detach().contiguous(), kernel, stride, dilation, threads, out)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        kernel, stride, dilation, _ = ctx.geometry
        g = grad.to(torch.float32).contiguous()
        threads = _patch_threads(g.numel())
        grad_x = engine.col2im_2d(g, ctx.input_shape, kernel, stride, dilation, threads)
        return grad_x, None, None


def im2col(
    x: Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    scratch: Scratch | None = None,
) -> tuple[Tensor, tuple[int, ...]]:
    """Patches of a padded ``(N, C, *spatial)`` input: ``([N * L, C * prod(k)], out_shape)``.

    The column order is that of ``weight.view(out, C * prod(k))`` (channel, then kernel
    positions), the row order batch then output positions (row-major). ``scratch``: where
    the engine may write the patches when nobody holds its last ones (a layer's own).
    """
    dims = len(kernel_size)
    spatial = x.shape[2:]
    out_shape = tuple(
        (spatial[i] - dilation[i] * (kernel_size[i] - 1) - 1) // stride[i] + 1 for i in range(dims)
    )
    if dims == 2 and x.dtype == torch.float32 and x.is_cpu and engine.native_available():
        # The engine writes the patch rows in one pass (and sums them back in backward).
        geometry = (tuple(kernel_size), tuple(stride), tuple(dilation), out_shape)
        patches: Tensor = _Patches2d.apply(x, geometry, scratch)  # type: ignore[no-untyped-call]
        return patches, out_shape
    if dims == 2 and x.requires_grad and torch.is_grad_enabled():
        # F.fold is the fast backward; that of a strided view (below) is a slow scatter.
        patches = F.unfold(x, tuple(kernel_size), dilation=tuple(dilation), stride=tuple(stride))
        batch, columns, length = patches.shape
        return patches.transpose(1, 2).reshape(batch * length, columns), out_shape
    # Without autograd: one strided view of the input, copied once into the patch layout
    # (F.unfold and a transposing copy copy twice, and unfold is slow for few channels).
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
    grid: TileGrid,
    bias: Tensor | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    padding_mode: str = "zeros",
    out_scale: Tensor | None = None,
) -> Tensor:
    """An N-d convolution by im2col: the patches go through ``grid``.

    The kernel is ``grid.weight_shape`` = ``(out_channels, in_channels / groups,
    *kernel_size)``. Groups are the grid's business: the patch columns are ordered by
    channel, so group ``g``'s columns are the ``g``-th block of ``C/groups * K`` columns.

    Args:
        input: ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, floating point.
        grid: the tiles holding the kernel.
        bias: the digital bias ``[out_channels]``, or ``None``.
        stride, dilation: one int per spatial dimension.
        padding: as :func:`torch.nn.functional.pad` takes it (last dimension first).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        out_scale: a learned output scale (``[out_channels]`` or ``[1]``), or ``None``.

    Under :class:`torch.autocast` the output is in the autocast dtype (see
    :func:`autocast_dtype`).
    """
    layer = grid.name
    check_input_tensor(input, grid.device, layer=layer)
    if (amp := autocast_dtype(input)) is not None:
        with torch.autocast(input.device.type, enabled=False):
            out = analog_conv(input, grid, bias, stride, padding, dilation, padding_mode, out_scale)
        return out.to(amp)
    kernel_size = grid.weight_shape[2:]
    in_channels = grid.weight_shape[1] * grid.groups
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
        patches, out_shape = im2col(x, kernel_size, stride, dilation, grid.input_scratch)
    # The patches are ours (a copy, or empty), so the update records keep them as they are,
    # except a view of the input itself (a 1x1 kernel on an unpadded channels-last input).
    owned = patches.numel() == 0 or patches.untyped_storage().data_ptr() != (
        input.untyped_storage().data_ptr()
    )
    out = grid.matmul(patches, None, out_scale, input_owned=owned)
    batch = x.shape[0]
    out = out.reshape(batch, -1, out.shape[-1]).transpose(1, 2).reshape(batch, -1, *out_shape)
    if bias is not None:
        out = out + bias.to(out.dtype).reshape(1, -1, *([1] * dims))  # the input's dtype
    return out.squeeze(0) if unbatched else out

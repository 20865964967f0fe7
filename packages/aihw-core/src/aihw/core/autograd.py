"""The autograd function that runs a matrix product on an analog tile.

The tile computes in float32 whatever the input dtype is; the result is cast back, so a
layer moved to ``float64`` or ``bfloat16`` keeps working. The backward pass gives the input
gradient through the tile (``W^T d``) and records ``(x, d)`` on the tile; the weight gets no
``.grad``: an optimizer applies the recorded update in the tile
(:func:`aihw.core.links.apply_recorded_updates`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import FunctionCtx, once_differentiable

from .tiles.base import TileBase

__all__ = ["AnalogFunction", "analog_matmul"]


class AnalogFunction(torch.autograd.Function):
    """``y = W x`` computed by an analog tile, for a batch ``x`` of shape ``[N, in]``.

    ``weight`` is a tensor sharing the tile's storage (a layer's ``Parameter``). It is an
    input only so that autograd knows whether the weight is trained: the backward pass
    records ``(x, d)`` on the tile when ``weight.requires_grad``, and returns no weight
    gradient.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        tile: TileBase,
        weight: torch.Tensor,
        x: torch.Tensor,
        update_scale: torch.Tensor | None = None,
        input_owned: bool = False,
        input_finite: bool = False,
    ) -> torch.Tensor:
        x32 = x.to(torch.float32).contiguous()
        ctx.tile = tile  # type: ignore[attr-defined]
        ctx.update_scale = update_scale  # type: ignore[attr-defined]
        ctx.input_dtype = x.dtype  # type: ignore[attr-defined]
        # Whether the record may keep x32 without a copy: a conversion made it, or the
        # caller says nobody else holds x (see analog_matmul).
        ctx.x_owned = input_owned or x32 is not x  # type: ignore[attr-defined]
        ctx.x_finite = input_finite  # type: ignore[attr-defined]
        ctx.save_for_backward(x32)
        if x32.shape[0] == 0:  # nothing to compute; tiles may reject empty batches
            out = x32.new_zeros((0, tile.out_size))
        else:
            out = tile.forward(x32)
        return out.to(x.dtype)

    @staticmethod
    @once_differentiable
    def backward(
        ctx: Any, grad_output: torch.Tensor
    ) -> tuple[None, None, torch.Tensor | None, None, None, None]:
        # A backward called inside torch.autocast must not lower the tile's float32 products.
        with torch.autocast(grad_output.device.type, enabled=False):
            return AnalogFunction._backward(ctx, grad_output)

    @staticmethod
    def _backward(
        ctx: Any, grad_output: torch.Tensor
    ) -> tuple[None, None, torch.Tensor | None, None, None, None]:
        (x32,) = ctx.saved_tensors
        tile = ctx.tile
        d = grad_output.to(torch.float32).contiguous()
        grad_input = None
        if x32.shape[0] == 0:
            if ctx.needs_input_grad[2]:
                grad_input = x32.new_zeros(x32.shape).to(ctx.input_dtype)
            return None, None, grad_input, None, None, None
        if ctx.needs_input_grad[2]:
            grad_input = tile.backward(d).to(ctx.input_dtype)
        if ctx.needs_input_grad[1]:
            # The weight is trained in the tile: keep what the update needs, no .grad.
            scale = ctx.update_scale
            d_owned = scale is not None or d is not grad_output
            if scale is not None:
                d = d * scale.to(d)
            tile._record(x32, d, x_finite=ctx.x_finite, x_owned=ctx.x_owned, d_owned=d_owned)
        return None, None, grad_input, None, None, None


def analog_matmul(
    tile: TileBase,
    weight: torch.Tensor,
    x: torch.Tensor,
    update_scale: torch.Tensor | None = None,
    *,
    input_owned: bool = False,
    input_finite: bool = False,
) -> torch.Tensor:
    """Apply :class:`AnalogFunction` to a 2-D batch ``x`` ``[N, in]``; returns ``[N, out]``.

    ``update_scale`` (``[out]``), if given, multiplies the error recorded for the update
    (not the input gradient); weight scaling uses it. ``input_owned``: ``x`` is a temporary
    that nobody else holds or changes (e.g. im2col patches), so the update's record keeps
    it without a copy; ``input_finite``: ``x`` was checked to hold no NaN or infinity.
    """
    if not torch.is_grad_enabled() or not (x.requires_grad or weight.requires_grad):
        # Nothing to differentiate (inference): skip the autograd node and its bookkeeping.
        x32 = x if x.dtype == torch.float32 else x.to(torch.float32)
        if x32.shape[0] == 0:
            return x.new_zeros((0, tile.out_size))
        out = tile.forward(x32)
        return out if out.dtype == x.dtype else out.to(x.dtype)
    result: torch.Tensor = AnalogFunction.apply(  # type: ignore[no-untyped-call]
        tile, weight, x, update_scale, input_owned, input_finite
    )
    return result

"""Autograd functions that run a layer's matrix products on its analog tile.

The tile computes in float32 whatever the input dtype is; the result is cast back, so a
layer moved to ``float64`` or ``bfloat16`` keeps working. The backward pass gives the input
gradient through the tile (``W^T d``) and records ``(x, d)`` on the tile; the weight gets no
``.grad``: an optimizer (``aihw.optim.AnalogSGD``) applies the recorded update in the tile.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["AnalogFunction", "analog_matmul", "check_input", "check_input_tensor"]

#: Dtypes an analog layer accepts; the tile itself works in float32.
ALLOWED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


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


class AnalogFunction(torch.autograd.Function):
    """``y = W x`` computed by an analog tile, for a batch ``x`` of shape ``[N, in]``.

    ``weight`` is the layer's ``Parameter`` that shares the tile's storage. It is an input
    only so that autograd knows whether the weight is trained: the backward pass records
    ``(x, d)`` on the tile when ``weight.requires_grad``, and returns no weight gradient.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        tile: Any,
        weight: torch.Tensor,
        x: torch.Tensor,
        update_scale: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x32 = x.to(torch.float32).contiguous()
        ctx.tile = tile  # type: ignore[attr-defined]
        ctx.update_scale = update_scale  # type: ignore[attr-defined]
        ctx.input_dtype = x.dtype  # type: ignore[attr-defined]
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
    ) -> tuple[None, None, torch.Tensor | None, None]:
        (x32,) = ctx.saved_tensors
        tile = ctx.tile
        d = grad_output.to(torch.float32).contiguous()
        grad_input = None
        if x32.shape[0] == 0:
            if ctx.needs_input_grad[2]:
                grad_input = x32.new_zeros(x32.shape).to(ctx.input_dtype)
            return None, None, grad_input, None
        if ctx.needs_input_grad[2]:
            grad_input = tile.backward(d).to(ctx.input_dtype)
        if ctx.needs_input_grad[1]:
            # The weight is trained in the tile: keep what the update needs, no .grad.
            scale = ctx.update_scale
            tile.record_update_inputs(x32, d if scale is None else d * scale.to(d))
        return None, None, grad_input, None


def analog_matmul(
    tile: Any, weight: torch.Tensor, x: torch.Tensor, update_scale: torch.Tensor | None = None
) -> torch.Tensor:
    """Apply :class:`AnalogFunction` to a 2-D batch ``x`` ``[N, in]``; returns ``[N, out]``.

    ``update_scale`` (``[out]``), if given, multiplies the error recorded for the update
    (not the input gradient); weight scaling uses it.
    """
    if not torch.is_grad_enabled() or not (x.requires_grad or weight.requires_grad):
        # Nothing to differentiate (inference): skip the autograd node and its bookkeeping.
        x32 = x if x.dtype == torch.float32 else x.to(torch.float32)
        if x32.shape[0] == 0:
            return x.new_zeros((0, tile.out_size))
        out = tile.forward(x32)
        return out if out.dtype == x.dtype else out.to(x.dtype)
    return AnalogFunction.apply(tile, weight, x, update_scale)

"""The learned input range of an analog layer (docs/physics/inference.md#input-ranges).

A layer whose ``rpu_config.pre_post.input_range.enable`` is set holds a ``Parameter``
``input_range`` (``r``, shape ``[1]``) and a buffer ``input_range_update_idx`` (how many
batches initialised ``r`` from data). Its forward sends ``clip(x, -r, r) / r`` to the
tiles and multiplies their output by ``r`` (before the digital bias). ``r`` learns by the
reference toolkit's rule (:class:`InputRangeFunction`), not by the derivative of the
layer's function: clipped inputs whose gradient asks for a larger range push ``r`` up,
``decay`` pulls it down while few inputs clip.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module, Parameter

from aihw.core.links import mark_step_consumes
from aihw.core.pre_post import InputRangeParameter

__all__ = [
    "InputRangeFunction",
    "apply_input_range",
    "init_input_range",
    "input_range_parameters",
    "set_input_range",
]


class InputRangeFunction(torch.autograd.Function):
    """``clip(x, -r, r) / r`` with the reference toolkit's gradient for ``r``.

    With ``g`` the gradient of the loss with respect to the clipped input ``clip(x)``:

    - the input gets ``g`` where ``-r <= x <= r`` and 0 where it was clipped;
    - ``r`` gets ``sum_{x >= r} min(g, 0) - sum_{x <= -r} max(g, 0)`` (only the clipped
      inputs whose gradient asks for a wider range), times ``r * gradient_scale`` when
      ``gradient_relative``; plus ``decay * r`` when the fraction of inputs with
      ``|x| < r`` exceeds ``input_min_percentage``.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, input_range: Tensor, params: InputRangeParameter) -> Tensor:
        bound = input_range.detach().abs()
        ctx.save_for_backward(x, bound)
        ctx.params = params
        ctx.range_shape = input_range.shape
        ctx.range_dtype = input_range.dtype
        clipped = torch.minimum(torch.maximum(x, -bound), bound)
        return (clipped / bound).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        x, bound = ctx.saved_tensors
        params: InputRangeParameter = ctx.params
        grad_clipped = grad / bound  # the gradient with respect to clip(x)
        upper, lower = x >= bound, x <= -bound
        grad_x = None
        if ctx.needs_input_grad[0]:
            inside = (x >= -bound) & (x <= bound)
            grad_x = torch.where(inside, grad_clipped, 0.0).to(x.dtype)
        grad_r = None
        if ctx.needs_input_grad[1]:
            zero = torch.zeros((), dtype=grad_clipped.dtype, device=grad.device)
            wider = torch.where(upper, grad_clipped, zero).clamp(max=0.0).sum()
            wider = wider - torch.where(lower, grad_clipped, zero).clamp(min=0.0).sum()
            if params.gradient_relative:
                wider = wider * bound * params.gradient_scale
            if params.decay > 0:
                inside_share = (x.abs() < bound).float().mean()
                wider = wider + params.decay * bound * (inside_share > params.input_min_percentage)
            grad_r = wider.reshape(ctx.range_shape).to(ctx.range_dtype)
        return grad_x, grad_r, None


def input_range_parameters(layer: Module) -> InputRangeParameter | None:
    """The layer's :class:`InputRangeParameter` (``None``: its configuration has none)."""
    config = layer.__dict__.get("rpu_config")
    pre_post = getattr(config, "pre_post", None)
    return getattr(pre_post, "input_range", None)


def init_input_range(layer: Module, device: Any = None, dtype: Any = None) -> None:
    """Give ``layer`` its ``input_range`` parameter and counter if its configuration
    enables one (else register ``input_range`` as ``None``)."""
    params = input_range_parameters(layer)
    if params is None or not params.enable:
        layer.register_parameter("input_range", None)
        return
    grid: Any = layer.__dict__["grid"]
    if grid.analog_bias:
        raise ValueError(
            f"{grid.name}: rpu_config.pre_post.input_range.enable=True is invalid with an "
            "analog bias (mapping.digital_bias=False: the bias column would be scaled by the "
            "range); allowed: a digital bias or no bias"
        )
    value = torch.full((1,), float(params.init_value), device=device, dtype=dtype)
    layer.input_range = Parameter(value, requires_grad=params.learn_input_range)
    mark_step_consumes(layer.input_range)
    layer.register_buffer(
        "input_range_update_idx", torch.zeros((), dtype=torch.long, device=value.device)
    )


def set_input_range(layer: Module, value: Any) -> None:
    """Set ``layer``'s input range to ``value`` (a finite number ``> 0``)."""
    r = layer._parameters.get("input_range")
    if r is None:
        raise RuntimeError(
            f"{type(layer).__name__} has no input range: build it with "
            "rpu_config.pre_post.input_range.enable=True"
        )
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"input_range={value!r} is invalid; allowed: a finite number > 0")
    with torch.no_grad():
        r.fill_(float(value))


def _init_from_data(layer: Module, x: Tensor, r: Tensor, params: InputRangeParameter) -> None:
    """The first ``init_from_data`` training batches: ``r`` the running mean of
    ``init_std_alpha * std(x)`` (batches whose std is 0 do not count)."""
    counter: Tensor = layer._buffers["input_range_update_idx"]  # type: ignore[assignment]
    idx = int(counter)
    if idx >= params.init_from_data:
        return
    with torch.no_grad():
        std = x.detach().to(torch.float32).std()
        if bool(std > 0):
            new = (r.detach().to(torch.float32) * idx + params.init_std_alpha * std) / (idx + 1)
            r.copy_(new.to(r.dtype))
            counter.add_(1)
        r.abs_()


def apply_input_range(
    layer: Module, input: Any, out_scale: Tensor | None
) -> tuple[Any, Tensor | None]:
    """``(clip(input, -r, r) / r, out_scale * r)`` for a layer with an input range, else
    ``(input, out_scale)``. ``r`` in the output factor carries no gradient: ``r`` learns
    by :class:`InputRangeFunction` alone."""
    r = layer._parameters.get("input_range")
    if r is None or not isinstance(input, Tensor) or not input.is_floating_point():
        return input, out_scale
    params = input_range_parameters(layer)
    if params is None:  # a configuration replaced after construction
        params = InputRangeParameter(enable=True)
    if layer.training and params.init_from_data > 0:
        _init_from_data(layer, input, r, params)
    x = InputRangeFunction.apply(input, r, params)  # type: ignore[no-untyped-call]
    factor = r.detach().abs()
    return x, factor if out_scale is None else out_scale * factor

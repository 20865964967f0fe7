"""Plain-torch convolution patches: the twins of :func:`aihw.core.engine.im2col_2d` and
:func:`aihw.core.engine.col2im_2d` (torch's ``unfold`` and ``fold`` with the patches as
rows)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["col2im_2d", "im2col_2d"]


def im2col_2d(
    x: torch.Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    num_threads: int = 0,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """The patches ``[n * oh * ow, c * kh * kw]`` of an input ``[n, c, h, w]``, written to
    ``out`` (that shape) when given (``num_threads`` is the engine's; unused here)."""
    cols = F.unfold(x, tuple(kernel_size), dilation=tuple(dilation), stride=tuple(stride))
    patches = cols.transpose(1, 2).reshape(-1, cols.shape[1])
    if out is None:
        return patches
    if out.shape != patches.shape:
        raise ValueError(f"out must be {list(patches.shape)} for input {tuple(x.shape)}; "
                         f"got {list(out.shape)}")  # fmt: skip
    return out.copy_(patches)


def col2im_2d(
    patches: torch.Tensor,
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    num_threads: int = 0,
) -> torch.Tensor:
    """The adjoint of :func:`im2col_2d`: the input's gradient ``[n, c, h, w]``."""
    n = int(input_shape[0])
    cols = patches.reshape(n, -1, patches.shape[1]).transpose(1, 2)
    return F.fold(
        cols,
        tuple(int(v) for v in input_shape[2:]),
        tuple(kernel_size),
        dilation=tuple(dilation),
        stride=tuple(stride),
    )

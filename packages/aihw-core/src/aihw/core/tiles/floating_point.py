"""``FloatingPointTile``: an exact tile (floating-point SGD, no device model)."""

from __future__ import annotations

import math

import torch

from ..device_model import DeviceModel
from .base import TileBase

__all__ = ["FloatingPointTile"]


class FloatingPointTile(TileBase):
    """A tile computing exactly: ``y = W x``, ``z = W^T d`` and ``W -= lr d^T x``.

    The initial weights are drawn like ``torch.nn.Linear``'s: uniform in
    ``[-1/sqrt(in_size), 1/sqrt(in_size)]`` (the bias column too), from a generator
    seeded by the tile seed.

    Args:
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        resistive_device: ``None`` or a floating-point device (``law is None``).
        bias: add an analog bias column.
        seed: the tile seed, an int in ``[0, 2**64)``; ``None`` draws one from torch's
            global generator.

    Example:
        >>> tile = FloatingPointTile(3, 4, seed=0)
        >>> tile.update(torch.ones(2, 4), torch.ones(2, 3), lr=0.1)
    """

    def __init__(
        self,
        out_size: int,
        in_size: int,
        resistive_device: DeviceModel | None = None,
        bias: bool = False,
        seed: int | None = None,
    ):
        if resistive_device is not None:
            if not isinstance(resistive_device, DeviceModel):
                raise TypeError(
                    "resistive_device must be None or a DeviceModel; "
                    f"got {type(resistive_device).__name__}"
                )
            if not resistive_device.is_floating_point:
                raise ValueError(
                    f"resistive_device={resistive_device!r} is a pulsed device; "
                    "FloatingPointTile takes None or a floating-point device "
                    "(use AnalogTile or create_tile for pulsed devices)"
                )
        super().__init__(out_size, in_size, bias, seed)
        self.resistive_device = resistive_device
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw the weights like ``torch.nn.Linear`` from the tile seed."""
        generator = torch.Generator().manual_seed(self.seed)
        bound = 1.0 / math.sqrt(self.in_size)
        w = torch.rand(self.d_size, self.x_size, generator=generator, dtype=torch.float32)
        self.weights.copy_((w * 2.0 - 1.0) * bound)

    def _apply_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int:
        if lr != 0.0 and x.shape[0]:
            self.weights.addmm_(d.T, x, alpha=-lr)
        return 0

    def _device_repr(self) -> str:
        return "None" if self.resistive_device is None else repr(self.resistive_device)

"""``FloatingPointTile``: an exact tile (floating-point SGD, no device model)."""

from __future__ import annotations

import math

import torch

from ..device_model import DeviceModel
from ..device_ops import DEVICE_OP_ARRAYS
from .device_tile import DeviceTile

__all__ = ["FloatingPointTile"]


class FloatingPointTile(DeviceTile):
    """A tile computing exactly: ``y = W x``, ``z = W^T d`` and ``W -= lr d^T x``.

    A floating-point device that decays or diffuses (the ideal device with
    ``lifetime > 1`` or ``diffusion > 0``, docs/physics/devices.md#floating-point-devices) gives the
    tile the arrays of
    ``aihw.core.device_ops`` from its ``sample()``; the tile then decays and diffuses
    after every update like an :class:`~aihw.core.tiles.AnalogTile`, without bounds.

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
        self._init_device_ops()
        self._build_device_arrays()
        self.reset_parameters()

    def _build_device_arrays(self) -> None:
        """The decay, diffusion and reset arrays the device asks for (usually none)."""
        self.device_arrays: dict[str, torch.Tensor] = {}
        device = self.resistive_device
        if device is None or type(device).sample is DeviceModel.sample:
            return
        generator = torch.Generator().manual_seed(self.seed)
        arrays = device.sample(self.d_size, self.x_size, generator)
        shape = (self.d_size, self.x_size)
        for name, value in arrays.items():
            if name not in DEVICE_OP_ARRAYS:
                raise ValueError(
                    f"{type(device).__name__}.sample() returned {name!r}; a floating-point "
                    f"device may only give {', '.join(DEVICE_OP_ARRAYS)}"
                )
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                raise ValueError(
                    f"{type(device).__name__}.sample()[{name!r}] must be a tensor of shape {shape}"
                )
            self.device_arrays[name] = value.detach().to(torch.float32).contiguous()

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

    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self._check_device_ops()

    def _tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"array:{k}": v for k, v in self.device_arrays.items()}
        tensors["weights"] = self.weights
        return tensors

    def _set_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.weights = tensors["weights"]
        self.device_arrays = {k: tensors[f"array:{k}"] for k in self.device_arrays}

    def _device_repr(self) -> str:
        return "None" if self.resistive_device is None else repr(self.resistive_device)

"""``DeviceTile``: a tile with per-cross-point device arrays and the device operations
(decay, diffusion, column reset, write noise) that act on them, held as a
:class:`~aihw.core.device_ops.DeviceOperations` (``tile.device_ops``)."""

from __future__ import annotations

from typing import Any

import torch

from .. import dispatch
from ..device_ops import (
    DECAY_SCALE,
    DIFFUSION_RATE,
    DeviceOperations,
    DeviceOpsTarget,
    check_alpha,
    check_reset_arguments,
    check_write_noise_scale,
    device_ops_kernels,
)
from .base import TileBase

__all__ = ["DeviceTile"]


class DeviceTile(TileBase):
    """What :class:`~aihw.core.tiles.AnalogTile` and
    :class:`~aihw.core.tiles.FloatingPointTile` share: ``device_arrays``, the device (or
    ``None``) and the device operations, which the public methods here hand to
    ``device_ops``.

    Attributes:
        device_arrays: float32 ``[out_size, in_size + bias]`` tensors by name.
        resistive_device: the tile's device model, or ``None``.
        device_ops: the :class:`~aihw.core.device_ops.DeviceOperations` (their counters,
            the write noise and the hidden weights).
    """

    device_arrays: dict[str, torch.Tensor]
    resistive_device: Any

    def _init_device_ops(self) -> None:
        """Counters at 0; with write noise, hidden weights equal to the current weights."""
        scale = check_write_noise_scale(self.resistive_device)
        self.device_ops = DeviceOperations(self.weights, scale)

    # -- the state of the operations (read and written by checkpoints) -------------------
    @property
    def hidden_weights(self) -> torch.Tensor | None:
        """The persistent weights under the write noise; ``None`` without write noise."""
        return self.device_ops.hidden_weights

    @hidden_weights.setter
    def hidden_weights(self, value: torch.Tensor | None) -> None:
        self.device_ops.hidden_weights = value

    @property
    def write_noise_scale(self) -> float:
        """Std of the write noise in weight units (``write_noise_std * dw_min``); 0 without."""
        return self.device_ops.write_noise_scale

    @property
    def diffusion_index(self) -> int:
        """Number of diffusion steps done (32-bit); keys their normals."""
        return self.device_ops.diffusion_index

    @diffusion_index.setter
    def diffusion_index(self, value: int) -> None:
        self.device_ops.diffusion_index = value

    @property
    def reset_index(self) -> int:
        """Number of accepted :meth:`reset_columns` calls (32-bit); keys their numbers."""
        return self.device_ops.reset_index

    @reset_index.setter
    def reset_index(self, value: int) -> None:
        self.device_ops.reset_index = value

    @property
    def write_noise_index(self) -> int:
        """Number of write-noise redraws done (32-bit); keys their normals."""
        return self.device_ops.write_noise_index

    @write_noise_index.setter
    def write_noise_index(self, value: int) -> None:
        self.device_ops.write_noise_index = value

    # -- public operations -------------------------------------------------------------
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Move every weight toward its reset bias: ``w <- (w - r0) (1 + alpha (kappa - 1)) + r0``,
        then clip to the device bounds (docs/physics/device-operations.md#decay). Nothing happens
        when the device does not decay (``lifetime = 0``).

        Args:
            alpha: the fraction of one mini-batch's decay, a finite number ``>= 0``.
        """
        alpha = check_alpha(alpha)
        if DECAY_SCALE not in self.device_arrays:
            return
        self.device_ops.decay(self._device_ops_target(), alpha)

    def diffuse_weights(self) -> None:
        """Add ``rho_ij * xi`` to every weight, then clip to the device bounds
        (docs/physics/device-operations.md#diffusion). Nothing happens (and no numbers are used)
        when the device has ``diffusion = 0``."""
        if DIFFUSION_RATE not in self.device_arrays:
            return
        self.device_ops.diffuse(self._device_ops_target())

    def reset_columns(
        self, start_column_idx: int = 0, num_columns: int = 1, reset_prob: float = 1.0
    ) -> None:
        """Reset the devices of columns ``[start_column_idx, start_column_idx + num_columns)``.

        Each device of those columns is, with probability ``reset_prob``, set to
        ``r0_ij + reset_std * xi`` and clipped to its bounds
        (docs/physics/device-operations.md#reset); the other columns are unchanged. The bias column
        (the last, with ``bias=True``) counts as a column.

        Args:
            start_column_idx: first column, ``0 <= start_column_idx < in_size + bias``.
            num_columns: number of columns, ``>= 1``, not past the last column.
            reset_prob: probability that a device is reset, in ``[0, 1]``.
        """
        start, count, prob = check_reset_arguments(
            start_column_idx, num_columns, reset_prob, self.weights.shape[1]
        )
        target = self._device_ops_target()
        device = self.resistive_device
        reset_std = 0.0 if device is None else float(device.reset_std())
        self.device_ops.reset_columns(target, start, count, prob, reset_std)

    # -- hooks of TileBase -------------------------------------------------------------
    def _post_update(self) -> None:
        ops = self.device_ops
        if ops.needs_kernels(self.device_arrays):
            ops.post_update(self._device_ops_target())
        else:
            ops.pulsed_mask = None

    def _check_device_ops(self) -> None:
        """Raise before an update if its post-update step could not run."""
        if self.device_ops.needs_kernels(self.device_arrays):
            self._device_ops_engine()

    # -- helpers -----------------------------------------------------------------------
    def _persistent_weights(self) -> torch.Tensor:
        """The weights pulses and device operations change: hidden under write noise."""
        return self.device_ops.persistent_weights(self.weights)

    def _device_ops_target(self) -> DeviceOpsTarget:
        kernels = device_ops_kernels(self._device_ops_engine())
        return DeviceOpsTarget(
            self.weights, self.device_arrays, int(self.seed), kernels, self._threads()
        )

    def _device_ops_engine(self) -> dispatch.EngineName:
        """Which implementation runs the operations: the compiled CPU engine, the CUDA
        kernels (both on raw buffers, checked here) or the reference
        (``aihw.core.dispatch.engine_for``); raises for ``backend='native'`` where no
        compiled one can run."""
        name = dispatch.engine_for(self.weights.device, self._backend)
        if name != "reference":
            self._check_raw_buffers()
        return name

    def _check_raw_buffers(self) -> None:
        """The engine reads raw float32 buffers: refuse tensors someone replaced badly."""
        shape = torch.Size((self.d_size, self.x_size))
        device = self.device
        buffers = [self.weights, *self.device_arrays.values()]
        if self.hidden_weights is not None:
            buffers.append(self.hidden_weights)
        # The common case in one pass without names (this runs before every update).
        if all(
            type(t) is torch.Tensor
            and t.dtype == torch.float32
            and t.shape == shape
            and t.is_contiguous()
            and t.device == device
            for t in buffers
        ):
            return
        named: dict[str, Any] = {"weights": self.weights}
        if self.hidden_weights is not None:
            named["hidden_weights"] = self.hidden_weights
        named.update({f"device_arrays[{k!r}]": v for k, v in self.device_arrays.items()})
        for name, t in named.items():
            if not (
                isinstance(t, torch.Tensor)
                and t.dtype == torch.float32
                and t.is_contiguous()
                and tuple(t.shape) == tuple(shape)
                and t.device == self.device
            ):
                got = (
                    f"{t.dtype} {tuple(t.shape)}"
                    if isinstance(t, torch.Tensor)
                    else type(t).__name__
                )
                raise ValueError(
                    f"tile.{name} must be a contiguous float32 tensor of shape {shape} on "
                    f"{self.device}; got {got}"
                    + (
                        ""
                        if not isinstance(t, torch.Tensor) or t.is_contiguous()
                        else " (not contiguous)"
                    )
                )

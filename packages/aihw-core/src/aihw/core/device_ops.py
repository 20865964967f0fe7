"""The device operations between updates (docs/physics/device-operations.md): decay, diffusion,
column reset and write noise, as :class:`DeviceOperations`, the object every tile holds.

A device that decays, diffuses or resets to a biased target gives the tile extra
per-cross-point arrays from its ``sample()`` (docs/physics/devices.md#device-to-device-sampling); a
tile runs an operation only when its array is there, so devices without these features keep their
arrays and seeds. The operations themselves are :func:`aihw.core.engine.decay` (and ``diffuse``,
``reset_columns``, ``write_noise``) and their plain-torch twins in
:mod:`aihw.core.reference.device_ops` (engine contract §9, §10); the tile says which runs.

With write noise (``write_noise_scale > 0``) the tile keeps ``hidden_weights``, the
persistent weights that pulses and device operations change, and ``weights`` holds the
visible ones, ``hidden + write_noise_scale * xi``, redrawn for the pulsed devices after an
update and for all devices after a device operation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from . import engine, engine_cuda
from .dispatch import EngineName
from .reference import device_ops as reference_device_ops

__all__ = [
    "DeviceOperations",
    "DeviceOpsTarget",
    "DeviceOpsKernels",
    "device_ops_kernels",
    "DECAY_SCALE",
    "DIFFUSION_RATE",
    "RESET_BIAS",
    "DEVICE_OP_ARRAYS",
    "check_alpha",
    "check_reset_arguments",
    "check_write_noise_scale",
]

#: ``kappa_ij``: the weight keeps ``1 + alpha * (kappa - 1)`` of its distance to the reset
#: bias per decay step; present only when the device decays (``lifetime > 0``).
DECAY_SCALE = "decay_scale"
#: ``rho_ij``: the std of one diffusion step; present only when ``diffusion > 0``.
DIFFUSION_RATE = "diffusion_rate"
#: ``r0_ij``: the reset target (and the point decay moves toward); absent means 0.
RESET_BIAS = "reset_bias"
DEVICE_OP_ARRAYS = (DECAY_SCALE, DIFFUSION_RATE, RESET_BIAS)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def check_alpha(alpha: Any) -> float:
    """``alpha`` of a decay step: a finite number >= 0 (1 is one mini-batch)."""
    if not _is_number(alpha) or alpha < 0:
        raise ValueError(
            f"decay_weights: alpha={alpha!r} is invalid; allowed: a finite number >= 0"
        )
    return float(alpha)


def check_reset_arguments(
    start_column_idx: Any, num_columns: Any, reset_prob: Any, x_size: int
) -> tuple[int, int, float]:
    """Check the columns ``[start, start + num)`` of ``x_size`` and the probability."""
    where = "reset_columns"
    if (
        isinstance(start_column_idx, bool)
        or not isinstance(start_column_idx, int)
        or not (0 <= start_column_idx < x_size)
    ):
        raise ValueError(
            f"{where}: start_column_idx={start_column_idx!r} is invalid; allowed: an integer "
            f"in [0, {x_size - 1}] (the tile has {x_size} columns, the bias column included)"
        )
    room = x_size - start_column_idx
    if (
        isinstance(num_columns, bool)
        or not isinstance(num_columns, int)
        or not (1 <= num_columns <= room)
    ):
        raise ValueError(
            f"{where}: num_columns={num_columns!r} is invalid; allowed: an integer in "
            f"[1, {room}] (columns {start_column_idx} to {x_size - 1} are left)"
        )
    if not _is_number(reset_prob) or not 0 <= reset_prob <= 1:
        raise ValueError(
            f"{where}: reset_prob={reset_prob!r} is invalid; allowed: 0 <= reset_prob <= 1"
        )
    return start_column_idx, num_columns, float(reset_prob)


_INDEX_MASK = 0xFFFFFFFF


class DeviceOpsKernels(Protocol):
    """The four operations, as :mod:`aihw.core.engine`, :mod:`aihw.core.engine_cuda` and
    :mod:`aihw.core.reference.device_ops` provide them."""

    def decay(
        self,
        weights: torch.Tensor,
        decay_scale: torch.Tensor,
        reset_bias: torch.Tensor | None,
        w_min: torch.Tensor | None,
        w_max: torch.Tensor | None,
        alpha: float,
        num_threads: int = 0,
    ) -> None: ...

    def diffuse(
        self,
        weights: torch.Tensor,
        rate: torch.Tensor,
        w_min: torch.Tensor | None,
        w_max: torch.Tensor | None,
        seed: int,
        call_index: int,
        num_threads: int = 0,
    ) -> None: ...

    def reset_columns(
        self,
        weights: torch.Tensor,
        first_column: int,
        n_columns: int,
        reset_bias: torch.Tensor | None,
        w_min: torch.Tensor | None,
        w_max: torch.Tensor | None,
        reset_std: float,
        reset_prob: float,
        seed: int,
        call_index: int,
        num_threads: int = 0,
    ) -> None: ...

    def write_noise(
        self,
        visible: torch.Tensor,
        hidden: torch.Tensor,
        mask: torch.Tensor | None,
        std: float,
        seed: int,
        call_index: int,
        num_threads: int = 0,
    ) -> None: ...


def device_ops_kernels(implementation: EngineName) -> DeviceOpsKernels:
    """The module whose operations run for ``implementation``
    (``aihw.core.dispatch.engine_for``)."""
    if implementation == "native":
        return engine
    if implementation == "cuda":
        return engine_cuda
    if implementation == "reference":
        return reference_device_ops
    raise ValueError(
        f"implementation={implementation!r} is invalid; allowed: 'native', 'cuda', 'reference'"
    )


@dataclass(frozen=True)
class DeviceOpsTarget:
    """What one call of the operations works on, as the tile has it now: its visible
    weights, per-cross-point arrays and seed, the kernels that run (compiled or
    reference) and their thread count."""

    weights: torch.Tensor
    arrays: Mapping[str, torch.Tensor]
    seed: int
    kernels: DeviceOpsKernels
    num_threads: int


class DeviceOperations:
    """The device operations of one tile and their state.

    The tile passes a :class:`DeviceOpsTarget` to each call, so this object never holds
    the tile's weights or arrays (which the tile may replace, e.g. when it moves).

    Args:
        weights: the tile's weights when it is built (the hidden weights start equal).
        write_noise_scale: std of the write noise in weight units (0: none).

    Attributes:
        diffusion_index: number of diffusion steps done (32-bit); keys their normals.
        reset_index: number of accepted resets (32-bit); keys their random numbers.
        write_noise_index: number of write-noise redraws done (32-bit); keys their normals.
        write_noise_scale: as given.
        hidden_weights: the persistent weights under the write noise, float32 like
            ``weights``; ``None`` without write noise.
        pulsed_mask: the devices the last update pulsed (bool or uint8), redrawn by the
            next :meth:`post_update`; ``None`` when there is none to redraw.
    """

    def __init__(self, weights: torch.Tensor, write_noise_scale: float) -> None:
        self.diffusion_index = 0
        self.reset_index = 0
        self.write_noise_index = 0
        self.write_noise_scale = write_noise_scale
        self.hidden_weights = weights.clone() if write_noise_scale > 0 else None
        self.pulsed_mask: torch.Tensor | None = None

    def needs_kernels(self, arrays: Mapping[str, torch.Tensor]) -> bool:
        """Whether an update's post-update step runs any operation."""
        return DECAY_SCALE in arrays or DIFFUSION_RATE in arrays or self.hidden_weights is not None

    def persistent_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """The weights pulses and device operations change: hidden under write noise."""
        return weights if self.hidden_weights is None else self.hidden_weights

    # -- the operations -------------------------------------------------------------------
    def decay(self, target: DeviceOpsTarget, alpha: float) -> None:
        """One decay step of ``alpha`` mini-batches, then a write-noise redraw."""
        self._decay(target, alpha)
        self.redraw_write_noise(target, None)

    def diffuse(self, target: DeviceOpsTarget) -> None:
        """One diffusion step, then a write-noise redraw."""
        self._diffuse(target)
        self.redraw_write_noise(target, None)

    def reset_columns(
        self, target: DeviceOpsTarget, start: int, count: int, prob: float, reset_std: float
    ) -> None:
        """Reset ``count`` columns from ``start`` (checked), then a write-noise redraw."""
        arrays = target.arrays
        index = self.reset_index
        target.kernels.reset_columns(
            self.persistent_weights(target.weights),
            start,
            count,
            arrays.get(RESET_BIAS),
            *_bounds(arrays),
            reset_std,
            prob,
            target.seed,
            index,
            target.num_threads,
        )
        self.reset_index = (index + 1) & _INDEX_MASK
        self.redraw_write_noise(target, None)

    def post_update(self, target: DeviceOpsTarget) -> None:
        """Once per accepted update (one mini-batch): decay, then diffusion
        (docs/physics/device-operations.md); then one write-noise redraw: of all devices after decay
        or diffusion, else of the devices the update pulsed (only the last draw of a device is ever
        seen)."""
        pulsed, self.pulsed_mask = self.pulsed_mask, None
        decays = DECAY_SCALE in target.arrays
        diffuses = DIFFUSION_RATE in target.arrays
        if decays or diffuses:
            if decays:
                self._decay(target, 1.0)
            if diffuses:
                self._diffuse(target)
            self.redraw_write_noise(target, None)
        elif pulsed is not None:
            self.redraw_write_noise(target, pulsed)

    def redraw_write_noise(self, target: DeviceOpsTarget, mask: torch.Tensor | None) -> None:
        """``weights = hidden_weights + write_noise_scale * xi`` where ``mask`` (bool or
        uint8, like ``weights``) is set, for all devices when it is ``None``; one step of
        ``write_noise_index``. Nothing without write noise."""
        hidden = self.hidden_weights
        if hidden is None:
            return
        index = self.write_noise_index
        target.kernels.write_noise(
            target.weights,
            hidden,
            mask,
            self.write_noise_scale,
            target.seed,
            index,
            target.num_threads,
        )
        self.write_noise_index = (index + 1) & _INDEX_MASK

    def _decay(self, target: DeviceOpsTarget, alpha: float) -> None:
        arrays = target.arrays
        target.kernels.decay(
            self.persistent_weights(target.weights),
            arrays[DECAY_SCALE],
            arrays.get(RESET_BIAS),
            *_bounds(arrays),
            alpha,
            target.num_threads,
        )

    def _diffuse(self, target: DeviceOpsTarget) -> None:
        index = self.diffusion_index
        target.kernels.diffuse(
            self.persistent_weights(target.weights),
            target.arrays[DIFFUSION_RATE],
            *_bounds(target.arrays),
            target.seed,
            index,
            target.num_threads,
        )
        self.diffusion_index = (index + 1) & _INDEX_MASK


def _bounds(
    arrays: Mapping[str, torch.Tensor],
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    w_min, w_max = arrays.get("w_min"), arrays.get("w_max")
    return (None, None) if w_min is None or w_max is None else (w_min, w_max)


def check_write_noise_scale(device: Any) -> float:
    """The device's write-noise std in weight units, checked (0 for no device)."""
    if device is None:
        return 0.0
    scale = device.write_noise_scale()
    if (
        isinstance(scale, bool)
        or not isinstance(scale, (int, float))
        or not math.isfinite(scale)
        or scale < 0
    ):
        raise ValueError(
            f"{type(device).__name__}.write_noise_scale() returned {scale!r}; it must be a "
            "finite number >= 0"
        )
    return float(scale)

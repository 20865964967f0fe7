"""Decay, diffusion, column reset and write noise of a tile's weights (spec C.3, engine
contract §9, §10).

:class:`DeviceOpsMixin` gives a tile the reference toolkit's ``decay_weights``,
``diffuse_weights`` and ``reset_columns``, and the per-mini-batch post-update step
(decay, then diffusion) that :meth:`TileBase.update` runs after every accepted update.
The operations read the per-cross-point arrays of :mod:`aihw.core.device_ops` from
``device_arrays``; each runs only when its array is there.

With write noise (``write_noise_scale() > 0``) the tile keeps ``hidden_weights``, the
persistent weights that pulses and device operations change, and ``weights`` holds the
visible ones, ``hidden + write_noise_scale * xi``, redrawn for the pulsed devices after an
update and for all devices after a device operation.
"""

from __future__ import annotations

import math

import torch

from .. import _native
from ..device_ops import (
    DECAY_SCALE,
    DIFFUSION_RATE,
    RESET_BIAS,
    check_alpha,
    check_reset_arguments,
)
from ..reference_device_ops import (
    decay_reference,
    diffuse_reference,
    reset_columns_reference,
    write_noise_reference,
)

__all__ = ["DeviceOpsMixin", "native_device_ops_available"]

_INDEX_MASK = 0xFFFFFFFF


def native_device_ops_available() -> bool:
    """Whether the compiled engine has the device operations (write noise included)."""
    return _native.native_available() and hasattr(_native.load(), "write_noise_cpu")


class DeviceOpsMixin:
    """Device operations for a tile with ``device_arrays`` and ``resistive_device``.

    Attributes:
        diffusion_index: number of diffusion steps done (32-bit); keys their normals.
        reset_index: number of accepted :meth:`reset_columns` calls (32-bit); keys their
            random numbers.
        write_noise_scale: std of the write noise in weight units (``write_noise_std *
            dw_min``); 0 without write noise.
        hidden_weights: the persistent weights under the write noise, float32 like
            ``weights``; ``None`` without write noise.
        write_noise_index: number of write-noise redraws done (32-bit); keys their normals.
    """

    # provided by the tile
    weights: torch.Tensor
    device_arrays: dict[str, torch.Tensor]
    seed: int
    _backend: str

    def _init_device_ops(self) -> None:
        """Counters at 0; with write noise, hidden weights equal to the current weights."""
        self.diffusion_index = 0
        self.reset_index = 0
        self.write_noise_index = 0
        self.write_noise_scale = _check_write_noise_scale(getattr(self, "resistive_device", None))
        self.hidden_weights = self.weights.clone() if self.write_noise_scale > 0 else None
        self._pulsed_mask: torch.Tensor | None = None  # devices pulsed by the last update

    # -- public operations -------------------------------------------------------------
    def decay_weights(self, alpha: float = 1.0) -> None:
        """Move every weight toward its reset bias: ``w <- (w - r0) (1 + alpha (kappa - 1)) + r0``,
        then clip to the device bounds (spec C.3). Nothing happens when the device does not
        decay (``lifetime = 0``).

        Args:
            alpha: the fraction of one mini-batch's decay, a finite number ``>= 0``.
        """
        alpha = check_alpha(alpha)
        if DECAY_SCALE not in self.device_arrays:
            return
        native = self._device_ops_native()
        self._decay(alpha, native)
        self._redraw_write_noise(None)

    def diffuse_weights(self) -> None:
        """Add ``rho_ij * xi`` to every weight, then clip to the device bounds (spec C.3).
        Nothing happens (and no numbers are used) when the device has ``diffusion = 0``."""
        if DIFFUSION_RATE not in self.device_arrays:
            return
        native = self._device_ops_native()
        self._diffuse(native)
        self._redraw_write_noise(None)

    def reset_columns(
        self, start_column_idx: int = 0, num_columns: int = 1, reset_prob: float = 1.0
    ) -> None:
        """Reset the devices of columns ``[start_column_idx, start_column_idx + num_columns)``.

        Each device of those columns is, with probability ``reset_prob``, set to
        ``r0_ij + reset_std * xi`` and clipped to its bounds (spec C.3); the other columns
        are unchanged. The bias column (the last, with ``bias=True``) counts as a column.

        Args:
            start_column_idx: first column, ``0 <= start_column_idx < in_size + bias``.
            num_columns: number of columns, ``>= 1``, not past the last column.
            reset_prob: probability that a device is reset, in ``[0, 1]``.
        """
        start, count, prob = check_reset_arguments(
            start_column_idx, num_columns, reset_prob, self.weights.shape[1]
        )
        native = self._device_ops_native()
        std = self._reset_std()
        index = self.reset_index
        weights = self._persistent_weights()
        if native:
            w_min, w_max = self._bound_pointers()
            _native.load().reset_columns_cpu(
                weights.data_ptr(),
                weights.shape[0],
                weights.shape[1],
                start,
                count,
                _pointer(self.device_arrays.get(RESET_BIAS)),
                w_min,
                w_max,
                std,
                prob,
                int(self.seed),
                index,
                self._threads(),  # type: ignore[attr-defined]
            )
        else:
            w_min, w_max = self._bounds()
            new = reset_columns_reference(
                weights,
                start,
                count,
                self.device_arrays.get(RESET_BIAS),
                w_min,
                w_max,
                std,
                prob,
                self.seed,
                index,
            )
            weights.copy_(new)
        self.reset_index = (index + 1) & _INDEX_MASK
        self._redraw_write_noise(None)

    # -- the post-update step ----------------------------------------------------------
    def _post_update(self) -> None:
        """Once per accepted update (one mini-batch): decay, then diffusion (spec C.3);
        then one write-noise redraw: of all devices after decay or diffusion, else of the
        devices the update pulsed (only the last draw of a device is ever seen)."""
        pulsed, self._pulsed_mask = self._pulsed_mask, None
        decays = DECAY_SCALE in self.device_arrays
        diffuses = DIFFUSION_RATE in self.device_arrays
        if decays or diffuses:
            native = self._device_ops_native()
            if decays:
                self._decay(1.0, native)
            if diffuses:
                self._diffuse(native)
            self._redraw_write_noise(None)
        elif pulsed is not None:
            self._redraw_write_noise(pulsed)

    def _check_device_ops(self) -> None:
        """Raise before an update if its post-update step could not run."""
        if (
            DECAY_SCALE in self.device_arrays
            or DIFFUSION_RATE in self.device_arrays
            or self.hidden_weights is not None
        ):
            self._device_ops_native()

    # -- helpers -----------------------------------------------------------------------
    def _reset_std(self) -> float:
        device = getattr(self, "resistive_device", None)
        return 0.0 if device is None else float(device.reset_std())

    def _persistent_weights(self) -> torch.Tensor:
        """The weights pulses and device operations change: hidden under write noise."""
        return self.weights if self.hidden_weights is None else self.hidden_weights

    def _redraw_write_noise(self, mask: torch.Tensor | None) -> None:
        """``weights = hidden_weights + write_noise_scale * xi`` where ``mask`` (bool or
        uint8, like ``weights``) is set, for all devices when it is ``None``; one step of
        ``write_noise_index``. Nothing without write noise."""
        hidden = self.hidden_weights
        if hidden is None:
            return
        index = self.write_noise_index
        if self._device_ops_native():
            _native.load().write_noise_cpu(
                self.weights.data_ptr(),
                hidden.data_ptr(),
                hidden.numel(),
                _pointer(None if mask is None else mask.contiguous()),
                self.write_noise_scale,
                int(self.seed),
                index,
                self._threads(),  # type: ignore[attr-defined]
            )
        else:
            new = write_noise_reference(
                self.weights, hidden, mask, self.write_noise_scale, self.seed, index
            )
            self.weights.copy_(new)
        self.write_noise_index = (index + 1) & _INDEX_MASK

    def _decay(self, alpha: float, native: bool) -> None:
        arrays = self.device_arrays
        weights = self._persistent_weights()
        if native:
            w_min, w_max = self._bound_pointers()
            _native.load().decay_weights_cpu(
                weights.data_ptr(),
                weights.numel(),
                arrays[DECAY_SCALE].data_ptr(),
                _pointer(arrays.get(RESET_BIAS)),
                w_min,
                w_max,
                alpha,
                self._threads(),  # type: ignore[attr-defined]
            )
            return
        w_min, w_max = self._bounds()
        new = decay_reference(
            weights, arrays[DECAY_SCALE], arrays.get(RESET_BIAS), w_min, w_max, alpha
        )
        weights.copy_(new)

    def _diffuse(self, native: bool) -> None:
        index = self.diffusion_index
        weights = self._persistent_weights()
        if native:
            w_min, w_max = self._bound_pointers()
            _native.load().diffuse_weights_cpu(
                weights.data_ptr(),
                weights.numel(),
                self.device_arrays[DIFFUSION_RATE].data_ptr(),
                w_min,
                w_max,
                int(self.seed),
                index,
                self._threads(),  # type: ignore[attr-defined]
            )
        else:
            w_min, w_max = self._bounds()
            new = diffuse_reference(
                weights, self.device_arrays[DIFFUSION_RATE], w_min, w_max, self.seed, index
            )
            weights.copy_(new)
        self.diffusion_index = (index + 1) & _INDEX_MASK

    def _bounds(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return self.device_arrays.get("w_min"), self.device_arrays.get("w_max")

    def _bound_pointers(self) -> tuple[int, int]:
        w_min, w_max = self._bounds()
        if w_min is None or w_max is None:
            return 0, 0
        return w_min.data_ptr(), w_max.data_ptr()

    def _device_ops_native(self) -> bool:
        """Whether the operations run in the compiled engine (its buffers checked), else
        in the reference; raises for ``backend='native'`` when the engine cannot run."""
        on_cpu = self.weights.device.type == "cpu"
        native = self._backend != "reference" and on_cpu and native_device_ops_available()
        if self._backend == "native" and not native:
            if not on_cpu:
                raise RuntimeError(
                    f"backend='native' runs on the CPU only; this tile is on {self.weights.device}"
                )
            _native.load()  # raises the ImportError that says how to repair
            raise RuntimeError(
                "backend='native': the compiled engine lacks the device operations; "
                "rebuild aihw-core"
            )
        if native:
            self._check_raw_buffers()
        return native

    def _check_raw_buffers(self) -> None:
        """The engine reads raw float32 buffers: refuse tensors someone replaced badly."""
        shape = (self.d_size, self.x_size)
        named = {"weights": self.weights}
        if self.hidden_weights is not None:
            named["hidden_weights"] = self.hidden_weights
        named.update({f"device_arrays[{k!r}]": v for k, v in self.device_arrays.items()})
        for name, t in named.items():
            if not (
                isinstance(t, torch.Tensor)
                and t.dtype == torch.float32
                and t.is_contiguous()
                and tuple(t.shape) == shape
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


def _pointer(t: torch.Tensor | None) -> int:
    return 0 if t is None else t.data_ptr()


def _check_write_noise_scale(device: object) -> float:
    """The device's write-noise std in weight units, checked (0 for no device)."""
    if device is None:
        return 0.0
    scale = device.write_noise_scale()  # type: ignore[attr-defined]
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

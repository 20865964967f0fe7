"""``AnalogTile``: a tile whose update is done by pulses on simulated resistive devices."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NoReturn

import torch

from .. import dispatch, engine, engine_cuda
from ..config import TileConfig
from ..device_model import DeviceModel
from ..io_parameters import IOParameters
from ..laws import StepLaw
from ..parameters import PULSED_TYPES, PulseType, UpdateParameters
from ..reference import update as reference_update
from .base import BACKENDS, check_config_alone
from .device_tile import DeviceTile

__all__ = ["AnalogTile", "BACKENDS"]


_COUNTER_RANGE = 2**32
#: Longest pulse train a variable-length update (``fixed_bl=False``) may ask for.
MAX_PULSE_TRAIN = 2**20


class AnalogTile(DeviceTile):
    """A tile of resistive devices trained by stochastic pulse trains
    (docs/physics/pulsed-update.md, docs/physics/devices.md).

    Forward and backward run through the periphery of ``rpu_config`` (docs/physics/periphery.md;
    exact when the tile is built from ``resistive_device=`` alone, as before). :meth:`update` turns
    ``-lr * d^T x`` into pulses (engine contract §3); each pulse is one call of the device's step
    law. The per-device parameters (device-to-device variation) are drawn once, at construction,
    by ``resistive_device.sample_tile`` from a generator seeded by the tile seed (told
    whether the last column is the bias column, for ``perfect_bias``); the device's
    granularity and law scalars are read at construction too. After every accepted update
    the device decays and diffuses when it has ``lifetime > 0`` or ``diffusion > 0``
    (:meth:`decay_weights`, :meth:`diffuse_weights`); :meth:`reset_columns` resets columns.
    A device with write noise (``write_noise_scale() > 0``,
    docs/physics/device-operations.md#write-noise) makes the tile keep ``hidden_weights``: pulses,
    decay, diffusion, reset and :meth:`set_weights` act on them, and ``weights`` (what forward and
    backward read) is ``hidden + write_noise_scale * xi``, redrawn for every pulsed device after an
    update and for all devices after a device operation (engine contract §10).

    Args:
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        resistive_device: a pulsed :class:`~aihw.core.device_model.DeviceModel`
            (``law`` is not ``None``).
        bias: add an analog bias column (a constant input 1 appended to every input).
        seed: the tile seed, an int in ``[0, 2**64)``; ``None`` draws one from torch's
            global generator.
        update: the :class:`~aihw.core.parameters.UpdateParameters` (copied);
            ``None`` uses the defaults.
        rpu_config: a :class:`~aihw.core.config.TileConfig` with a pulsed device: the
            device, the forward and backward periphery and the update parameters in one
            (instead of ``resistive_device`` and ``update``, not with them).

    Attributes:
        device_arrays: the law's per-cross-point float32 ``[out_size, in_size + bias]``
            tensors, e.g. ``dw_up``, ``dw_down``, ``w_min``, ``w_max``.
        update_parameters: the tile's update parameters.
        last_update_pulses: pulses applied by the last update.
        num_threads: threads of the compiled engine; ``None`` uses
            ``torch.get_num_threads()`` (one for periphery passes of fewer than 2**17
            values, where more threads cost more than they save). Results do not depend
            on it.
        backend: ``"auto"``, ``"native"`` (the compiled engine, an error if it cannot
            run) or ``"reference"`` (plain torch).
    """

    def __init__(
        self,
        out_size: int,
        in_size: int,
        resistive_device: DeviceModel | None = None,
        bias: bool = False,
        seed: int | None = None,
        update: UpdateParameters | None = None,
        *,
        rpu_config: TileConfig | None = None,
    ):
        forward_io: IOParameters | None = None
        backward_io: IOParameters | None = None
        if rpu_config is not None:
            check_config_alone(rpu_config, resistive_device, update)
            resistive_device = rpu_config.device
            update = rpu_config.update
            forward_io, backward_io = rpu_config.forward, rpu_config.backward
            if resistive_device is None:
                raise ValueError(
                    "rpu_config.device is None (floating point); AnalogTile needs a pulsed "
                    "device (use create_tile, which picks the tile)"
                )
        elif resistive_device is None:
            raise TypeError("AnalogTile needs resistive_device= or rpu_config=")
        if not isinstance(resistive_device, DeviceModel):
            raise TypeError(
                f"resistive_device must be a DeviceModel; got {type(resistive_device).__name__}"
            )
        if resistive_device.is_floating_point:
            raise ValueError(
                f"resistive_device={resistive_device!r} is a floating-point device; "
                "AnalogTile needs a pulsed device (use FloatingPointTile or create_tile)"
            )
        if update is None:
            update = UpdateParameters()
        elif not isinstance(update, UpdateParameters):
            raise TypeError(f"update must be UpdateParameters or None; got {type(update).__name__}")
        update = dataclasses.replace(update)  # validates, and the user's copy stays theirs
        law = resistive_device.step_law()
        granularity = _check_granularity(resistive_device)
        scalars = _check_scalars(resistive_device, law)
        super().__init__(out_size, in_size, bias, seed)
        if self.d_size * self.x_size >= _COUNTER_RANGE:
            # Cross-points are numbered in a 32-bit Philox counter word.
            raise ValueError(
                f"out_size * (in_size + bias) = {self.d_size * self.x_size} must be below 2**32"
            )
        generator = torch.Generator().manual_seed(self.seed)
        self.device_arrays = _check_arrays(
            resistive_device,
            law,
            resistive_device.sample_tile(self.d_size, self.x_size, generator, bias_column=bias),
            (self.d_size, self.x_size),
        )
        self.resistive_device = resistive_device
        self.update_parameters = update
        self.law = law
        self.granularity = granularity
        self.law_scalars = scalars
        self.rpu_config = rpu_config
        self._apply_runtime(rpu_config)
        self._set_periphery(forward_io, backward_io)
        self.weights.copy_(self._clip_weights(self.weights))
        self._init_device_ops()  # after the clip: hidden weights start equal to weights

    def _native_can_run(self) -> bool:
        """Whether a compiled implementation can run this tile's update as it stands: the
        CPU engine for a tile on the CPU, the CUDA kernels for a tile on a GPU
        (``aihw.core.dispatch.compiled_engine_for``); a law defined in Python never."""
        return (
            self._law_is_compiled()
            and dispatch.compiled_engine_for(self.device) is not None
            and engine.law_known(self.law.engine_id)
        )

    def _law_is_compiled(self) -> bool:
        return self.law.engine_id is not None and self.law.engine_id > 0

    def uses_native(self) -> bool:
        """Whether the next pulsed update runs compiled (the CPU engine, or the CUDA kernels
        for a tile on a GPU) rather than in the plain-torch reference."""
        return self._backend != "reference" and self._native_can_run()

    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        params = self.update_parameters
        params.validate()
        if x.shape[0] >= _COUNTER_RANGE:
            raise ValueError(f"x has {x.shape[0]} rows; at most 2**32 - 1 samples per update")
        variable_bl = not (params.fixed_bl or params.update_bl_management)
        if variable_bl and params.pulse_type in PULSED_TYPES:
            slots = lr / self.granularity
            if slots > MAX_PULSE_TRAIN:
                raise ValueError(
                    f"lr={lr} needs pulse trains of lr / granularity = {slots:.4g} slots "
                    f"(fixed_bl=False); at most 2**20 are allowed: lower lr or set fixed_bl=True"
                )
        if self.uses_native():
            self._check_raw_buffers()
        self._check_device_ops()
        if self._backend == "native" and not self._native_can_run():
            self._refuse_native_update()

    @property
    def update_engine(self) -> dispatch.EngineName:
        """Which implementation runs this tile's pulsed update: ``"native"`` (the compiled
        CPU engine), ``"cuda"`` (the CUDA kernels, a tile on a GPU) or ``"reference"``
        (plain torch: ``backend='reference'``, or a step law defined in Python, on any
        device). For ``backend='native'`` where nothing compiled can run the update it
        raises the error the next update would."""
        if self.uses_native():
            return "cuda" if self.device.type == "cuda" else "native"
        if self._backend == "native":
            self._refuse_native_update()
        return "reference"

    def _refuse_native_update(self) -> NoReturn:
        """Raise why ``backend='native'`` cannot run this tile's update."""
        if self.device.type == "cpu":
            engine.load()  # raises the ImportError that says how to repair
        else:
            dispatch.engine_for(self.device, "native")  # raises: why nothing compiled runs
        if not self._law_is_compiled():
            raise RuntimeError(
                f"backend='native': step law {self.law.name!r} exists only in Python"
            )
        raise RuntimeError(
            f"backend='native': the compiled engine does not know step law "
            f"{self.law.name!r} (engine id {self.law.engine_id}); rebuild aihw-core"
        )

    # -- update ------------------------------------------------------------------------
    def _apply_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        params = self.update_parameters
        if lr == 0.0 or x.shape[0] == 0:
            return 0
        # Under write noise the update changes the hidden weights; _post_update then
        # redraws the visible weights of the devices in device_ops.pulsed_mask.
        weights = self._persistent_weights()
        noisy = self.hidden_weights is not None
        if params.pulse_type == PulseType.NONE:
            # Exact SGD; no device model acts, not even the bounds or the write noise
            # (docs/physics/pulsed-update.md#pulse-types "None"): the visible weights move by the
            # same step.
            weights.copy_(torch.addmm(weights, d.T, x, alpha=-lr))
            if noisy:
                self.weights.copy_(torch.addmm(self.weights, d.T, x, alpha=-lr))
            return 0
        if params.pulse_type == PulseType.NONE_WITH_DEVICE:
            # Exact SGD, then the device bounds (docs/physics/pulsed-update.md#pulse-types
            # "NoneWithDevice"); the clip redraws the write noise of every device
            # (docs/physics/device-operations.md#write-noise).
            w = torch.addmm(weights, d.T, x, alpha=-lr)
            weights.copy_(self._clip_weights(w))
            if noisy:
                self.device_ops.pulsed_mask = torch.ones_like(weights, dtype=torch.bool)
            return 0
        native = self.uses_native()
        mask = None
        if noisy:
            mask = torch.zeros_like(weights, dtype=torch.uint8 if native else torch.bool)
        # the CUDA kernels return the count as a 0-dim tensor on the GPU (no sync)
        update: Any = {
            "native": engine.pulsed_update,
            "cuda": engine_cuda.pulsed_update,
            "reference": reference_update.pulsed_update,
        }[self.update_engine]
        pulses: int | torch.Tensor = update(
            weights,
            x,
            d,
            self.law,
            self.device_arrays,
            self.law_scalars,
            lr,
            self.granularity,
            params,
            self.seed,
            self.update_index,
            mask,
            self._threads(),
        )
        self.device_ops.pulsed_mask = mask
        return pulses

    # -- bounds, devices, repr ---------------------------------------------------------
    def _clip_weights(self, w: torch.Tensor) -> torch.Tensor:
        arrays = self.device_arrays
        if "w_min" in arrays and "w_max" in arrays:
            return torch.minimum(torch.maximum(w, arrays["w_min"]), arrays["w_max"])
        return w

    def set_weights(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Set the weights (and the bias column when the tile has one), in place, clipped to
        the device bounds. Under write noise they become the hidden weights, and the visible
        ones get write noise if the device's ``apply_write_noise_on_set()``
        (docs/physics/device-operations.md#write-noise).

        Args:
            weights: floating ``[out_size, in_size]``, finite.
            bias: floating ``[out_size]``; required if and only if the tile has ``bias=True``.
        """
        super().set_weights(weights, bias)
        if self.hidden_weights is None:
            return
        self.hidden_weights.copy_(self.weights)
        if self.resistive_device.apply_write_noise_on_set():
            self.device_ops.redraw_write_noise(self._device_ops_target(), None)

    def _tensors(self) -> dict[str, torch.Tensor]:
        tensors = {f"array:{k}": v for k, v in self.device_arrays.items()}
        tensors["weights"] = self.weights
        if self.hidden_weights is not None:
            tensors["hidden_weights"] = self.hidden_weights
        return tensors

    def _set_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.weights = tensors["weights"]
        self.hidden_weights = tensors.get("hidden_weights")
        self.device_arrays = {k: tensors[f"array:{k}"] for k in self.device_arrays}

    def _device_repr(self) -> str:
        return repr(self.resistive_device)


def _check_granularity(device: DeviceModel) -> float:
    g = device.granularity()
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or g <= 0:
        raise ValueError(
            f"{type(device).__name__}.granularity() returned {g!r}; it must be a finite number > 0"
        )
    return float(g)


def _check_scalars(device: DeviceModel, law: StepLaw) -> dict[str, float | tuple[float, ...]]:
    scalars = device.law_scalars()
    missing = [name for name in law.scalars if name not in scalars]
    if missing:
        raise ValueError(
            f"{type(device).__name__}.law_scalars() lacks {', '.join(missing)}; "
            f"step law {law.name!r} reads {', '.join(law.scalars)}"
        )
    out: dict[str, float | tuple[float, ...]] = {}
    for name in law.scalars:
        value = scalars[name]
        where = f"{type(device).__name__}.law_scalars()[{name!r}]={value!r}"
        if name in law.sequence_scalars:
            if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
                raise ValueError(f"{where} must be a non-empty sequence of finite numbers")
            if not value or not all(_is_finite_number(v) for v in value):
                raise ValueError(f"{where} must be a non-empty sequence of finite numbers")
            out[name] = tuple(float(v) for v in value)
            continue
        if not _is_finite_number(value):
            raise ValueError(f"{where} must be a finite number")
        out[name] = float(value)
    return out


def _is_finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _check_arrays(
    device: DeviceModel, law: StepLaw, arrays: Any, shape: tuple[int, int]
) -> dict[str, torch.Tensor]:
    where = f"{type(device).__name__}.sample()"
    if not isinstance(arrays, dict):
        raise TypeError(f"{where} must return a dict of tensors; got {type(arrays).__name__}")
    missing = [name for name in law.arrays if name not in arrays]
    if missing:
        raise ValueError(
            f"{where} lacks array(s) {', '.join(missing)}; step law {law.name!r} reads "
            f"{', '.join(law.arrays)}"
        )
    out: dict[str, torch.Tensor] = {}
    for name, value in arrays.items():
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise TypeError(f"{where}[{name!r}] must be a floating-point tensor")
        if tuple(value.shape) != shape:
            raise ValueError(f"{where}[{name!r}] has shape {tuple(value.shape)}; expected {shape}")
        if not bool(torch.isfinite(value).all()):
            raise ValueError(f"{where}[{name!r}] contains NaN or Inf")
        out[name] = value.detach().to(device="cpu", dtype=torch.float32).contiguous()
    return out

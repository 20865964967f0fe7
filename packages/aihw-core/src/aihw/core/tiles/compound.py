"""``CompoundTile``: a tile whose cross-points are several devices (unit cells).

The tile holds one ordinary :class:`~aihw.core.tiles.AnalogTile` per device of its
:class:`~aihw.core.compound.CompoundDevice` (``tile.units``), each with its own
device-to-device sample and random streams (seed :func:`~aihw.core.compound.unit_seed`).
Its ``weights`` are the visible weight ``sum_k gamma_k w_k``, recomputed after every
change; forward and backward read them through the compound tile's own periphery. The
update goes to the devices as the compound's kind says (docs/physics/compounds.md):

- :class:`VectorCellTile`: the vector (and reference) unit cell's update policies;
- :class:`OneSidedCellTile`: two potentiation-only devices and their refresh;
- :class:`~aihw.core.tiles.transfer.TransferTile`: Tiki-Taka's fast device and transfers;
- :class:`~aihw.core.tiles.chopped.ChoppedTransferTile`: Tiki-Taka version 2 (a digital
  buffer) and its chopped variant;
- :class:`~aihw.core.tiles.dynamic.DynamicTransferTile`: the chopped transfer with a dynamic
  reference (AGAD);
- :class:`~aihw.core.tiles.mixed_precision.MixedPrecisionTile`: a digital accumulator in
  front of one device.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import torch

from ..compound import CompoundDevice, unit_seed
from ..config import TileConfig
from ..io_parameters import IOParameters
from ..parameters import UpdateParameters
from .analog import AnalogTile
from .base import TileBase, check_config_alone
from .unit_ops import one_hot, read_io, read_vectors, reset_elements, write_pulsed

__all__ = ["CompoundTile", "OneSidedCellTile", "VectorCellTile", "compound_tile_class"]

_MASK32 = 0xFFFFFFFF


def _value(option: Any) -> Any:
    """An enum option's value (the parameters may hold the enum or its string)."""
    return option.value if isinstance(option, enum.Enum) else option


def _generator(seed: int, purpose: int, index: int) -> torch.Generator:
    """A generator for one random choice of a compound tile (not a per-element stream):
    keyed by the tile seed, what it is for and the call counter."""
    key = (seed * 0x9E3779B97F4A7C15 + purpose * 0xBF58476D1CE4E5B9 + index) % 2**63
    return torch.Generator().manual_seed(key)


class CompoundTile(TileBase):
    """A tile of compound devices (see the module docstring).

    Args:
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        resistive_device: a :class:`~aihw.core.compound.CompoundDevice`.
        bias: add an analog bias column.
        seed: the tile seed; ``None`` draws one from torch's global generator.
        update: the update parameters of the SGD update (copied); ``None``: defaults.
        rpu_config: a :class:`~aihw.core.config.TileConfig` with a compound device
            (instead of ``resistive_device`` and ``update``): its forward and backward
            periphery read the visible weight.

    Attributes:
        units: the device tiles, one per device of the compound.
        gammas: ``gamma_k`` of the visible weight, one per device.
        counters: the compound's own counters (update policy, refresh, transfers), saved
            in checkpoints.
        buffers: the compound's own tensors (a digital buffer, choppers), float32 on the
            tile's device, saved in checkpoints.
    """

    def __init__(
        self,
        out_size: int,
        in_size: int,
        resistive_device: CompoundDevice | None = None,
        bias: bool = False,
        seed: int | None = None,
        update: UpdateParameters | None = None,
        *,
        rpu_config: TileConfig | None = None,
    ) -> None:
        forward_io: IOParameters | None = None
        backward_io: IOParameters | None = None
        if rpu_config is not None:
            check_config_alone(rpu_config, resistive_device, update)
            resistive_device = rpu_config.device  # type: ignore[assignment]
            update = rpu_config.update
            forward_io, backward_io = rpu_config.forward, rpu_config.backward
        if not isinstance(resistive_device, CompoundDevice):
            raise TypeError(
                f"{type(self).__name__} needs a compound device (a unit cell or transfer "
                f"compound); got {type(resistive_device).__name__}"
            )
        if update is None:
            update = UpdateParameters()
        elif not isinstance(update, UpdateParameters):
            raise TypeError(f"update must be UpdateParameters or None; got {type(update).__name__}")
        update = dataclasses.replace(update)
        super().__init__(out_size, in_size, bias, seed)
        self.resistive_device = resistive_device
        self.update_parameters = update
        self.rpu_config = rpu_config
        self._apply_runtime(rpu_config)
        self._set_periphery(forward_io, backward_io)
        self.gammas = [float(g) for g in resistive_device.gamma_weights()]
        devices = resistive_device.unit_devices()
        self.units: list[AnalogTile] = []
        for index, device in enumerate(devices):
            unit = AnalogTile(
                out_size,
                in_size,
                device,
                bias=bias,
                seed=unit_seed(self.seed, index),
                update=self._unit_update(index),
            )
            io = self._unit_io(index)
            unit._set_periphery(io, io)
            unit._backend = self._backend
            self.units.append(unit)
        self.counters: dict[str, Any] = self._initial_counters()
        self.buffers: dict[str, torch.Tensor] = self._initial_buffers()
        self._after_units_built()
        self._sync_visible()

    # -- what kinds provide -----------------------------------------------------------
    def _unit_update(self, index: int) -> UpdateParameters:
        """The update parameters of device ``index``'s ordinary updates."""
        return self.update_parameters

    def _unit_io(self, index: int) -> IOParameters | None:
        """The periphery of device ``index``'s reads (``None``: exact; never read)."""
        return None

    def _initial_counters(self) -> dict[str, Any]:
        return {}

    def _initial_buffers(self) -> dict[str, torch.Tensor]:
        return {}

    def _after_units_built(self) -> None:
        """Adjust the devices once they are built (e.g. a mirrored copy)."""

    def _program_units(self, target: torch.Tensor) -> None:
        """Write the devices so that the visible weight becomes ``target`` (with the bias
        column) as closely as their bounds allow."""
        raise NotImplementedError

    # -- the visible weight --------------------------------------------------------------
    def _sync_visible(self) -> None:
        """``weights <- sum_k gamma_k w_k`` in place (views of ``weights`` stay valid)."""
        out = self.weights
        first = True
        for gamma, unit in zip(self.gammas, self.units, strict=True):
            if gamma == 0.0:
                continue
            if first:
                torch.mul(unit.weights, gamma, out=out)
                first = False
            else:
                out.add_(unit.weights, alpha=gamma)
        if first:
            out.zero_()

    def _set_unit(self, unit: AnalogTile, w: torch.Tensor) -> None:
        """``unit.set_weights`` from a ``[d_size, x_size]`` matrix (bias column last)."""
        weights = w[:, : self.in_size].contiguous()
        bias = w[:, self.in_size].contiguous() if self.bias else None
        unit.set_weights(weights, bias)

    def set_weights(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Program the devices so that the visible weight is ``weights`` (and ``bias``) as
        closely as their bounds allow; how each kind splits it: docs/physics/compounds.md.

        Args:
            weights: floating ``[out_size, in_size]``, finite.
            bias: floating ``[out_size]``; required if and only if the tile has ``bias=True``.
        """
        super().set_weights(weights, bias)  # checks, and puts the request in weights
        self._program_units(self.weights.clone())
        self._sync_visible()

    def get_hidden_weights(self) -> list[torch.Tensor]:
        """Copies of every device's weights ``[out_size, in_size + bias]``, in device order."""
        return [unit.weights.clone() for unit in self.units]

    def set_hidden_weights(self, weights: list[torch.Tensor]) -> None:
        """Set every device's weights (``[out_size, in_size + bias]`` each, clipped to its
        bounds), then the visible weight."""
        if not isinstance(weights, (list, tuple)) or len(weights) != len(self.units):
            raise ValueError(
                f"set_hidden_weights: weights must be a list of {len(self.units)} tensors, one "
                f"per device; got {type(weights).__name__} of length "
                f"{len(weights) if isinstance(weights, (list, tuple)) else '-'}"
            )
        for unit, w in zip(self.units, weights, strict=True):
            self._set_unit(unit, torch.as_tensor(w, dtype=torch.float32).to(self.device))
        self._sync_visible()

    # -- update -----------------------------------------------------------------------
    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        for unit in self.units:
            unit._check_update(x, d, lr)

    def _apply_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        pulses = self._update_units(x, d, lr)
        self._sync_visible()
        return pulses

    def _update_units(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        raise NotImplementedError

    # -- engine settings follow to the devices -----------------------------------------
    @TileBase.backend.setter  # type: ignore[attr-defined, untyped-decorator]
    def backend(self, value: str) -> None:
        TileBase.backend.fset(self, value)  # type: ignore[attr-defined]
        for unit in self.units:
            unit.backend = value

    @TileBase.num_threads.setter  # type: ignore[attr-defined, untyped-decorator]
    def num_threads(self, value: int | None) -> None:
        TileBase.num_threads.fset(self, value)  # type: ignore[attr-defined]
        for unit in self.units:
            unit.num_threads = value

    def to(self, device: torch.device | str | int) -> CompoundTile:
        """Move the tile and its devices to ``device``; returns the tile."""
        for unit in self.units:
            unit.to(device)
        self.buffers = {k: v.to(device) for k, v in self.buffers.items()}
        super().to(device)
        return self

    def _device_repr(self) -> str:
        return repr(self.resistive_device)


class VectorCellTile(CompoundTile):
    """The vector unit cell (and the reference unit cell, a vector cell of two devices
    with ``gamma = [1, -1]`` updating device 0 only).

    ``counters["index"]`` is the device the next single-device update goes to (the
    hidden update index): SingleFixed keeps it, SingleSequential moves it on by one per
    update, SingleRandom draws it per update.
    """

    def _initial_counters(self) -> dict[str, Any]:
        params = self.resistive_device.params
        return {"index": int(params.first_update_idx) % len(self.units)}

    @property
    def policy(self) -> str:
        return str(_value(self.resistive_device.params.update_policy))

    def get_hidden_update_index(self) -> int:
        """The device that single-device updates go to next."""
        return int(self.counters["index"])

    def set_hidden_update_index(self, index: int) -> None:
        """Choose the device of the next single-device update (and of ``set_weights``
        under SingleFixed)."""
        n = len(self.units)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ValueError(f"index={index!r} must be an int in [0, {n})")
        self.counters["index"] = index

    def _program_units(self, target: torch.Tensor) -> None:
        if self.policy == "SingleFixed":
            self._set_unit(self.units[self.counters["index"]], target)
            return
        for unit in self.units:
            self._set_unit(unit, target)

    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        if self.policy == "All":
            super()._check_update(x, d, lr)
        else:  # all devices share the checks' conditions; one is enough
            self.units[0]._check_update(x, d, lr)

    def _update_units(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        policy = self.policy
        if policy == "All":
            pulses: int | torch.Tensor = 0
            for unit in self.units:
                unit._update_rows(x, d, lr)
                pulses += unit.last_update_pulses
            return pulses
        n = len(self.units)
        if policy == "SingleRandom":
            gen = _generator(self.seed, 1, self.update_index)
            self.counters["index"] = int(torch.randint(0, n, (1,), generator=gen).item())
        index = self.counters["index"]
        unit = self.units[index]
        unit._update_rows(x, d, lr)
        if policy == "SingleSequential":
            self.counters["index"] = (index + 1) % n
        return int(unit.last_update_pulses)


class OneSidedCellTile(CompoundTile):
    """Two devices that only potentiate: ``W = g+ - g-`` with ``g-`` device 0 and ``g+``
    device 1; an update that increases a weight pulses ``g+`` up, one that decreases it
    pulses ``g-`` up; the refresh rewrites saturated pairs (docs/physics/compounds.md).

    ``counters``: ``units`` (update calls or vectors seen, as ``units_in_mbatch`` says),
    ``refreshes`` (refresh passes run) and ``refreshed`` (pairs rewritten in all).
    """

    def _initial_counters(self) -> dict[str, Any]:
        return {"units": 0, "refreshes": 0, "refreshed": 0}

    def _unit_io(self, index: int) -> IOParameters | None:
        return read_io(self.resistive_device.params.refresh_forward)

    def _after_units_built(self) -> None:
        if not self.resistive_device.params.copy_inverted:
            return
        # g+ copies g-'s devices with up and down swapped and the bounds mirrored.
        source, target = self.units[0], self.units[1]
        arrays = {k: v.clone() for k, v in source.device_arrays.items()}
        if "dw_up" in arrays and "dw_down" in arrays:
            arrays["dw_up"], arrays["dw_down"] = arrays["dw_down"], arrays["dw_up"]
        if "w_min" in arrays and "w_max" in arrays:
            arrays["w_min"], arrays["w_max"] = -arrays["w_max"], -arrays["w_min"]
        target.device_arrays = arrays
        target.weights.copy_(target._clip_weights(target.weights))
        if target.hidden_weights is not None:
            target.hidden_weights.copy_(target.weights)

    def _program_units(self, target: torch.Tensor) -> None:
        self._set_unit(self.units[1], target.clamp(min=0.0))
        self._set_unit(self.units[0], (-target).clamp(min=0.0))

    def _update_units(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        # Each sample's x d^T splits into the coincidences that decrease the weight
        # (x+ d+, x- d-: up pulses on g-) and those that increase it (x- d+, x+ d-: up
        # pulses on g+); W -= lr d^T x with a negative d is an up-only update.
        xp, xn = x.clamp(min=0.0), (-x).clamp(min=0.0)
        dp, dn = d.clamp(min=0.0), (-d).clamp(min=0.0)
        minus_d = torch.cat((-dp, -dn))
        g_minus, g_plus = self.units
        g_minus._update_rows(torch.cat((xp, xn)), minus_d, lr)
        g_plus._update_rows(torch.cat((xn, xp)), minus_d.clone(), lr)
        pulses = g_minus.last_update_pulses + g_plus.last_update_pulses
        params = self.resistive_device.params
        every = int(params.refresh_every)
        if every > 0:
            before = self.counters["units"]
            self.counters["units"] = before + (1 if params.units_in_mbatch else x.shape[0])
            if self.counters["units"] // every > before // every:
                pulses += self.refresh()
        return pulses

    def refresh(self) -> int:
        """Rewrite the pairs near saturation (docs/physics/compounds.md#one-sided-unit-cell); returns the
        pulses written. Runs on its schedule after updates; callable by hand."""
        params = self.resistive_device.params
        g_minus, g_plus = self.units
        columns = list(range(self.x_size))
        # Reads: rows of the result are columns of the array.
        plus = read_vectors(g_plus, columns).t()
        minus = read_vectors(g_minus, columns).t()
        plus_norm = plus / _w_max(g_plus)
        minus_norm = minus / _w_max(g_minus)
        larger = torch.maximum(plus_norm, minus_norm)
        smaller = torch.minimum(plus_norm, minus_norm)
        mask = (larger > params.refresh_upper_thres) & (smaller > params.refresh_lower_thres)
        self.counters["refreshes"] += 1
        count = int(mask.sum())
        if count == 0:
            return 0
        self.counters["refreshed"] += count
        diff = plus - minus
        reset_elements(g_plus, mask)
        reset_elements(g_minus, mask)
        # The difference goes onto the larger side, so the weight keeps its sign.
        pulses = 0
        for unit, amount in (
            (g_plus, torch.where(mask & (diff > 0), diff, 0.0)),
            (g_minus, torch.where(mask & (diff < 0), -diff, 0.0)),
        ):
            cols = torch.nonzero(amount.any(dim=0)).flatten().tolist()
            if cols:
                x = one_hot(cols, self.x_size).to(self.device)
                d = -amount[:, cols].t()
                pulses += write_pulsed(unit, x, d, 1.0, params.refresh_update)
        self._sync_visible()
        return pulses


def _w_max(unit: AnalogTile) -> float:
    """The device's ``|w_max|`` parameter (1 where it has none or it is 0)."""
    value = abs(float(getattr(unit.resistive_device.params, "w_max", 1.0)))
    return value if value > 0 else 1.0


def compound_tile_class(device: CompoundDevice) -> type[CompoundTile]:
    """The tile class for ``device``'s ``compound_kind``."""
    from .chopped import ChoppedTransferTile
    from .dynamic import DynamicTransferTile
    from .mixed_precision import MixedPrecisionTile
    from .transfer import TransferTile

    classes: dict[str, type[CompoundTile]] = {
        "vector": VectorCellTile,
        "one_sided": OneSidedCellTile,
        "transfer": TransferTile,
        "chopped_transfer": ChoppedTransferTile,
        "dynamic_transfer": DynamicTransferTile,
        "mixed_precision": MixedPrecisionTile,
    }
    kind = device.compound_kind
    if kind not in classes:
        raise ValueError(
            f"{type(device).__name__}.compound_kind={kind!r}; allowed: {', '.join(classes)}"
        )
    return classes[kind]

"""A tile's complete state as plain data, and tiles rebuilt from it.

:func:`tile_state` gives a dict of tensors, numbers, strings, lists and dicts only, so a
checkpoint holding it loads with ``torch.load(..., weights_only=True)``: no pickled
configuration objects. It has everything the tile needs to continue exactly: the device
(registry name, the distribution that provided it, its parameters), the update
parameters, the forward and backward periphery (IO parameters and their random-stream
counters), the seed and the update counter of the random streams, the weights and the
per-device arrays (hidden device state).

:func:`tile_from_state` validates such a dict completely and builds a new tile from it;
:func:`load_tile_state` does the same, then puts the new state into an existing tile of
the same class and device in place (its ``weights`` tensor object is kept, so views of it
stay valid).
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import importlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..compound import CompoundDevice
from ..device_model import DeviceModel
from ..io_parameters import IOParameters
from ..io_parameters_irdrop import IOParametersIRDropT
from ..parameters import UpdateParameters
from ..periphery import Periphery
from .analog import BACKENDS, AnalogTile
from .base import TileBase
from .chopped import ChoppedTransferTile
from .compound import CompoundTile, OneSidedCellTile, VectorCellTile, compound_tile_class
from .device_tile import DeviceTile
from .dynamic import DynamicTransferTile
from .floating_point import FloatingPointTile
from .hwa_state import hwa_from_state, hwa_to_state
from .inference import InferenceTile
from .inference_state import inference_from_state, inference_to_state
from .mixed_precision import MixedPrecisionTile
from .transfer import TransferTile

__all__ = [
    "STATE_FORMAT",
    "STATE_VERSION",
    "TileStateError",
    "MissingDeviceError",
    "MissingNoiseModelError",
    "device_distribution",
    "load_tile_state",
    "tile_from_state",
    "tile_state",
]

STATE_FORMAT = "aihw.tile"
STATE_VERSION = 1
#: The pulsed update's random-number contract the state was saved under
#: (docs/architecture/engine-contract.md §2); states without it predate version 2.
#: Version 3 draws the pulses' normals with the periphery's float32 Box-Muller (§8);
#: version 4 addresses the pulse trains' words by slot position (four slots per block).
UPDATE_CONTRACT = 4

_TILE_CLASSES: dict[str, type[TileBase]] = {
    "FloatingPointTile": FloatingPointTile,
    "AnalogTile": AnalogTile,
    "InferenceTile": InferenceTile,
    "VectorCellTile": VectorCellTile,
    "OneSidedCellTile": OneSidedCellTile,
    "TransferTile": TransferTile,
    "ChoppedTransferTile": ChoppedTransferTile,
    "DynamicTransferTile": DynamicTransferTile,
    "MixedPrecisionTile": MixedPrecisionTile,
}
_KEYS = {
    "format",
    "version",
    "tile_class",
    "out_size",
    "in_size",
    "bias",
    "device",
    "update",
    "seed",
    "update_index",
    "learning_rate",
    "last_update_pulses",
    "backend",
    "num_threads",
    "weights",
    "device_arrays",
}
#: Keys a state may lack: states saved before tiles had a periphery load with exact passes,
#: and those saved before the device operations with their counters at 0. ``write_noise``
#: (hidden weights and redraw counter) is there exactly when the device has write noise.
_OPTIONAL_KEYS = {
    "forward",
    "backward",
    "device_op_counters",
    "write_noise",
    "update_contract",
    "inference",
    "compound",
    "hwa",
}
#: ``compound`` (a compound tile's devices and counters) is there exactly for those tiles.
_COMPOUND_KEYS = {"units", "counters", "buffers"}
_WRITE_NOISE_KEYS = {"hidden_weights", "write_noise_index"}
_DEVICE_OP_COUNTERS = ("diffusion_index", "reset_index")
_DEVICE_KEYS = {"name", "class_name", "module", "distribution", "params"}
_PERIPHERY_KEYS = {"io", "call_index", "average_abs_max"}
#: Written only for the time-dependent IR drop: its parameters' class and physical rows.
_IR_DROP_T_KEYS = {"io_class", "ir_drop_rows"}


class TileStateError(ValueError):
    """A tile state (e.g. from a checkpoint) is malformed or does not fit."""


class MissingDeviceError(TileStateError, LookupError):
    """A tile state needs a device that no installed plugin provides.

    Attributes:
        device_name: the registry name recorded in the state.
        distribution: the distribution that provided it when the state was saved.
    """

    def __init__(self, message: str, device_name: str, distribution: str | None) -> None:
        super().__init__(message)
        self.device_name = device_name
        self.distribution = distribution

    def __str__(self) -> str:  # a LookupError would otherwise print repr(message)
        return str(self.args[0])


class MissingNoiseModelError(TileStateError, LookupError):
    """A tile state needs a noise model that no installed plugin provides.

    Attributes:
        model_name: the registry name recorded in the state.
        distribution: the distribution that provided it when the state was saved.
    """

    def __init__(self, message: str, model_name: str, distribution: str | None) -> None:
        super().__init__(message)
        self.model_name = model_name
        self.distribution = distribution

    def __str__(self) -> str:
        return str(self.args[0])


# -- plain data ---------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """``value`` with dataclasses and enums turned into dicts and their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as plain data")


def _rebuild(cls: type[Any], data: Any, where: str) -> Any:
    """An instance of dataclass ``cls`` from :func:`_plain` output, checking the fields."""
    if not isinstance(data, dict):
        raise TileStateError(f"{where} must be a dict; got {type(data).__name__}")
    default = cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise TileStateError(
            f"{where} has unknown field(s) {', '.join(unknown)} for {cls.__name__}"
        )
    values = {}
    for name, value in data.items():
        current = getattr(default, name)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            value = _rebuild(type(current), value, f"{where}[{name!r}]")
        elif isinstance(current, tuple) and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    try:
        return cls(**values)
    except (TypeError, ValueError, NotImplementedError) as error:
        raise TileStateError(f"{where}: {error}") from error


def device_distribution(device_class: type[DeviceModel]) -> str:
    """The distribution that provides ``device_class``, for messages in later sessions.

    Asks the registry of :mod:`aihw.devices` when it is installed; otherwise (or when the
    registry does not know it) the top-level module name of the class.
    """
    devices = _devices_module()
    if devices is not None:
        try:
            for info in devices.list_devices():
                if info.name == device_class.name and info.distribution:
                    return str(info.distribution)
        except Exception:
            pass
    return device_class.__module__


def _devices_module() -> Any:
    """:mod:`aihw.devices` (an optional dependency of the core), or ``None``."""
    try:
        return importlib.import_module("aihw.devices")
    except ImportError:
        return None


def _default_resolver(name: str) -> type[DeviceModel]:
    devices = _devices_module()
    if devices is None:
        raise LookupError("aihw-devices is not installed")
    cls: type[DeviceModel] = devices.get_device_class(name)
    return cls


# -- saving -------------------------------------------------------------------------------
def tile_state(tile: TileBase) -> dict[str, Any]:
    """The complete state of ``tile`` as plain data.

    The tensors are the tile's own (not copies): save or clone the result before the tile
    changes again. Recorded update inputs (between a backward pass and an optimizer step)
    are not part of the state.
    """
    cls_name = type(tile).__name__
    if cls_name not in _TILE_CLASSES or not isinstance(tile, _TILE_CLASSES[cls_name]):
        raise TypeError(f"tile_state: cannot save a {cls_name}")
    device = getattr(tile, "resistive_device", None)
    device_state = None if device is None else _device_state(device)
    update = getattr(tile, "update_parameters", None)
    arrays = getattr(tile, "device_arrays", {})
    write_noise = {}
    if isinstance(tile, DeviceTile) and tile.hidden_weights is not None:
        write_noise["write_noise"] = {
            "hidden_weights": tile.hidden_weights,
            "write_noise_index": int(tile.write_noise_index),
        }
    inference = {}
    if isinstance(tile, InferenceTile) and tile._inference is not None:
        inference["inference"] = inference_to_state(tile._inference)
    if isinstance(tile, InferenceTile) and tile._hwa is not None:
        inference["hwa"] = hwa_to_state(tile._hwa)
    if isinstance(tile, CompoundTile):
        inference["compound"] = {
            "units": [tile_state(unit) for unit in tile.units],
            "counters": _plain(tile.counters),
            "buffers": dict(tile.buffers),
        }
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "update_contract": UPDATE_CONTRACT,
        "tile_class": cls_name,
        "out_size": int(tile.out_size),
        "in_size": int(tile.in_size),
        "bias": bool(tile.bias),
        "device": device_state,
        "update": None if update is None else _plain(update),
        "seed": int(tile.seed),
        "update_index": int(tile.update_index),
        "learning_rate": float(tile.learning_rate),
        "last_update_pulses": int(tile.last_update_pulses),
        "backend": str(getattr(tile, "backend", "auto")),
        "num_threads": getattr(tile, "num_threads", None),
        "weights": tile.weights,
        "device_arrays": dict(arrays),
        "forward": _periphery_state(tile.forward_periphery),
        "backward": _periphery_state(tile.backward_periphery),
        "device_op_counters": {name: int(getattr(tile, name, 0)) for name in _DEVICE_OP_COUNTERS},
        **write_noise,
        **inference,
    }


def _device_state(device: DeviceModel) -> dict[str, Any]:
    """A device as plain data: registry name, where it came from and its parameters (a
    compound's devices nested the same way)."""
    device_class = type(device)
    if isinstance(device, CompoundDevice):
        params: dict[str, Any] = {}
        for f in dataclasses.fields(device.params):
            value = getattr(device.params, f.name)
            if f.name in device.device_list_fields:
                params[f.name] = [_device_state(d) for d in value]
            elif f.name in device.device_fields:
                params[f.name] = _device_state(value)
            else:
                params[f.name] = _plain(value)
    else:
        params = _plain(device.params)
    return {
        "name": device_class.name,
        "class_name": device_class.__qualname__,
        "module": device_class.__module__,
        "distribution": device_distribution(device_class),
        "params": params,
    }


def _periphery_state(periphery: Periphery | None) -> dict[str, Any] | None:
    """A pass's IO parameters and random-stream counter (``None``: an exact pass)."""
    if periphery is None:
        return None
    state = {
        "io": _plain(periphery.io),
        "call_index": int(periphery.call_index),
        "average_abs_max": periphery.average_abs_max,
    }
    if isinstance(periphery.io, IOParametersIRDropT):
        state["io_class"] = "IOParametersIRDropT"
        state["ir_drop_rows"] = int(periphery.ir_drop_rows)
    return state


# -- loading ------------------------------------------------------------------------------
def _int(state: dict[str, Any], key: str, low: int, high: int) -> int:
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise TileStateError(f"tile state[{key!r}]={value!r} must be an integer in [{low}, {high})")
    return value


def _tensor(value: Any, shape: tuple[int, int], where: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
        raise TileStateError(f"{where} must be a floating-point tensor; got {got}")
    if tuple(value.shape) != shape:
        raise TileStateError(f"{where} has shape {tuple(value.shape)}; expected {shape}")
    if not bool(torch.isfinite(value).all()):
        raise TileStateError(f"{where} contains NaN or Inf")
    return value.detach().to(dtype=torch.float32)


def _resolve(
    device_state: Any, resolve_device: Callable[[str], type[DeviceModel]] | None
) -> DeviceModel:
    if not isinstance(device_state, dict) or set(device_state) != _DEVICE_KEYS:
        raise TileStateError(
            f"tile state['device'] must be None or a dict with keys {sorted(_DEVICE_KEYS)}"
        )
    name = device_state["name"]
    distribution = device_state["distribution"]
    if not isinstance(name, str) or not name:
        raise TileStateError(f"tile state['device']['name']={name!r} must be a device name")
    resolver = resolve_device or _default_resolver
    try:
        device_class = resolver(name)
    except Exception as error:
        raise MissingDeviceError(
            f"checkpoint needs device {name!r} from distribution {distribution!r}, which is "
            f"not installed (or its plugin is disabled): install {distribution!r} to load it "
            f"({type(error).__name__}: {error})",
            name,
            distribution,
        ) from error
    if not (isinstance(device_class, type) and issubclass(device_class, DeviceModel)):
        raise TileStateError(f"device {name!r} resolved to {device_class!r}, not a DeviceModel")
    data = device_state["params"]
    if issubclass(device_class, CompoundDevice) and isinstance(data, dict):
        data = dict(data)
        for field in device_class.device_list_fields:
            if field in data:
                if not isinstance(data[field], list):
                    raise TileStateError(f"device {name!r} parameters[{field!r}] must be a list")
                data[field] = [_resolve(d, resolve_device) for d in data[field]]
        for field in device_class.device_fields:
            if field in data:
                data[field] = _resolve(data[field], resolve_device)
    params = _rebuild(device_class.parameters_class, data, f"device {name!r} parameters")
    try:
        return device_class(params)
    except (TypeError, ValueError, NotImplementedError) as error:
        raise TileStateError(f"device {name!r}: {error}") from error


def tile_from_state(
    state: Any,
    resolve_device: Callable[[str], type[DeviceModel]] | None = None,
    resolve_noise_model: Callable[[str], type[Any]] | None = None,
) -> TileBase:
    """A new tile built from :func:`tile_state` output, after checking all of it.

    Args:
        state: the dict.
        resolve_device: ``name -> device class``; default
            :func:`aihw.devices.get_device_class`.
        resolve_noise_model: ``name -> noise-model class``; default
            :func:`aihw.devices.get_noise_model_class`.

    Raises:
        MissingDeviceError: the device is not available; the message names it and the
            distribution recorded at save time.
        MissingNoiseModelError: the same for the noise model of an inference tile.
        TileStateError: anything else malformed (keys, shapes, dtypes, values).
    """
    if not isinstance(state, dict):
        raise TileStateError(f"a tile state must be a dict; got {type(state).__name__}")
    if state.get("format") != STATE_FORMAT:
        raise TileStateError(f"not a tile state (format={state.get('format')!r})")
    if state.get("version") != STATE_VERSION:
        raise TileStateError(
            f"tile state version {state.get('version')!r} is not supported (this aihw-core "
            f"reads version {STATE_VERSION})"
        )
    missing = sorted(_KEYS - set(state))
    unknown = sorted(set(state) - _KEYS - _OPTIONAL_KEYS)
    if missing or unknown:
        raise TileStateError(
            "tile state keys do not match: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unexpected {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
        )
    cls = _TILE_CLASSES.get(state["tile_class"])
    if cls is None:
        raise TileStateError(f"unknown tile class {state['tile_class']!r}")
    contract = state.get("update_contract", 1)
    if contract not in range(1, UPDATE_CONTRACT + 1) or isinstance(contract, bool):
        raise TileStateError(
            f"tile state update_contract={contract!r} is not supported (this aihw-core "
            f"reads 1 to {UPDATE_CONTRACT})"
        )
    if contract < UPDATE_CONTRACT and cls is AnalogTile:
        warnings.warn(
            f"this tile state was saved under update contract {contract}, before "
            f"contract {UPDATE_CONTRACT} (docs/architecture/engine-contract.md §2): it loads "
            "and infers as saved, but its later pulsed updates draw other pulse trains and "
            "cycle-to-cycle normals (same distributions), so resumed training is not "
            "bit-identical to what the older aihw computed",
            UserWarning,
            stacklevel=3,
        )
    out_size = _int(state, "out_size", 1, 2**31)
    in_size = _int(state, "in_size", 1, 2**31)
    if not isinstance(state["bias"], bool):
        raise TileStateError("tile state['bias'] must be True or False")
    bias = state["bias"]
    seed = _int(state, "seed", 0, 2**64)
    update_index = _int(state, "update_index", 0, 2**32)
    pulses = _int(state, "last_update_pulses", 0, 2**63)
    lr = state["learning_rate"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
        raise TileStateError(f"tile state['learning_rate']={lr!r} must be a finite number >= 0")
    backend = state["backend"]
    if backend not in BACKENDS:
        raise TileStateError(f"tile state['backend']={backend!r}; allowed: {', '.join(BACKENDS)}")
    threads = state["num_threads"]
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)):
        raise TileStateError(f"tile state['num_threads']={threads!r} must be an int or None")
    device = None if state["device"] is None else _resolve(state["device"], resolve_device)
    shape = (out_size, in_size + int(bias))
    weights = _tensor(state["weights"], shape, "tile state['weights']")
    arrays = state["device_arrays"]
    if not isinstance(arrays, dict):
        raise TileStateError("tile state['device_arrays'] must be a dict of tensors")
    forward = _periphery_from_state(state.get("forward"), "forward")
    backward = _periphery_from_state(state.get("backward"), "backward")
    counters = _device_op_counters_from_state(state.get("device_op_counters"))
    tile: TileBase
    try:
        if issubclass(cls, CompoundTile):
            if not isinstance(device, CompoundDevice) or compound_tile_class(device) is not cls:
                raise TileStateError(
                    f"a {cls.__name__} state cannot have the device {type(device).__name__}"
                )
            update = _rebuild(UpdateParameters, state["update"], "tile state['update']")
            tile = cls(out_size, in_size, device, bias, seed, update)
        elif cls is AnalogTile:
            if device is None or device.is_floating_point:
                raise TileStateError("an AnalogTile state needs a pulsed device")
            update = _rebuild(UpdateParameters, state["update"], "tile state['update']")
            tile = AnalogTile(out_size, in_size, device, bias, seed, update)
        else:
            if device is not None and not device.is_floating_point:
                raise TileStateError(f"a {cls.__name__} state cannot have a pulsed device")
            if cls is InferenceTile:
                tile = InferenceTile(out_size, in_size, bias=bias, seed=seed)
                tile.resistive_device = device
                tile._build_device_arrays()
            else:
                tile = FloatingPointTile(out_size, in_size, device, bias, seed)
        tile._set_periphery(
            None if forward is None else forward[0], None if backward is None else backward[0]
        )
    except TileStateError:
        raise
    except (TypeError, ValueError) as error:
        raise TileStateError(f"tile state does not describe a valid tile: {error}") from error
    expected = set(getattr(tile, "device_arrays", {}))
    if set(arrays) != expected:
        raise TileStateError(
            f"tile state['device_arrays'] has {sorted(arrays)}; the device needs {sorted(expected)}"
        )
    if expected and isinstance(tile, DeviceTile):
        tile.device_arrays = {
            k: _tensor(arrays[k], shape, f"tile state['device_arrays'][{k!r}]").cpu().contiguous()
            for k in sorted(expected)
        }
    tile.weights.copy_(weights.cpu())
    _restore_write_noise(tile, state.get("write_noise"), shape)
    if "inference" in state:
        if not isinstance(tile, InferenceTile):
            raise TileStateError(f"tile state['inference'] is given for a {cls.__name__}")
        tile._inference = inference_from_state(state["inference"], shape, resolve_noise_model)
    if "hwa" in state:
        if not isinstance(tile, InferenceTile):
            raise TileStateError(f"tile state['hwa'] is given for a {cls.__name__}")
        tile._hwa = hwa_from_state(state["hwa"], shape)
        tile._refresh_pass()
    if isinstance(tile, InferenceTile) and forward is not None and forward[3] is not None:
        try:  # after the noise model: its converter gives the conductances
            tile.setup_ir_drop_t(forward[3])
        except ValueError as error:
            raise TileStateError(f"tile state['forward']: {error}") from error
    for periphery, saved in (
        (tile.forward_periphery, forward),
        (tile.backward_periphery, backward),
    ):
        if periphery is not None and saved is not None:
            periphery.call_index, periphery.average_abs_max = saved[1], saved[2]
    for name, value in counters.items():
        if hasattr(tile, name):
            setattr(tile, name, value)
    if isinstance(tile, CompoundTile):
        _restore_compound(tile, state.get("compound"), resolve_device)
    elif "compound" in state:
        raise TileStateError(f"tile state['compound'] is given for a {cls.__name__}")
    tile.update_index = update_index
    tile.learning_rate = float(lr)
    tile.last_update_pulses = pulses
    if isinstance(tile, (AnalogTile, CompoundTile)):
        tile.backend = backend
        tile.num_threads = threads
    return tile


def _restore_compound(
    tile: CompoundTile, data: Any, resolve_device: Callable[[str], type[DeviceModel]] | None
) -> None:
    """Put the saved devices (each a complete tile state) and counters into ``tile``."""
    if not isinstance(data, dict) or set(data) != _COMPOUND_KEYS:
        raise TileStateError(
            f"a {type(tile).__name__} state needs tile state['compound'], a dict with keys "
            f"{sorted(_COMPOUND_KEYS)}"
        )
    units = data["units"]
    if not isinstance(units, list) or len(units) != len(tile.units):
        raise TileStateError(
            f"tile state['compound']['units'] must be a list of {len(tile.units)} tile states"
        )
    new_units = []
    for index, (unit, saved) in enumerate(zip(tile.units, units, strict=True)):
        where = f"tile state['compound']['units'][{index}]"
        try:
            new = tile_from_state(saved, resolve_device)
        except MissingDeviceError:
            raise
        except TileStateError as error:
            raise TileStateError(f"{where}: {error}") from error
        if type(new) is not type(unit) or (new.out_size, new.x_size) != (
            unit.out_size,
            unit.x_size,
        ):
            raise TileStateError(f"{where} does not fit device {index} of the compound")
        if type(new.resistive_device) is not type(unit.resistive_device):
            raise TileStateError(
                f"{where} holds a {type(new.resistive_device).__name__}; the compound's device "
                f"{index} is a {type(unit.resistive_device).__name__}"
            )
        new_units.append(new)
    counters = data["counters"]
    if isinstance(counters, dict) and set(counters) < set(tile.counters):
        # Saved before a counter was added (the chopped compound's auto_scale): it starts
        # at its initial value.
        counters = {**tile._initial_counters(), **counters}
    if not isinstance(counters, dict) or set(counters) != set(tile.counters):
        raise TileStateError(
            f"tile state['compound']['counters'] must have the keys {sorted(tile.counters)}"
        )
    buffers = data["buffers"]
    if not isinstance(buffers, dict) or set(buffers) != set(tile.buffers):
        raise TileStateError(
            f"tile state['compound']['buffers'] must have the keys {sorted(tile.buffers)}"
        )
    new_buffers = {}
    for name, current in tile.buffers.items():
        shape2 = (int(current.shape[0]), int(current.shape[1]))
        where = f"tile state['compound']['buffers'][{name!r}]"
        new_buffers[name] = _tensor(buffers[name], shape2, where).cpu().contiguous()
    tile.units = new_units
    tile.counters = copy.deepcopy(counters)
    tile.buffers = new_buffers


def _restore_write_noise(tile: TileBase, data: Any, shape: tuple[int, int]) -> None:
    """Put the saved hidden weights and redraw counter into a tile with write noise."""
    hidden = tile.hidden_weights if isinstance(tile, DeviceTile) else None
    if hidden is None or not isinstance(tile, DeviceTile):
        if data is not None:
            raise TileStateError(
                "tile state['write_noise'] is given, but the device has no write noise"
            )
        return
    if not isinstance(data, dict) or set(data) != _WRITE_NOISE_KEYS:
        raise TileStateError(
            "the device has write noise: tile state['write_noise'] must be a dict with keys "
            f"{sorted(_WRITE_NOISE_KEYS)}"
        )
    where = "tile state['write_noise']"
    hidden.copy_(_tensor(data["hidden_weights"], shape, f"{where}['hidden_weights']").cpu())
    tile.write_noise_index = _int(data, "write_noise_index", 0, 2**32)


def _device_op_counters_from_state(data: Any) -> dict[str, int]:
    """The call counters of diffusion and reset (all 0 for a state saved without them)."""
    if data is None:
        return {name: 0 for name in _DEVICE_OP_COUNTERS}
    if not isinstance(data, dict) or set(data) != set(_DEVICE_OP_COUNTERS):
        raise TileStateError(
            f"tile state['device_op_counters'] must be a dict with keys {list(_DEVICE_OP_COUNTERS)}"
        )
    return {name: _int(data, name, 0, 2**32) for name in _DEVICE_OP_COUNTERS}


def _periphery_from_state(
    data: Any, direction: str
) -> tuple[IOParameters, int, float | None, int | None] | None:
    """``(io, call_index, average_abs_max, ir_drop_rows)`` of a saved pass, checked
    (``ir_drop_rows`` ``None`` without the time-dependent IR drop); ``None``: exact."""
    if data is None:
        return None
    where = f"tile state[{direction!r}]"
    if not isinstance(data, dict) or set(data) not in (
        _PERIPHERY_KEYS,
        _PERIPHERY_KEYS | _IR_DROP_T_KEYS,
    ):
        raise TileStateError(
            f"{where} must be None or a dict with keys {sorted(_PERIPHERY_KEYS)} (and "
            f"{sorted(_IR_DROP_T_KEYS)} for the time-dependent IR drop)"
        )
    rows = None
    io_class: type[IOParameters] = IOParameters
    if "io_class" in data:
        if data["io_class"] != "IOParametersIRDropT":
            raise TileStateError(
                f"{where}['io_class']={data['io_class']!r}; allowed: 'IOParametersIRDropT'"
            )
        io_class = IOParametersIRDropT
        rows = _int(data, "ir_drop_rows", 0, 2**31)
    io = _rebuild(io_class, data["io"], f"{where}['io']")
    call_index = _int(data, "call_index", 0, 2**32)
    running = data["average_abs_max"]
    if running is not None and (
        isinstance(running, bool)
        or not isinstance(running, (int, float))
        or not math.isfinite(running)
        or running < 0
    ):
        raise TileStateError(
            f"{where}['average_abs_max']={running!r} must be None or a finite number >= 0"
        )
    return io, call_index, None if running is None else float(running), rows


def load_tile_state(
    tile: TileBase,
    state: Any,
    resolve_device: Callable[[str], type[DeviceModel]] | None = None,
) -> None:
    """Put ``state`` into ``tile`` in place; ``tile`` is unchanged if anything is wrong.

    The state must be for a tile of the same class, sizes and device model (its
    parameters may differ): a tile never changes class. For another one, build a new tile
    with :func:`tile_from_state` (layers do that: their grid takes the new tile's place).
    The tile keeps its torch device and its ``weights`` tensor object (so tensors sharing
    its storage stay linked). Recorded update inputs are discarded.
    """
    new = tile_from_state(state, resolve_device)
    if (new.out_size, new.x_size) != (tile.out_size, tile.x_size) or new.bias != tile.bias:
        raise TileStateError(
            f"tile state is for a [{new.out_size}, {new.in_size}] tile (bias={new.bias}); "
            f"this tile is [{tile.out_size}, {tile.in_size}] (bias={tile.bias})"
        )
    if type(new) is not type(tile) or _device_name(new) != _device_name(tile):
        raise TileStateError(
            f"tile state is for a {type(new).__name__} with device {_device_name(new)}; this "
            f"tile is a {type(tile).__name__} with device {_device_name(tile)}: a tile keeps "
            "its class and device, so build a new tile with tile_from_state(state) instead"
        )
    _take_state(tile, new)


def _device_name(tile: TileBase) -> str:
    device = getattr(tile, "resistive_device", None)
    return "None (floating point)" if device is None else repr(type(device).name)


def _take_state(tile: TileBase, new: TileBase) -> None:
    """Make ``tile`` hold the state of ``new`` (same class and sizes), keeping its
    ``weights`` tensor and torch device."""
    weights = tile.weights
    new.to(weights.device)
    attributes = dict(new.__dict__)
    attributes["weights"] = weights
    tile.__dict__.clear()
    tile.__dict__.update(attributes)
    with torch.no_grad():
        weights.copy_(new.weights)

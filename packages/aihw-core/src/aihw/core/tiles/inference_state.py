"""The inference part of an :class:`~aihw.core.tiles.InferenceTile`'s state, as plain data.

Key ``"inference"`` of :func:`~aihw.core.tiles.state.tile_state`: the noise model (registry
name, distribution, parameters and converter), the drift compensation (name and
parameters), the noise seed and stream counters, and once programmed the reference
weights, programmed conductances, drift exponents, scale, baseline, factor and time of the
last drift. A state without it (saved before programming existed) loads with neither noise
model nor compensation.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Callable
from typing import Any

import torch

from ..inference.compensation import compensation_from_state, compensation_state
from ..inference.converters import converter_from_state, converter_state
from ..inference.noise_model import NoiseModel
from ..inference.programming import InferenceState, Programmed

__all__ = [
    "inference_from_state",
    "inference_to_state",
    "noise_model_distribution",
]

_KEYS = {"noise_model", "drift_compensation", "noise_seed", "program_index", "drift_index",
         "programmed"}  # fmt: skip
_MODEL_KEYS = {"name", "class_name", "module", "distribution", "params", "g_converter"}
_PROGRAMMED_KEYS = {"reference", "conductances", "nu", "scale", "baseline", "alpha",
                    "t_inference"}  # fmt: skip

NoiseModelResolver = Callable[[str], type[NoiseModel]]


def _error() -> type[ValueError]:
    from .state import TileStateError  # state imports this module

    return TileStateError


def _devices() -> Any:
    try:
        return importlib.import_module("aihw.devices")
    except ImportError:
        return None


def noise_model_distribution(cls: type[NoiseModel]) -> str:
    """The distribution that registered ``cls`` (else its top-level module), for messages."""
    devices = _devices()
    if devices is not None:
        try:
            for info in devices.list_noise_models():
                if info.name == cls.name and info.distribution:
                    return str(info.distribution)
        except Exception:
            pass
    return cls.__module__


def _default_resolver(name: str) -> type[NoiseModel]:
    devices = _devices()
    if devices is None:
        raise LookupError("aihw-devices is not installed")
    cls: type[NoiseModel] = devices.get_noise_model_class(name)
    return cls


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} as plain data")


def inference_to_state(state: InferenceState) -> dict[str, Any]:
    """``state`` as plain data (the tensors are the tile's own)."""
    model = state.noise_model
    model_state = None
    if model is not None:
        cls = type(model)
        model_state = {
            "name": cls.name,
            "class_name": cls.__qualname__,
            "module": cls.__module__,
            "distribution": noise_model_distribution(cls),
            "params": _plain(model.parameters()),
            "g_converter": converter_state(model.g_converter),
        }
    compensation = state.drift_compensation
    programmed = state.programmed
    return {
        "noise_model": model_state,
        "drift_compensation": None if compensation is None else compensation_state(compensation),
        "noise_seed": int(state.noise_seed),
        "program_index": int(state.program_index),
        "drift_index": int(state.drift_index),
        "programmed": None
        if programmed is None
        else {**programmed.tensors(), "t_inference": programmed.t_inference},
    }


def _int(data: dict[str, Any], key: str, high: int) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < high:
        raise _error()(f"tile state['inference'][{key!r}]={value!r} must be an int in [0, {high})")
    return value


def _model(data: Any, resolve: NoiseModelResolver | None) -> NoiseModel | None:
    if data is None:
        return None
    where = "tile state['inference']['noise_model']"
    if not isinstance(data, dict) or set(data) != _MODEL_KEYS:
        raise _error()(f"{where} must be None or a dict with keys {sorted(_MODEL_KEYS)}")
    name, distribution = data["name"], data["distribution"]
    if not isinstance(name, str) or not name:
        raise _error()(f"{where}['name']={name!r} must be a noise model name")
    try:
        cls = (resolve or _default_resolver)(name)
    except Exception as error:
        raise missing_noise_model(
            f"checkpoint needs noise model {name!r} from distribution {distribution!r}, which "
            f"is not installed (or its plugin is disabled): install {distribution!r} to load "
            f"it ({type(error).__name__}: {error})",
            name,
            distribution,
        ) from error
    if not (isinstance(cls, type) and issubclass(cls, NoiseModel)):
        raise _error()(f"noise model {name!r} resolved to {cls!r}, not a NoiseModel")
    params = data["params"]
    if not isinstance(params, dict):
        raise _error()(f"{where}['params'] must be a dict")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in params.items():
        field = fields.get(key)
        if field is None or key == "g_converter":
            raise _error()(f"{where}: {cls.__name__} has no parameter {key!r}")
        if isinstance(field.default, tuple) and isinstance(value, list):
            value = tuple(value)
        values[key] = value
    try:
        return cls(g_converter=converter_from_state(data["g_converter"]), **values)
    except (TypeError, ValueError) as error:
        raise _error()(f"noise model {name!r}: {error}") from error


def missing_noise_model(message: str, name: str, distribution: str | None) -> Exception:
    """A :class:`~aihw.core.tiles.state.MissingNoiseModelError`."""
    from .state import MissingNoiseModelError

    return MissingNoiseModelError(message, name, distribution)


def _tensor(value: Any, shape: tuple[int, ...], where: str, low: float | None = None) -> Any:
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise _error()(f"{where} must be a floating-point tensor")
    if tuple(value.shape) != shape:
        raise _error()(f"{where} has shape {tuple(value.shape)}; expected {shape}")
    if not bool(torch.isfinite(value).all()) or (low is not None and bool((value < low).any())):
        raise _error()(f"{where} must be finite" + ("" if low is None else f" and >= {low}"))
    return value.detach().to(dtype=torch.float32).cpu().clone()


def _programmed(data: Any, model: NoiseModel | None, shape: tuple[int, int]) -> Programmed | None:
    if data is None:
        return None
    where = "tile state['inference']['programmed']"
    if not isinstance(data, dict) or set(data) != _PROGRAMMED_KEYS:
        raise _error()(f"{where} must be None or a dict with keys {sorted(_PROGRAMMED_KEYS)}")
    if model is None:
        raise _error()(f"{where} is given, but the state has no noise model")
    k = model.g_converter.n_conductances
    out = shape[0]
    optional = {}
    for key in ("baseline", "alpha"):
        value = data[key]
        if value is not None:
            size = () if isinstance(value, torch.Tensor) and value.dim() == 0 else (out,)
            value = _tensor(value, size, f"{where}[{key!r}]", 0.0)
        optional[key] = value
    t = data["t_inference"]
    if t is not None and (
        isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0
    ):
        raise _error()(f"{where}['t_inference']={t!r} must be None or a finite number >= 0")
    return Programmed(
        reference=_tensor(data["reference"], shape, f"{where}['reference']"),
        conductances=_tensor(data["conductances"], (k, *shape), f"{where}['conductances']", 0.0),
        nu=_tensor(data["nu"], (k, *shape), f"{where}['nu']", 0.0),
        scale=_tensor(data["scale"], (), f"{where}['scale']", 0.0),
        baseline=optional["baseline"],
        alpha=optional["alpha"],
        t_inference=None if t is None else float(t),
    )


def inference_from_state(
    data: Any, shape: tuple[int, int], resolve: NoiseModelResolver | None = None
) -> InferenceState | None:
    """The checked :class:`InferenceState` of ``data`` (``None``: not in the state)."""
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) != _KEYS:
        raise _error()(f"tile state['inference'] must be a dict with keys {sorted(_KEYS)}")
    model = _model(data["noise_model"], resolve)
    compensation = None
    if data["drift_compensation"] is not None:
        try:
            compensation = compensation_from_state(data["drift_compensation"])
        except ValueError as error:
            raise _error()(f"tile state['inference']['drift_compensation']: {error}") from error
    return InferenceState(
        noise_model=model,
        drift_compensation=compensation,
        noise_seed=_int(data, "noise_seed", 2**64),
        program_index=_int(data, "program_index", 2**32),
        drift_index=_int(data, "drift_index", 2**32),
        programmed=_programmed(data["programmed"], model, shape),
    )

"""The hardware-aware training part of an :class:`~aihw.core.tiles.InferenceTile`'s state,
as plain data (key ``"hwa"`` of :func:`~aihw.core.tiles.state.tile_state`): the clip,
remap and modifier parameters (plain dicts, the type by its value), the modifier's stream
counter, the modified copy and the output scales. A state without it (saved before
hardware-aware training existed) loads with none of them.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import torch

from ..inference.clip import WeightClipParameter
from ..inference.hwa import HWAState
from ..inference.modifiers import WeightModifierParameter
from ..inference.remap import WeightRemapParameter

__all__ = ["hwa_from_state", "hwa_to_state"]

_KEYS = {"clip", "remap", "modifier", "modifier_index", "modified", "out_scales"}
_PARAMS: dict[str, type[Any]] = {
    "clip": WeightClipParameter,
    "remap": WeightRemapParameter,
    "modifier": WeightModifierParameter,
}


def _error(message: str) -> Exception:
    from .state import TileStateError  # state imports this module

    return TileStateError(message)


def _plain(param: Any) -> dict[str, Any] | None:
    if param is None:
        return None
    data: dict[str, Any] = {}
    for field in dataclasses.fields(param):
        value = getattr(param, field.name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        data[field.name] = value
    return data


def hwa_to_state(state: HWAState) -> dict[str, Any]:
    """``state`` as plain data (the tensors are the tile's own)."""
    return {
        "clip": _plain(state.clip),
        "remap": _plain(state.remap),
        "modifier": _plain(state.modifier),
        "modifier_index": int(state.modifier_index),
        "modified": state.modified,
        "out_scales": state.out_scales,
    }


def _param(key: str, data: Any) -> Any:
    if data is None:
        return None
    cls = _PARAMS[key]
    where = f"tile state['hwa'][{key!r}]"
    names = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(data, dict) or not set(data) <= names:
        raise _error(f"{where} must be None or a dict with keys among {sorted(names)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise _error(f"{where}: {error}") from error


def _tensor(value: Any, shape: tuple[int, ...], where: str) -> torch.Tensor | None:
    if value is None:
        return None
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise _error(f"{where} must be None or a floating-point tensor")
    if tuple(value.shape) != shape:
        raise _error(f"{where} has shape {tuple(value.shape)}; expected {shape}")
    if not bool(torch.isfinite(value).all()):
        raise _error(f"{where} must be finite")
    return value.detach().to(dtype=torch.float32).cpu().clone()


def hwa_from_state(data: Any, shape: tuple[int, int]) -> HWAState:
    """The checked :class:`HWAState` of ``data`` for a tile of weight ``shape``."""
    if not isinstance(data, dict) or set(data) != _KEYS:
        raise _error(f"tile state['hwa'] must be a dict with keys {sorted(_KEYS)}")
    index = data["modifier_index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 2**32:
        raise _error(f"tile state['hwa']['modifier_index']={index!r} must be an int in [0, 2**32)")
    scales = _tensor(data["out_scales"], (shape[0],), "tile state['hwa']['out_scales']")
    if scales is not None and not bool((scales > 0).all()):
        raise _error("tile state['hwa']['out_scales'] must be > 0")
    return HWAState(
        clip=_param("clip", data["clip"]),
        remap=_param("remap", data["remap"]),
        modifier=_param("modifier", data["modifier"]),
        modifier_index=index,
        modified=_tensor(data["modified"], shape, "tile state['hwa']['modified']"),
        out_scales=scales,
    )

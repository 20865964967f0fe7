"""Checking a state dict against a model before anything is loaded.

``torch.nn.Module.load_state_dict`` copies what fits and reports the rest at the end, so a
bad checkpoint leaves a model half loaded. :func:`check_state_dict` finds every problem
first: missing and unexpected keys (``strict``), tensors of the wrong shape, and, for each
analog layer, its tile state (format, layout, shapes, dtypes, and that its devices are
installed). :func:`protect_load_state_dict` installs it as a load pre-hook on a module, so
that ``module.load_state_dict`` raises before changing anything; :func:`convert_to_analog`
and :class:`AnalogSequential` do that for you.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor
from torch.nn import Module

from aihw.core.tiles.state import MissingDeviceError, TileStateError

from .modules.base import AnalogLayerBase

__all__ = ["CheckpointError", "check_state_dict", "protect_load_state_dict"]

_EXTRA = "_extra_state"


class CheckpointError(RuntimeError):
    """A state dict does not fit the model; the message lists every problem found."""


def check_state_dict(model: Module, state_dict: Mapping[str, Any], strict: bool = True) -> None:
    """Raise unless ``model.load_state_dict(state_dict, strict)`` would load cleanly.

    The analog state of an analog layer (``<layer>._extra_state``) may be absent: the
    layer is then programmed from its weight, as from a ``torch.nn`` checkpoint.

    Raises:
        aihw.core.tiles.state.MissingDeviceError: a checkpoint needs a device that no
            installed plugin provides (the message names the device and distribution).
        CheckpointError: anything else, every problem listed.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping; got {type(state_dict).__name__}")
    expected = _expected_entries(model)
    analog = {
        (name + "." if name else "") + _EXTRA: module
        for name, module in model.named_modules()
        if isinstance(module, AnalogLayerBase)
    }
    problems: list[str] = []
    if strict:
        missing = [k for k in expected if k not in state_dict and k not in analog]
        unexpected = [k for k in state_dict if k not in expected]
        if missing:
            problems.append(f"missing key(s): {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected key(s): {', '.join(unexpected)}")
    for key, value in state_dict.items():
        if key not in expected:
            continue
        current = expected[key]
        if key in analog:
            try:
                analog[key].check_extra_state(value)
            except MissingDeviceError as error:
                layer = key[: -len(_EXTRA)].rstrip(".")
                if layer:  # the model's name of the layer; the tile only knows its class
                    error.args = (f"layer {layer!r}: {error.args[0]}", *error.args[1:])
                raise
            except TileStateError as error:
                problems.append(f"{key}: {error}")
            continue
        if isinstance(current, Tensor):
            if not isinstance(value, Tensor):
                problems.append(f"{key}: expected a tensor, got {type(value).__name__}")
            elif value.shape != current.shape:
                problems.append(
                    f"{key}: shape {tuple(value.shape)} in the checkpoint, "
                    f"{tuple(current.shape)} in the model"
                )
    if problems:
        raise CheckpointError(
            f"the state dict does not fit {type(model).__name__}; nothing was loaded:\n  "
            + "\n  ".join(problems)
        )


def _expected_entries(model: Module) -> dict[str, Any]:
    """The keys ``model.state_dict()`` has, with the live tensors (no extra states built)."""
    entries: dict[str, Any] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        prefix = name + "." if name else ""
        for key, param in module._parameters.items():
            if param is not None:
                entries[prefix + key] = param
        for key, buffer in module._buffers.items():
            if buffer is not None and key not in module._non_persistent_buffers_set:
                entries[prefix + key] = buffer
        if type(module).get_extra_state is not Module.get_extra_state:
            entries[prefix + _EXTRA] = None
    return entries


def _check_hook(
    module: Module,
    state_dict: Mapping[str, Any],
    prefix: str,
    local_metadata: Any,
    strict: bool,
    missing_keys: list[str],
    unexpected_keys: list[str],
    error_msgs: list[str],
) -> None:
    own = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    check_state_dict(module, own, strict)


def protect_load_state_dict(module: Module) -> Module:
    """Make ``module.load_state_dict`` check the whole state dict before loading any of it.

    Idempotent; returns ``module``. The hook survives ``copy.deepcopy`` and pickling.
    """
    if not getattr(module, "_aihw_checked_load", False):
        module.register_load_state_dict_pre_hook(_check_hook)  # type: ignore[no-untyped-call]
        module.__dict__["_aihw_checked_load"] = True
    return module

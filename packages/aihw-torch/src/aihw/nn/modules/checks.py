"""Checks of the analog layers' constructor arguments (messages name the argument)."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from aihw.core.config import TileConfig
from aihw.core.device_model import DeviceModel
from aihw.core.mapping import MappingParameters

__all__ = [
    "check_bool",
    "check_float_dtype",
    "check_positive_int",
    "check_resistive_device",
    "check_rpu_config",
    "resolve_mapping",
]


def check_resistive_device(resistive_device: Any) -> None:
    """Raise ``TypeError`` unless ``resistive_device`` is ``None`` or a device-model instance."""
    if resistive_device is None or isinstance(resistive_device, DeviceModel):
        return
    if isinstance(resistive_device, type) and issubclass(resistive_device, DeviceModel):
        name = resistive_device.__name__
        raise TypeError(
            f"resistive_device must be a device instance such as {name}(); got the class "
            f"{name} itself"
        )
    raise TypeError(
        "resistive_device must be None (floating point) or a device model instance such as "
        f"ConstantStepResistiveDevice(); got {type(resistive_device).__name__}"
    )


def check_rpu_config(rpu_config: Any, resistive_device: Any, update: Any) -> None:
    """Raise unless ``rpu_config`` is a ``TileConfig`` given without ``resistive_device``
    and ``update`` (it holds both)."""
    if not isinstance(rpu_config, TileConfig):
        raise TypeError(
            "rpu_config must be a TileConfig such as aihw.devices.SingleRPUConfig(); "
            f"got {type(rpu_config).__name__}"
        )
    given = [n for n, v in (("resistive_device", resistive_device), ("update", update))
             if v is not None]  # fmt: skip
    if given:
        raise ValueError(
            f"give either rpu_config= or {'/'.join(given)}=, not both: rpu_config "
            "already holds the device and the update parameters"
        )


def check_positive_int(name: str, value: Any) -> None:
    """Raise unless ``value`` is an integer ``>= 1`` (``TypeError`` for a non-integer)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive integer; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value}")


def check_bool(name: str, value: Any) -> None:
    """Raise ``TypeError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}")


def check_float_dtype(dtype: torch.dtype | None) -> None:
    """Raise ``TypeError`` unless ``dtype`` is ``None`` or a floating-point dtype."""
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype or None; got {dtype!r}")


def resolve_mapping(
    mapping: MappingParameters | None,
    max_input_size: int | None = None,
    max_output_size: int | None = None,
    rpu_config: Any = None,
) -> MappingParameters:
    """A copy of ``mapping`` with the size overrides applied.

    Without ``mapping``, the mapping of ``rpu_config`` (a ``TileConfig``), else the
    defaults. With both, ``mapping`` is used while ``rpu_config.mapping`` is the default;
    two different non-default mappings are refused (``ValueError``).
    """
    if mapping is not None and not isinstance(mapping, MappingParameters):
        raise TypeError(f"mapping must be MappingParameters or None; got {type(mapping).__name__}")
    configured = rpu_config.mapping if isinstance(rpu_config, TileConfig) else None
    if configured is not None and not isinstance(configured, MappingParameters):
        raise TypeError(
            f"rpu_config.mapping must be MappingParameters; got {type(configured).__name__}"
        )
    if mapping is None:
        mapping = MappingParameters() if configured is None else configured
    elif configured is not None and configured != mapping and configured != MappingParameters():
        given, config = mapping.as_dict(), configured.as_dict()
        fields = ", ".join(
            f"{name}: {given[name]!r} vs {config[name]!r}"
            for name in given
            if given[name] != config[name]
        )
        raise ValueError(
            f"mapping= and rpu_config.mapping differ ({fields}); give the mapping once: set "
            "rpu_config.mapping, or leave it at its default and pass mapping="
        )
    return dataclasses.replace(  # validates
        mapping,
        max_input_size=mapping.max_input_size if max_input_size is None else max_input_size,
        max_output_size=mapping.max_output_size if max_output_size is None else max_output_size,
    )

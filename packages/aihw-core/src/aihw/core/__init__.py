"""aihw.core: the engine of aihw, tiles, update parameters and the device-model protocol.

The compiled engine (``aihw.core._core``) is imported lazily, on the first pulsed update
that uses it, so this package imports (and falls back to the plain-torch reference)
even where the engine is missing; :func:`native_available` says which is the case.
"""

from __future__ import annotations

from .config import TileConfig
from .device_model import DeviceModel
from .engine import cuda_available, native_available
from .grid import TileGrid
from .io_parameters import (
    AnalogMVType,
    BoundManagementType,
    IOParameters,
    NoiseManagementType,
    WeightNoiseType,
)
from .io_parameters_irdrop import IOParametersIRDropT
from .missing import install as _install_missing_part_finder
from .parameters import PulseType, UpdateParameters
from .runtime import RPUDataType, RuntimeParameter, RuntimeParameters
from .tiles import AnalogTile, FloatingPointTile, InferenceTile, create_tile

__all__ = [
    "UpdateParameters",
    "PulseType",
    "IOParameters",
    "IOParametersIRDropT",
    "NoiseManagementType",
    "BoundManagementType",
    "WeightNoiseType",
    "AnalogMVType",
    "TileConfig",
    "RPUDataType",
    "RuntimeParameter",
    "RuntimeParameters",
    "InferenceTile",
    "DeviceModel",
    "FloatingPointTile",
    "AnalogTile",
    "create_tile",
    "TileGrid",
    "native_available",
    "cuda_available",
    "__version__",
]

__version__ = "0.1.0"

_install_missing_part_finder()  # names aihw-torch & co. when they are not installed

"""Inference on programmed devices: noise models, conductance converters, drift
compensation and the programmed state of a tile; hardware-aware training: weight
clipping, remapping and modifiers (``aihw.core.inference``)."""

from __future__ import annotations

from .._checks import check_seed
from ._checks import check_real, check_reals, invalid
from .clip import WeightClipParameter, WeightClipType
from .compensation import (
    COMPENSATIONS,
    DriftCompensation,
    GlobalDriftCompensation,
    PerColumnDriftCompensation,
)
from .compensation_exact import GlobalDriftCompensationWithExactReference
from .converters import (
    CONVERTERS,
    ConductanceConverter,
    DualPairConductanceConverter,
    SinglePairConductanceConverter,
)
from .converters_npair import (
    CustomPairConductanceConverter,
    NotInvertibleError,
    NPairConductanceConverter,
)
from .converters_single import SingleDeviceConductanceConverter
from .hwa import HWAState
from .modifiers import WeightModifierParameter, WeightModifierType, modify_weights
from .noise_model import NOISE_MODEL_API_VERSIONS, NoiseModel
from .programming import InferenceState, Programmed, check_t_inference
from .remap import WeightRemapParameter, WeightRemapType

__all__ = [
    "COMPENSATIONS",
    "CONVERTERS",
    "NOISE_MODEL_API_VERSIONS",
    "ConductanceConverter",
    "CustomPairConductanceConverter",
    "DriftCompensation",
    "DualPairConductanceConverter",
    "GlobalDriftCompensation",
    "GlobalDriftCompensationWithExactReference",
    "HWAState",
    "InferenceState",
    "NPairConductanceConverter",
    "NotInvertibleError",
    "NoiseModel",
    "PerColumnDriftCompensation",
    "Programmed",
    "SingleDeviceConductanceConverter",
    "SinglePairConductanceConverter",
    "WeightClipParameter",
    "WeightClipType",
    "WeightModifierParameter",
    "WeightModifierType",
    "WeightRemapParameter",
    "WeightRemapType",
    "check_real",
    "check_reals",
    "check_seed",
    "check_t_inference",
    "invalid",
    "modify_weights",
]

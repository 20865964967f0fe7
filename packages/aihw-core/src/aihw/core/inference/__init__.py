"""Inference on programmed devices: noise models, conductance converters, drift
compensation and the programmed state of a tile (``aihw.core.inference``)."""

from __future__ import annotations

from .._checks import check_seed
from ._checks import check_real, check_reals, invalid
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
from .noise_model import NOISE_MODEL_API_VERSIONS, NoiseModel
from .programming import InferenceState, Programmed, check_t_inference

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
    "InferenceState",
    "NPairConductanceConverter",
    "NotInvertibleError",
    "NoiseModel",
    "PerColumnDriftCompensation",
    "Programmed",
    "SinglePairConductanceConverter",
    "check_real",
    "check_reals",
    "check_seed",
    "check_t_inference",
    "invalid",
]

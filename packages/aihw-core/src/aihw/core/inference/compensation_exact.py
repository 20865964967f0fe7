"""Global drift compensation whose baseline is the exact read-out of the reference
weights, not a noisy forward pass of the programmed ones."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from .compensation import COMPENSATIONS, GlobalDriftCompensation

__all__ = ["GlobalDriftCompensationWithExactReference"]


@dataclasses.dataclass
class GlobalDriftCompensationWithExactReference(GlobalDriftCompensation):
    """One factor per tile, like :class:`GlobalDriftCompensation`, but the baseline is
    ``max(mean |I W_ref^T|, 1e-4)``: the mean absolute weight (bias column included) that
    was meant to be programmed. The factor after a drift,
    ``baseline / max(mean |F_t(I)|, 1e-4)``, then also undoes the programming error of the
    mean and the periphery's systematic gain, not only the drift since programming."""

    name: ClassVar[str] = "GlobalDriftCompensationWithExactReference"
    exact_reference: ClassVar[bool] = True


COMPENSATIONS[GlobalDriftCompensationWithExactReference.name] = (
    GlobalDriftCompensationWithExactReference
)

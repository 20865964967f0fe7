"""A conductance converter with one device per weight (bidirectional devices such as
filamentary ReRAM), docs/physics/inference.md#conductance-converters."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from torch import Tensor

from .converters import CONVERTERS, ConductanceConverter

__all__ = ["SingleDeviceConductanceConverter"]


@dataclasses.dataclass
class SingleDeviceConductanceConverter(ConductanceConverter):
    """One device per weight, its conductance range ``[g_min, g_max]`` spanning
    ``[-max|W|, max|W|]``: ``g = g_mid + s W`` with ``g_mid = (g_max + g_min) / 2`` and
    ``s = (g_max - g_min) / (2 max|W|)``, ``W = (g - g_mid) / s``.

    The defaults are the CMO/HfOx ReRAM range of the reference toolkit (88.2 and 9 µS).
    """

    name: ClassVar[str] = "SingleDeviceConductanceConverter"
    g_max: float = 88.2
    g_min: float = 9.0

    @property
    def n_conductances(self) -> int:
        return 1

    @property
    def g_mid(self) -> float:
        """The conductance of a zero weight."""
        return 0.5 * (self.g_max + self.g_min)

    def to_conductances(self, weights: Tensor) -> tuple[list[Tensor], Tensor]:
        half_span = 0.5 * (self.g_max - self.g_min)
        scale = self._scale(weights, half_span)
        g = (weights * scale).clamp(-half_span, half_span) + self.g_mid
        return [g], scale

    def to_weights(self, conductances: list[Tensor], scale: Tensor) -> Tensor:
        if len(conductances) != 1:
            raise ValueError(f"{self.name} takes 1 conductance matrix; got {len(conductances)}")
        return (conductances[0] - self.g_mid) / scale


CONVERTERS[SingleDeviceConductanceConverter.name] = SingleDeviceConductanceConverter

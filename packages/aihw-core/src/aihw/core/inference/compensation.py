"""Drift compensation: a digital factor on a tile's outputs that undoes the mean drift.

After programming, a tile reads out the identity matrix through its (noisy) forward pass
and keeps a baseline of the mean absolute output; after each drift it reads out again and
multiplies its outputs, in eval mode only, by ``baseline / now``. The global variant has
one factor per tile, the per-column variant one per output.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from torch import Tensor

__all__ = [
    "COMPENSATIONS",
    "DriftCompensation",
    "GlobalDriftCompensation",
    "PerColumnDriftCompensation",
    "compensation_from_state",
    "compensation_state",
]

#: The smallest mean read-out a baseline or a factor divides by.
_FLOOR = 1e-4


@dataclasses.dataclass
class DriftCompensation:
    """Base of the compensations: ``reduce`` turns a read-out ``[in, out]`` (the
    outputs for each unit input) into the quantity whose ratio is the factor."""

    name: ClassVar[str] = ""
    #: Whether the baseline is read from the exact reference weights (``I W_ref^T``)
    #: instead of the tile's noisy forward pass of the programmed weights.
    exact_reference: ClassVar[bool] = False

    def reduce(self, readout: Tensor) -> Tensor:
        raise NotImplementedError

    def baseline(self, readout: Tensor) -> Tensor:
        """The reference read-out after programming."""
        return self.reduce(readout).clamp(min=_FLOOR)

    def factor(self, baseline: Tensor, readout: Tensor) -> Tensor:
        """The output factor ``baseline / now`` (a scalar or one per output)."""
        return baseline / self.reduce(readout).clamp(min=_FLOOR)


@dataclasses.dataclass
class GlobalDriftCompensation(DriftCompensation):
    """One factor per tile: the mean of ``|read-out|`` over all inputs and outputs."""

    name: ClassVar[str] = "GlobalDriftCompensation"

    def reduce(self, readout: Tensor) -> Tensor:
        return readout.abs().mean()


@dataclasses.dataclass
class PerColumnDriftCompensation(DriftCompensation):
    """One factor per output: the mean of ``|read-out|`` over the inputs."""

    name: ClassVar[str] = "PerColumnDriftCompensation"

    def reduce(self, readout: Tensor) -> Tensor:
        return readout.abs().mean(dim=0)


#: The compensations by name (what checkpoints record).
COMPENSATIONS: dict[str, type[DriftCompensation]] = {
    cls.name: cls for cls in (GlobalDriftCompensation, PerColumnDriftCompensation)
}


def compensation_state(compensation: DriftCompensation) -> dict[str, Any]:
    """``{"name", "params"}`` of ``compensation`` as plain data."""
    params = {f.name: getattr(compensation, f.name) for f in dataclasses.fields(compensation)}
    return {"name": type(compensation).name, "params": params}


def compensation_from_state(data: Any) -> DriftCompensation:
    """The compensation :func:`compensation_state` described (``ValueError`` otherwise)."""
    if not isinstance(data, dict) or set(data) != {"name", "params"}:
        raise ValueError("a drift compensation state must be a dict with keys ['name', 'params']")
    cls = COMPENSATIONS.get(data["name"])
    if cls is None:
        raise ValueError(
            f"unknown drift compensation {data['name']!r}; known: {', '.join(COMPENSATIONS)}"
        )
    if not isinstance(data["params"], dict):
        raise ValueError(f"the parameters of {data['name']!r} must be a dict")
    try:
        return cls(**data["params"])
    except TypeError as error:
        raise ValueError(f"{cls.name}: {error}") from error

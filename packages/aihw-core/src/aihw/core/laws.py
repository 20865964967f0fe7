"""Step laws: the per-pulse rules the engine executes (docs/architecture/engine-contract.md §4).

A law is named once here with the per-cross-point arrays and the scalars it reads, and
has a plain-torch step used by :mod:`aihw.core.reference`. The native engine knows each
law by its ``engine_id``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import torch

__all__ = ["StepLaw", "get_law", "LAWS"]

#: A reference step: ``(w, up, arrays, scalars, xi) -> new w`` on the selected cross-points.
#: ``up`` is a bool tensor (True: UP pulse); ``xi`` the float32 normals, or ``None`` when
#: the law draws no noise for these scalars.
ReferenceStep = Callable[
    [torch.Tensor, torch.Tensor, Mapping[str, torch.Tensor], Mapping[str, float], "torch.Tensor | None"],
    torch.Tensor,
]


@dataclasses.dataclass(frozen=True)
class StepLaw:
    """A step law: its name, its engine id and what it reads."""

    name: str
    engine_id: int
    arrays: tuple[str, ...]
    scalars: tuple[str, ...]
    reference_step: ReferenceStep
    noise_scalar: str
    """The scalar whose value 0 means the law draws no normal per pulse."""


def _constant_step(w, up, arrays, scalars, xi):
    sigma = scalars["dw_min_std"]
    step = torch.where(up, arrays["dw_up"], -arrays["dw_down"])
    if xi is not None:
        factor = 1.0 + torch.tensor(sigma, dtype=torch.float32) * xi
        step = step * factor
    w = w + step
    return torch.minimum(torch.maximum(w, arrays["w_min"]), arrays["w_max"])


LAWS: dict[str, StepLaw] = {
    law.name: law
    for law in (
        StepLaw(
            name="constant_step",
            engine_id=1,
            arrays=("dw_up", "dw_down", "w_min", "w_max"),
            scalars=("dw_min_std",),
            reference_step=_constant_step,
            noise_scalar="dw_min_std",
        ),
    )
}


def get_law(name: str) -> StepLaw:
    """Return the step law called ``name``; ``ValueError`` lists the known laws otherwise."""
    try:
        return LAWS[name]
    except KeyError:
        known = ", ".join(sorted(LAWS))
        raise ValueError(f"step law {name!r} is unknown; known laws: {known}") from None

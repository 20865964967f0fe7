"""Programming a tile's weights onto noisy devices and reading them after drift.

:class:`InferenceState` is what an :class:`~aihw.core.tiles.InferenceTile` keeps besides
its weights: the noise model and drift compensation, the noise seed and the call counters
of the streams (:mod:`aihw.core.inference.draws`), and once programmed the reference
weights, the programmed conductances, their drift exponents, the converter's scale, the
compensation's baseline and factor.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import torch
from torch import Tensor

from .. import dispatch
from . import draws
from .compensation import DriftCompensation
from .noise_model import NoiseModel

__all__ = ["InferenceState", "Programmed", "check_t_inference"]


@dataclasses.dataclass
class Programmed:
    """The programmed state of a tile (tensors on the tile's device).

    Attributes:
        reference: ``[out, x]`` the weights that were programmed (what reprogramming uses).
        conductances: ``[k, out, x]`` the programmed conductances, in microsiemens.
        nu: ``[k, out, x]`` their drift exponents.
        scale: 0-d, the converter's weight-to-conductance scale.
        baseline: the compensation's read-out after programming, or ``None``.
        alpha: the compensation factor of the last drift, or ``None`` (none yet).
        t_inference: the time of the last drift, or ``None``.
    """

    reference: Tensor
    conductances: Tensor
    nu: Tensor
    scale: Tensor
    baseline: Tensor | None = None
    alpha: Tensor | None = None
    t_inference: float | None = None

    def tensors(self) -> dict[str, Tensor | None]:
        return {
            "reference": self.reference,
            "conductances": self.conductances,
            "nu": self.nu,
            "scale": self.scale,
            "baseline": self.baseline,
            "alpha": self.alpha,
        }

    def to(self, device: torch.device) -> Programmed:
        moved = {k: None if v is None else v.to(device) for k, v in self.tensors().items()}
        return Programmed(**moved, t_inference=self.t_inference)  # type: ignore[arg-type]


def check_t_inference(t_inference: Any) -> float:
    """``t_inference`` as a float, or ``ValueError`` naming it and what is allowed."""
    if (
        isinstance(t_inference, bool)
        or not isinstance(t_inference, numbers.Real)
        or not math.isfinite(t_inference)
        or t_inference < 0
    ):
        raise ValueError(
            f"t_inference={t_inference!r} is invalid; allowed: a finite number of seconds "
            ">= 0 (the time since programming)"
        )
    return float(t_inference)


@dataclasses.dataclass
class InferenceState:
    """A tile's noise model, compensation, streams and programmed state."""

    noise_model: NoiseModel | None
    drift_compensation: DriftCompensation | None
    noise_seed: int
    program_index: int = 0
    drift_index: int = 0
    programmed: Programmed | None = None

    def program(
        self, weights: Tensor, implementation: dispatch.EngineName | None = None
    ) -> tuple[Tensor, Programmed]:
        """The programmed weights of ``weights`` (the reference) and the new state; the
        normals drawn by ``implementation`` (the tile's engine; default: as
        :func:`draws.normals`)."""
        model = self.noise_model
        if model is None:
            raise RuntimeError(
                "this tile has no noise model: build it with "
                "InferenceRPUConfig(noise_model=...) to program its weights"
            )
        reference = weights.detach().clone()
        targets, scale = model.g_converter.to_conductances(reference)
        device = reference.device
        shape = tuple(reference.shape)
        programmed, nus = [], []
        for k, g in enumerate(targets):
            z = draws.normals(self.noise_seed, draws.PROGRAMMING, self.program_index, k, shape,
                              device, implementation)  # fmt: skip
            programmed.append(model.apply_programming_noise_to_conductance(g, z))
            z = draws.normals(self.noise_seed, draws.DRIFT_COEFFICIENTS, self.program_index, k,
                              shape, device, implementation)  # fmt: skip
            nus.append(model.generate_drift_coefficients(g, z))
        new = model.g_converter.to_weights(programmed, scale).to(torch.float32)
        state = Programmed(
            reference=reference,
            conductances=torch.stack(programmed).to(torch.float32),
            nu=torch.stack(nus).to(torch.float32),
            scale=scale.detach().to(device=device, dtype=torch.float32),
        )
        return new, state

    def drift(
        self, t_inference: float, implementation: dispatch.EngineName | None = None
    ) -> Tensor:
        """The weights read ``t_inference`` seconds after programming (new read noise,
        drawn by ``implementation`` as in :meth:`program`)."""
        model, state = self.noise_model, self.programmed
        assert model is not None and state is not None
        shape = tuple(state.reference.shape)
        read = []
        device = state.reference.device
        purposes = (draws.READ_NOISE, draws.READ_NOISE_SECOND)[: model.read_normals]
        for k in range(state.conductances.shape[0]):
            zs = [draws.normals(self.noise_seed, p, self.drift_index, k, shape, device,
                                implementation) for p in purposes]  # fmt: skip
            z = zs[0] if len(zs) == 1 else torch.stack(zs)
            read.append(
                model.apply_drift_noise_to_conductance(
                    state.conductances[k], state.nu[k], t_inference, z
                )
            )
        return model.g_converter.to_weights(read, state.scale).to(torch.float32)

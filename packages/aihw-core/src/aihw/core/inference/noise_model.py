"""The noise-model protocol: programming noise, drift and read noise of inference devices.

A noise model is a dataclass whose fields are its parameters (plain numbers, lists and a
:class:`~aihw.core.inference.converters.ConductanceConverter` in ``g_converter``). It
works on conductances in microsiemens, one matrix at a time, with standard normals handed
to it by the tile (drawn from the tile's counter-based streams, so a plugin need not know
about random numbers):

- :meth:`NoiseModel.apply_programming_noise_to_conductance`: target -> programmed;
- :meth:`NoiseModel.generate_drift_coefficients`: target -> drift exponents ``nu``;
- :meth:`NoiseModel.apply_drift_noise_to_conductance`: programmed, ``nu``, time -> read.

Third-party models are registered with the ``register_noise_models`` hook of
:mod:`aihw.devices` and recorded in checkpoints by :attr:`NoiseModel.name` and fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from torch import Tensor

from ._checks import invalid
from .converters import ConductanceConverter, SinglePairConductanceConverter

__all__ = ["NOISE_MODEL_API_VERSIONS", "NoiseModel"]

#: Noise-model API versions this aihw-core understands.
NOISE_MODEL_API_VERSIONS = (1,)


@dataclasses.dataclass
class NoiseModel:
    """Base class of the noise models, built-in and third-party.

    Subclasses are dataclasses that set :attr:`name` and implement the three methods;
    :meth:`validate` (called on construction) checks the fields and raises
    ``ValueError("<Class>.<field>=<value> is invalid; allowed: ...")``.

    Args:
        g_converter: how weights become conductances (default: one pair per weight,
            ``g_max = 25`` microsiemens).
    """

    name: ClassVar[str] = ""
    """The registry name, e.g. ``"PCMLikeNoiseModel"``."""
    api_version: ClassVar[int] = 1
    read_normals: ClassVar[int] = 1
    """Standard normals per device a read draws: 1 (``z`` has the conductances' shape) or 2
    (``z`` is ``[2, *shape]``: two independent effects, e.g. relaxation and read noise)."""

    g_converter: ConductanceConverter = dataclasses.field(
        default_factory=SinglePairConductanceConverter
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the fields (subclasses extend it)."""
        if not isinstance(self.g_converter, ConductanceConverter):
            invalid(self, "g_converter", self.g_converter, "a ConductanceConverter instance")

    def apply_programming_noise_to_conductance(self, g_target: Tensor, z: Tensor) -> Tensor:
        """The programmed conductances of targets ``g_target`` (``z``: standard normals of
        the same shape)."""
        raise NotImplementedError

    def generate_drift_coefficients(self, g_target: Tensor, z: Tensor) -> Tensor:
        """The drift exponents ``nu`` of devices programmed to ``g_target``."""
        raise NotImplementedError

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, nu: Tensor, t_inference: float, z: Tensor
    ) -> Tensor:
        """The conductances read ``t_inference`` seconds after programming: drift and read
        noise applied to the programmed ``g_prog`` (``z``: see :attr:`read_normals`)."""
        raise NotImplementedError

    def parameters(self) -> dict[str, Any]:
        """The fields other than ``g_converter``, as stored in checkpoints."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "g_converter"
        }

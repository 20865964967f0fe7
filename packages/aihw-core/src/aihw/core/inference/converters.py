"""Conductance converters: a tile's weights as the conductances of device pairs and back.

A converter maps a weight matrix to a list of conductance matrices (in microsiemens) and a
scale, and maps (noisy) conductances back to weights with the same scale. Converters are
plain dataclasses, stored in checkpoints by :attr:`ConductanceConverter.name` and fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import Tensor

from ._checks import check_real, check_reals, invalid

__all__ = [
    "CONVERTERS",
    "ConductanceConverter",
    "DualPairConductanceConverter",
    "ZERO_CLIP",
    "SinglePairConductanceConverter",
    "converter_from_state",
    "converter_state",
]

#: The smallest ``max|W|`` a scale is computed from (an all-zero matrix maps to 0 S).
ZERO_CLIP = 1e-7


@dataclasses.dataclass
class ConductanceConverter:
    """Base of the converters: ``g_max`` and ``g_min`` in microsiemens, ``0 <= g_min < g_max``."""

    name: ClassVar[str] = ""
    g_max: float = 25.0
    g_min: float = 0.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field, its value and what is allowed."""
        check_real(self, "g_max", 0.0, strict=True)
        g_min = check_real(self, "g_min", 0.0)
        if g_min >= self.g_max:
            invalid(self, "g_min", self.g_min, f"a number < g_max={self.g_max!r}")

    @property
    def n_conductances(self) -> int:
        """How many conductance matrices a weight matrix becomes."""
        raise NotImplementedError

    def to_conductances(self, weights: Tensor) -> tuple[list[Tensor], Tensor]:
        """``(conductances, scale)``: the conductance matrices and the weight-to-conductance
        scale (a 0-d tensor) of ``weights``."""
        raise NotImplementedError

    def to_weights(self, conductances: list[Tensor], scale: Tensor) -> Tensor:
        """The weights that ``conductances`` hold at ``scale`` (the inverse of
        :meth:`to_conductances` on noise-free conductances)."""
        raise NotImplementedError

    def _scale(self, weights: Tensor, span: float) -> Tensor:
        peak = weights.detach().abs().max().clamp(min=ZERO_CLIP)
        return (span / peak).to(torch.float32)


@dataclasses.dataclass
class SinglePairConductanceConverter(ConductanceConverter):
    """One pair per weight: ``g+`` holds the positive part, ``g-`` the negative part
    (the other device of the pair at ``g_min``). ``max|W|`` maps to ``g_max``:
    ``scale = (g_max - g_min) / max|W|``, ``W = (g+ - g-) / scale``."""

    name: ClassVar[str] = "SinglePairConductanceConverter"

    @property
    def n_conductances(self) -> int:
        return 2

    def to_conductances(self, weights: Tensor) -> tuple[list[Tensor], Tensor]:
        span = self.g_max - self.g_min
        scale = self._scale(weights, span)
        scaled = weights * scale
        plus = scaled.clamp(0.0, span) + self.g_min
        minus = (-scaled).clamp(0.0, span) + self.g_min
        return [plus, minus], scale

    def to_weights(self, conductances: list[Tensor], scale: Tensor) -> Tensor:
        if len(conductances) != 2:
            raise ValueError(f"{self.name} takes 2 conductance matrices; got {len(conductances)}")
        return (conductances[0] - conductances[1]) / scale


@dataclasses.dataclass
class DualPairConductanceConverter(ConductanceConverter):
    """Two pairs per weight with significance factors ``f_lst = (f0, f1)``:
    ``W = (f0 (g0+ - g0-) + f1 (g1+ - g1-)) / scale``.

    Both pairs are programmed to the same conductance (each carries its significance's
    share of the weight), so their independent noise partly averages out; ``max|W|``
    maps to ``g_max`` on every device: ``scale = (g_max - g_min) (f0 + f1) / max|W|``.
    """

    name: ClassVar[str] = "DualPairConductanceConverter"
    f_lst: tuple[float, ...] = (1.0, 1.0)

    def validate(self) -> None:
        super().validate()
        factors = check_reals(self, "f_lst", 2)
        if min(factors) <= 0:
            invalid(self, "f_lst", self.f_lst, "two numbers > 0")
        self.f_lst = factors

    @property
    def n_conductances(self) -> int:
        return 4

    def to_conductances(self, weights: Tensor) -> tuple[list[Tensor], Tensor]:
        span = self.g_max - self.g_min
        total = sum(self.f_lst)
        scale = self._scale(weights, span * total)
        share = weights * scale / total  # each pair's conductance difference
        plus = share.clamp(0.0, span) + self.g_min
        minus = (-share).clamp(0.0, span) + self.g_min
        return [plus, minus, plus.clone(), minus.clone()], scale

    def to_weights(self, conductances: list[Tensor], scale: Tensor) -> Tensor:
        if len(conductances) != 4:
            raise ValueError(f"{self.name} takes 4 conductance matrices; got {len(conductances)}")
        f0, f1 = self.f_lst
        g = conductances
        return (f0 * (g[0] - g[1]) + f1 * (g[2] - g[3])) / scale


#: The converters by name (what checkpoints record).
CONVERTERS: dict[str, type[ConductanceConverter]] = {
    cls.name: cls for cls in (SinglePairConductanceConverter, DualPairConductanceConverter)
}


def converter_state(converter: ConductanceConverter) -> dict[str, Any]:
    """``{"name", "params"}`` of ``converter`` as plain data."""
    params = {f.name: _plain(getattr(converter, f.name)) for f in dataclasses.fields(converter)}
    return {"name": type(converter).name, "params": params}


def _plain(value: Any) -> Any:
    """Tuples (nested ones too) as lists: checkpoints hold plain data."""
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def converter_from_state(data: Any) -> ConductanceConverter:
    """The converter :func:`converter_state` described (``ValueError`` if it does not fit)."""
    if not isinstance(data, dict) or set(data) != {"name", "params"}:
        raise ValueError("a converter state must be a dict with keys ['name', 'params']")
    cls = CONVERTERS.get(data["name"])
    if cls is None:
        raise ValueError(
            f"unknown conductance converter {data['name']!r}; known: {', '.join(CONVERTERS)}"
        )
    params = data["params"]
    if not isinstance(params, dict):
        raise ValueError(f"the parameters of converter {data['name']!r} must be a dict")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{cls.name} has no field(s) {', '.join(unknown)}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return cls(**values)

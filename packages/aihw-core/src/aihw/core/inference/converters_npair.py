"""Conductance converters with several device pairs per weight: ``N`` pairs filled in
order of significance (:class:`NPairConductanceConverter`), and user-given conductance
levels (:class:`CustomPairConductanceConverter`). docs/physics/inference.md states the
choices."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from ._checks import check_reals, invalid
from .converters import CONVERTERS, ConductanceConverter

__all__ = [
    "CustomPairConductanceConverter",
    "NPairConductanceConverter",
    "NotInvertibleError",
]


class NotInvertibleError(ValueError, ArithmeticError):
    """Custom conductance levels that do not map weights back to themselves (a
    ``ValueError``; an ``ArithmeticError`` too, as the reference toolkit raises)."""


def _check_factors(owner: Any) -> tuple[float, ...]:
    factors = check_reals(owner, "f_lst")
    if min(factors) <= 0:
        invalid(owner, "f_lst", owner.f_lst, "a list of one or more finite numbers > 0")
    return factors


def _pair_sum(factors: Sequence[float], conductances: list[Tensor], owner: str) -> Tensor:
    """``sum_k f_k (g+_k - g-_k)``: the weight, in microsiemens, that pairs carry."""
    if len(conductances) != 2 * len(factors):
        raise ValueError(
            f"{owner} takes {2 * len(factors)} conductance matrices; got {len(conductances)}"
        )
    total = torch.zeros_like(conductances[0])
    for k, f in enumerate(factors):
        total = total + f * (conductances[2 * k] - conductances[2 * k + 1])
    return total


@dataclasses.dataclass(init=False)
class NPairConductanceConverter(ConductanceConverter):
    """``N = len(f_lst)`` pairs per weight, with significance factors ``f_lst`` from the
    least to the most significant: ``W = sum_k f_k (g+_k - g-_k) / scale``.

    ``max|W|`` puts every device of its sign at ``g_max``:
    ``scale = (g_max - g_min) sum_k f_k / max|W|``. A weight fills the pairs in order: pair
    ``k`` holds what the pairs before it cannot, up to its range
    ``f_k (g_max - g_min)``; the other device of each pair stays at ``g_min``. So small
    weights sit on the first pair only and its noise is not amplified by the larger
    factors.

    Args:
        f_lst: the significance factors, each ``> 0`` (default: two equal pairs).
        g_max, g_min: the conductance range in microsiemens, ``0 <= g_min < g_max``.
    """

    name: ClassVar[str] = "NPairConductanceConverter"
    f_lst: tuple[float, ...] = (1.0, 1.0)

    def __init__(
        self, f_lst: Sequence[float] = (1.0, 1.0), g_max: float = 25.0, g_min: float = 0.0
    ) -> None:
        self.f_lst = f_lst  # type: ignore[assignment]  # validate makes it a tuple
        self.g_max = g_max
        self.g_min = g_min
        self.__post_init__()

    def validate(self) -> None:
        super().validate()
        self.f_lst = _check_factors(self)

    @property
    def n_conductances(self) -> int:
        return 2 * len(self.f_lst)

    def to_conductances(self, weights: Tensor) -> tuple[list[Tensor], Tensor]:
        span = self.g_max - self.g_min
        scale = self._scale(weights, span * sum(self.f_lst))
        scaled = weights * scale  # the weight in microsiemens of pair-sum
        positive, negative = scaled.clamp(min=0.0), (-scaled).clamp(min=0.0)
        conductances: list[Tensor] = []
        below = 0.0  # what the less significant pairs hold when full
        for f in self.f_lst:
            for part in (positive, negative):
                conductances.append(((part - below) / f).clamp(0.0, span) + self.g_min)
            below += f * span
        return conductances, scale

    def to_weights(self, conductances: list[Tensor], scale: Tensor) -> Tensor:
        return _pair_sum(self.f_lst, conductances, self.name) / scale


@dataclasses.dataclass(init=False)
class CustomPairConductanceConverter(ConductanceConverter):
    """Pairs programmed to user-given conductance levels.

    ``g_lst`` holds ``2 N`` lists of ``L`` conductances (microsiemens): ``g+`` and ``g-``
    of each pair, in the order of ``f_lst``. Level ``i`` stands for the weight
    ``w_i = sum_k f_k (g+_k[i] - g-_k[i])``; the levels span ``[-m, m]`` with
    ``m = max_i |w_i|``, and ``scale = m / max|W|``. A weight ``W`` is placed on the
    evenly spaced grid ``linspace(-m, m, L) / scale`` and each device's conductance is
    interpolated linearly between the two nearest levels (held at the ends).

    With ``invertibility_test`` (the default) the levels must be that grid:
    ``|w_i - linspace(-m, m, L)[i]| <= 1e-4 m``, so that converting back gives the weight
    again; otherwise ``NotInvertibleError``. Without it, the conversion distorts
    the weights as the levels say (a deliberately non-linear programming scheme).

    Args:
        f_lst: the significance factors of the ``N`` pairs, each ``> 0``.
        g_lst: ``2 N`` lists of the same length ``L >= 2``, conductances ``>= 0``.
        g_max, g_min: as for the other converters (the noise models read ``g_max``).
        invertibility_test: check the levels on construction.
    """

    name: ClassVar[str] = "CustomPairConductanceConverter"
    f_lst: tuple[float, ...] = ()
    g_lst: tuple[tuple[float, ...], ...] = ()
    invertibility_test: bool = True

    def __init__(
        self,
        f_lst: Sequence[float],
        g_lst: Sequence[Sequence[float]],
        g_max: float = 25.0,
        g_min: float = 0.0,
        invertibility_test: bool = True,
    ) -> None:
        self.f_lst = f_lst  # type: ignore[assignment]  # validate makes them tuples
        self.g_lst = g_lst  # type: ignore[assignment]
        self.g_max = g_max
        self.g_min = g_min
        self.invertibility_test = invertibility_test
        self.__post_init__()

    def validate(self) -> None:
        super().validate()
        factors = _check_factors(self)
        if not isinstance(self.invertibility_test, bool):
            invalid(self, "invertibility_test", self.invertibility_test, "True or False")
        lists = self.g_lst
        allowed = (
            f"{2 * len(factors)} lists (g+ and g- of each of the {len(factors)} pairs of "
            "f_lst) of the same length >= 2, of finite conductances >= 0"
        )
        if not isinstance(lists, Sequence) or isinstance(lists, str):
            invalid(self, "g_lst", lists, allowed)
        rows: list[tuple[float, ...]] = []
        for row in lists:
            ok = isinstance(row, Sequence) and not isinstance(row, str) and len(row) >= 2
            ok = ok and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")
                for v in row
            )
            if not ok:
                invalid(self, "g_lst", lists, allowed)
            rows.append(tuple(float(v) for v in row))
        if len(rows) != 2 * len(factors) or len({len(r) for r in rows}) != 1:
            invalid(self, "g_lst", lists, allowed)
        self.f_lst, self.g_lst = factors, tuple(rows)
        if float(self._levels().abs().max()) <= 0:
            invalid(self, "g_lst", lists, "levels of which at least one stands for a weight != 0")
        if self.invertibility_test:
            self.check_invertibility()

    def _levels(self) -> Tensor:
        """``[L]`` float64: the weight each level stands for, in microsiemens."""
        g = [torch.tensor(row, dtype=torch.float64) for row in self.g_lst]
        return _pair_sum(self.f_lst, g, self.name)

    def check_invertibility(self) -> None:
        """Raise ``NotInvertibleError`` unless the levels are evenly spaced from
        ``-m`` to ``m`` (what makes converting back exact)."""
        levels = self._levels()
        peak = float(levels.abs().max())
        grid = torch.linspace(-peak, peak, len(levels), dtype=torch.float64)
        error = (levels - grid).abs()
        if float(error.max()) > 1e-4 * peak:
            i = int(error.argmax())
            raise NotInvertibleError(
                f"{self.name}.g_lst={[list(r) for r in self.g_lst]!r} is invalid; allowed: "
                "levels whose weights sum_k f_k (g+_k - g-_k) are evenly spaced from -m to m "
                f"(level {i} stands for {float(levels[i]):.6g}, the grid needs "
                f"{float(grid[i]):.6g}); pass invertibility_test=False to accept the distortion"
            )

    @property
    def n_conductances(self) -> int:
        return 2 * len(self.f_lst)

    def to_conductances(self, weights: Tensor) -> tuple[list[Tensor], Tensor]:
        peak = float(self._levels().abs().max())
        count = len(self.g_lst[0])
        scale = self._scale(weights, peak)
        # The weight's position on the level grid, in units of levels.
        position = ((weights.detach() * scale + peak) / (2 * peak) * (count - 1)).clamp(
            0.0, count - 1
        )
        low = position.floor().clamp(max=count - 2).to(torch.long)
        frac = (position - low).to(weights.dtype)
        conductances = []
        for row in self.g_lst:
            table = torch.tensor(row, dtype=weights.dtype, device=weights.device)
            conductances.append(table[low] * (1 - frac) + table[low + 1] * frac)
        return conductances, scale

    def to_weights(self, conductances: list[Tensor], scale: Tensor) -> Tensor:
        return _pair_sum(self.f_lst, conductances, self.name) / scale


CONVERTERS.update(
    {cls.name: cls for cls in (NPairConductanceConverter, CustomPairConductanceConverter)}
)

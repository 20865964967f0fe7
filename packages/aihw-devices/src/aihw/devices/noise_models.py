"""The built-in noise models of inference devices (docs/physics/inference.md).

- :class:`PCMLikeNoiseModel`: phase-change memory as measured by Nandakumar et al. and
  Joshi et al. (2020): programming noise polynomial in the conductance, drift exponents
  whose mean and spread depend on the conductance, 1/f read noise growing with time.
- :class:`CustomDriftPCMLikeNoiseModel`: the same with drift exponents interpolated from
  a user's table of conductances.
- :class:`StateIndependentNoiseModel`: noise and drift that do not depend on the
  conductance (a generic model for other devices and for studies).

All work in microsiemens; ``g_max`` is the converter's unless given.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor

from aihw.core.inference import NoiseModel, check_real, check_reals, invalid

__all__ = ["CustomDriftPCMLikeNoiseModel", "PCMLikeNoiseModel", "StateIndependentNoiseModel"]

#: The smallest relative conductance a logarithm is taken of.
_G_FLOOR = 1e-7


def _one_over_f(t: float, t_read: float) -> float:
    """The growth of 1/f read noise after ``t`` seconds read over ``t_read``."""
    return math.sqrt(math.log((t + t_read) / (2.0 * t_read)))


def _drift_factor(nu: Tensor, t_inference: float, t_0: float) -> Tensor | float:
    """``((t_inference + t_0) / t_0) ** -nu`` (1 at ``t_inference = 0``)."""
    t = t_inference + t_0
    if t <= t_0:
        return 1.0
    return torch.pow(torch.as_tensor(t / t_0, dtype=nu.dtype), -nu)


@dataclasses.dataclass
class _TimedModel(NoiseModel):
    """Fields shared by the models: times and the three noise scales."""

    g_max: float | None = None
    t_read: float = 250e-9
    t_0: float = 20.0
    prog_noise_scale: float = 1.0
    read_noise_scale: float = 1.0
    drift_scale: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.g_max is not None:
            check_real(self, "g_max", 0.0, strict=True)
        check_real(self, "t_read", 0.0, strict=True)
        check_real(self, "t_0", 0.0, strict=True)
        for name in ("prog_noise_scale", "read_noise_scale", "drift_scale"):
            check_real(self, name, 0.0)

    @property
    def resolved_g_max(self) -> float:
        """``g_max``, or the converter's when it is ``None``."""
        return float(self.g_converter.g_max if self.g_max is None else self.g_max)


@dataclasses.dataclass
class PCMLikeNoiseModel(_TimedModel):
    """Phase-change memory (PCM) programming noise, drift and read noise.

    For a target conductance ``g`` (``g_r = g / g_max``):

    - programmed: ``max(g + prog_noise_scale * s_p * z, 0)`` with
      ``s_p = (c0 + c1 g_r + c2 g_r^2) * g_max / prog_coeff_g_max_reference``;
    - drift exponent: ``nu = |m + s z| * drift_scale`` with
      ``m = clip(-0.0155 ln g_r + 0.0244, 0.049, 0.1)`` and
      ``s = clip(-0.0125 ln g_r - 0.0059, 0.008, 0.045)``;
    - read at ``t_inference``: ``g_d = g_p ((t_inference + t_0) / t_0) ** -nu`` and
      ``max(g_d + |g_d| read_noise_scale Q_s sqrt(ln((t + t_read) / (2 t_read))) z, 0)``
      with ``t = t_inference + t_0`` and
      ``Q_s = min(0.0088 / max((g_p / g_max) ** 0.65, 1e-3), 0.2)``.

    Args:
        prog_coeff: the programming-noise polynomial ``(c0, c1, c2, ...)`` in microsiemens,
            fitted at ``prog_coeff_g_max_reference``.
        prog_coeff_g_max_reference: the ``g_max`` the coefficients were fitted at.
        g_max: the conductance of ``max|W|`` (``None``: the converter's ``g_max``).
        t_read: the read duration in seconds (1/f noise).
        t_0: the time of the first read after programming, in seconds.
        prog_noise_scale, read_noise_scale, drift_scale: factors on each effect.
        g_converter: the conductance converter (default: one pair, 25 microsiemens).
    """

    name: ClassVar[str] = "PCMLikeNoiseModel"
    prog_coeff: tuple[float, ...] = (0.26348, 1.9650, -1.1731)
    prog_coeff_g_max_reference: float = 25.0

    def validate(self) -> None:
        super().validate()
        self.prog_coeff = check_reals(self, "prog_coeff")
        check_real(self, "prog_coeff_g_max_reference", 0.0, strict=True)

    def programming_std(self, g_target: Tensor) -> Tensor:
        """The programming-noise standard deviation at ``g_target`` (microsiemens)."""
        g_max = self.resolved_g_max
        g_r = g_target / g_max
        sigma = torch.zeros_like(g_r)
        for power, coefficient in enumerate(self.prog_coeff):
            sigma = sigma + coefficient * g_r**power
        return sigma * (g_max / self.prog_coeff_g_max_reference)

    def apply_programming_noise_to_conductance(self, g_target: Tensor, z: Tensor) -> Tensor:
        sigma = self.programming_std(g_target)
        return (g_target + self.prog_noise_scale * sigma * z).clamp(min=0.0)

    def drift_statistics(self, g_target: Tensor) -> tuple[Tensor, Tensor]:
        """The mean and spread of ``nu`` (before ``|.|`` and ``drift_scale``) at ``g_target``."""
        log_g = torch.log((g_target / self.resolved_g_max).abs().clamp(min=_G_FLOOR))
        mean = (-0.0155 * log_g + 0.0244).clamp(0.049, 0.1)
        std = (-0.0125 * log_g - 0.0059).clamp(0.008, 0.045)
        return mean, std

    def generate_drift_coefficients(self, g_target: Tensor, z: Tensor) -> Tensor:
        mean, std = self.drift_statistics(g_target)
        return (mean + std * z).abs() * self.drift_scale

    def read_noise_std(self, g_prog: Tensor, t_inference: float) -> Tensor:
        """The relative read-noise standard deviation ``Q_s * sqrt(ln(...))`` at ``t_inference``."""
        relative = (g_prog.abs() / self.resolved_g_max) ** 0.65
        q_s = (0.0088 / relative.clamp(min=1e-3)).clamp(max=0.2)
        return q_s * _one_over_f(t_inference + self.t_0, self.t_read)

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, nu: Tensor, t_inference: float, z: Tensor
    ) -> Tensor:
        g_d = g_prog * _drift_factor(nu, t_inference, self.t_0)
        sigma = self.read_noise_std(g_prog, t_inference)
        return (g_d + g_d.abs() * self.read_noise_scale * sigma * z).clamp(min=0.0)


def _interp(x: Tensor, xp: tuple[float, ...], fp: tuple[float, ...]) -> Tensor:
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x``, constant beyond the ends."""
    xs = torch.tensor(xp, dtype=x.dtype, device=x.device)
    fs = torch.tensor(fp, dtype=x.dtype, device=x.device)
    if len(xp) == 1:
        return fs[0].expand_as(x).clone()
    clamped = x.clamp(xs[0], xs[-1])
    upper = torch.searchsorted(xs, clamped.contiguous()).clamp(1, len(xp) - 1)
    x0, x1 = xs[upper - 1], xs[upper]
    f0, f1 = fs[upper - 1], fs[upper]
    return f0 + (f1 - f0) * (clamped - x0) / (x1 - x0)


@dataclasses.dataclass
class CustomDriftPCMLikeNoiseModel(PCMLikeNoiseModel):
    """:class:`PCMLikeNoiseModel` whose drift exponents come from a measured table; the
    other arguments are those of :class:`PCMLikeNoiseModel`.

    Args:
        custom_drift_model: ``{"g_lst": [...], "nu_mean_lst": [...], "nu_std_lst": [...]}``:
            conductances in microsiemens (increasing) with the mean and spread of ``nu``
            there; between them the statistics are interpolated linearly, beyond them held.
    """

    name: ClassVar[str] = "CustomDriftPCMLikeNoiseModel"
    custom_drift_model: dict[str, Any] | None = None

    def validate(self) -> None:
        super().validate()
        table = self.custom_drift_model
        keys = ("g_lst", "nu_mean_lst", "nu_std_lst")
        allowed = (
            "a dict with lists g_lst (increasing), nu_mean_lst and nu_std_lst (>= 0) of one length"
        )
        if not isinstance(table, Mapping) or set(table) != set(keys):
            invalid(self, "custom_drift_model", table, allowed)
        columns = []
        for key in keys:
            column = table[key]
            ok = isinstance(column, (list, tuple)) and len(column) > 0
            ok = ok and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in column
            )
            if not ok:
                invalid(self, "custom_drift_model", table, allowed)
            columns.append(tuple(float(v) for v in column))
        g, mean, std = columns
        if not len(g) == len(mean) == len(std):
            invalid(self, "custom_drift_model", table, allowed)
        if any(b <= a for a, b in zip(g, g[1:], strict=False)) or min(std) < 0:
            invalid(self, "custom_drift_model", table, allowed)
        self.custom_drift_model = {"g_lst": list(g), "nu_mean_lst": list(mean),
                                   "nu_std_lst": list(std)}  # fmt: skip

    def drift_statistics(self, g_target: Tensor) -> tuple[Tensor, Tensor]:
        table = self.custom_drift_model
        assert table is not None
        g = g_target.abs()
        mean = _interp(g, tuple(table["g_lst"]), tuple(table["nu_mean_lst"]))
        std = _interp(g, tuple(table["g_lst"]), tuple(table["nu_std_lst"]))
        return mean, std


@dataclasses.dataclass
class StateIndependentNoiseModel(_TimedModel):
    """Noise and drift that do not depend on the conductance.

    - programmed: ``max(g + prog_noise_scale * prog_std * z, 0)``;
    - drift exponent: ``nu = |nu_mean + nu_std z| * drift_scale``;
    - read at ``t_inference``: ``g_d = g_p ((t_inference + t_0) / t_0) ** -nu`` and
      ``max(g_d + read_noise_scale * read_std * sqrt(ln((t + t_read) / (2 t_read))) z, 0)``
      with ``t = t_inference + t_0``.

    The times and scales are those of :class:`PCMLikeNoiseModel`.

    Args:
        prog_std: the programming-noise standard deviation in microsiemens.
        nu_mean, nu_std: mean and spread of the drift exponent.
        read_std: the read-noise standard deviation in microsiemens per unit of the 1/f
            growth factor (about 4.2 at ``t_inference = 0`` with the default times).
    """

    name: ClassVar[str] = "StateIndependentNoiseModel"
    prog_std: float = 1.0
    nu_mean: float = 0.05
    nu_std: float = 0.01
    read_std: float = 0.1

    def validate(self) -> None:
        super().validate()
        for name in ("prog_std", "nu_mean", "nu_std", "read_std"):
            check_real(self, name, 0.0)

    def apply_programming_noise_to_conductance(self, g_target: Tensor, z: Tensor) -> Tensor:
        return (g_target + self.prog_noise_scale * self.prog_std * z).clamp(min=0.0)

    def generate_drift_coefficients(self, g_target: Tensor, z: Tensor) -> Tensor:
        return (self.nu_mean + self.nu_std * z).abs() * self.drift_scale

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, nu: Tensor, t_inference: float, z: Tensor
    ) -> Tensor:
        g_d = g_prog * _drift_factor(nu, t_inference, self.t_0)
        sigma = self.read_std * _one_over_f(t_inference + self.t_0, self.t_read)
        return (g_d + self.read_noise_scale * sigma * z).clamp(min=0.0)

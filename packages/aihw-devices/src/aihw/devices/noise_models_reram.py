"""Noise models of ReRAM inference devices (docs/physics/inference.md#reram-models).

- :class:`ReRamWan2022NoiseModel`: the deviation from the target conductance measured by
  Wan et al. (Nature 608, 504, 2022) after 1 s, 1 day and 2 days, as polynomials of the
  target conductance (the reference toolkit's fit); there is no drift law between them,
  so a read is only defined at those times.
- :class:`ReRamCMONoiseModel`: conductive-metal-oxide/HfOx ReRAM (the reference toolkit's
  model of IBM's devices): programming noise linear in the target conductance, a mean
  relaxation and a spread growing with ``ln t``, and 1/f read noise; one device per
  weight (:class:`~aihw.core.inference.SingleDeviceConductanceConverter`).

Both work in microsiemens.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from aihw.core.inference import (
    ConductanceConverter,
    NoiseModel,
    SingleDeviceConductanceConverter,
    check_real,
    invalid,
)

__all__ = ["ReRamCMONoiseModel", "ReRamWan2022NoiseModel"]

#: Wan et al. (2022), fitted at g_max = 40 µS: polynomial coefficients (lowest order first,
#: µS) of the deviation's standard deviation in g / g_max, by time after programming (s).
_WAN2022_COEFFICIENTS: dict[float, tuple[float, ...]] = {
    1.0: (0.348, 16.030, -43.853, 45.393, -16.815),
    86400.0: (0.701, 22.086, -50.773, 47.095, -16.458),
    172800.0: (0.782, 20.274, -43.507, 37.062, -11.934),
}

#: CMO/HfOx ReRAM: programming-noise coefficients (c0, c1 in µS, sigma = c0 + c1 g with g in
#: µS) by the acceptance range of the program-and-verify loop (percent of the target).
_CMO_PROGRAMMING: dict[float, tuple[float, ...]] = {
    0.2: (0.00081107, 0.00106879),
    2.0: (0.0112185391, 0.01129027418),
}


def _table(owner: Any, name: str, allowed: str) -> dict[float, tuple[float, ...]]:
    """Field ``name``: a non-empty mapping of finite numbers >= 0 (or their text, as a
    checkpoint stores them) to non-empty sequences of finite numbers, as ``{float: tuple}``."""
    value = getattr(owner, name)
    if not isinstance(value, Mapping) or not value:
        invalid(owner, name, value, allowed)
    table: dict[float, tuple[float, ...]] = {}
    for raw_key, row in value.items():
        key = raw_key
        if isinstance(raw_key, str):  # a checkpoint stores the keys as text
            try:
                key = float(raw_key)
            except ValueError:
                invalid(owner, name, value, allowed)
        ok = isinstance(key, (int, float)) and not isinstance(key, bool) and math.isfinite(key)
        ok = ok and key >= 0 and isinstance(row, Sequence) and not isinstance(row, str)
        ok = ok and len(row) > 0
        ok = ok and all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
            for c in row
        )
        if not ok:
            invalid(owner, name, value, allowed)
        table[float(key)] = tuple(float(c) for c in row)
    return table


def _polynomial(x: Tensor, coefficients: tuple[float, ...]) -> Tensor:
    """``sum_k c_k x^k`` (Horner)."""
    result = torch.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = result * x + c
    return result


@dataclasses.dataclass
class ReRamWan2022NoiseModel(NoiseModel):
    """ReRAM after Wan et al. (2022): the conductance read ``t`` seconds after programming is
    ``max(g + noise_scale * sigma_t(g) * z, 0)`` around the target ``g``, with
    ``sigma_t(g) = sum_k c_k (g / g_max)^k * g_max / coeff_g_max_reference`` and the
    coefficients of time ``t`` in ``coeff_dic``. Programming draws with the earliest time's
    coefficients. Reads are defined only at the times of ``coeff_dic`` (default 1 s,
    1 day = 86400 s, 2 days = 172800 s); other times raise ``ValueError``.

    The model has no drift exponent: what a tile stores as ``nu`` are the target
    conductances, around which every read is drawn anew (the programmed values do not
    carry over, as in the published statistics, which are deviations from the target).

    Args:
        coeff_dic: ``{time in s: (c0, c1, ...)}``, coefficients in µS, lowest order first.
        g_max: the conductance of ``max|W|`` (``None``: the converter's).
        noise_scale: a factor on the noise.
        coeff_g_max_reference: the ``g_max`` the coefficients are scaled from (``None``:
            ``g_max``, i.e. the coefficients as given whatever ``g_max``, like the reference
            toolkit; 40 scales the noise with ``g_max`` from the measured 40 µS).
        g_converter: the conductance converter (default: one pair, 25 µS).
    """

    name: ClassVar[str] = "ReRamWan2022NoiseModel"
    coeff_dic: dict[float, tuple[float, ...]] = dataclasses.field(
        default_factory=lambda: dict(_WAN2022_COEFFICIENTS)
    )
    g_max: float | None = None
    noise_scale: float = 1.0
    coeff_g_max_reference: float | None = None

    def validate(self) -> None:
        super().validate()
        self.coeff_dic = _table(
            self, "coeff_dic", "a non-empty dict {time in s >= 0: [c0, c1, ...]} of finite numbers"
        )
        if self.g_max is not None:
            check_real(self, "g_max", 0.0, strict=True)
        check_real(self, "noise_scale", 0.0)
        if self.coeff_g_max_reference is not None:
            check_real(self, "coeff_g_max_reference", 0.0, strict=True)

    @property
    def resolved_g_max(self) -> float:
        """``g_max``, or the converter's when it is ``None``."""
        return float(self.g_converter.g_max if self.g_max is None else self.g_max)

    def deviation_std(self, g_target: Tensor, t_inference: float) -> Tensor:
        """The standard deviation (µS) of a read at ``t_inference`` around ``g_target``."""
        coefficients = self.coeff_dic[self._time_key(t_inference)]
        g_max = self.resolved_g_max
        reference = g_max if self.coeff_g_max_reference is None else self.coeff_g_max_reference
        return _polynomial(g_target / g_max, coefficients) * (g_max / reference)

    def _time_key(self, t_inference: float) -> float:
        for key in self.coeff_dic:
            if math.isclose(t_inference, key, rel_tol=1e-9, abs_tol=1e-9):
                return key
        times = ", ".join(f"{k:g}" for k in sorted(self.coeff_dic))
        raise ValueError(
            f"t_inference={t_inference!r} is invalid for {self.name}; allowed: the times of "
            f"its coeff_dic ({times} s): the model has measured statistics only there"
        )

    def _draw(self, g_target: Tensor, t_inference: float, z: Tensor) -> Tensor:
        sigma = self.deviation_std(g_target, t_inference)
        return (g_target + self.noise_scale * sigma * z).clamp(min=0.0)

    def apply_programming_noise_to_conductance(self, g_target: Tensor, z: Tensor) -> Tensor:
        return self._draw(g_target, min(self.coeff_dic), z)

    def generate_drift_coefficients(self, g_target: Tensor, z: Tensor) -> Tensor:
        return g_target.clone()  # the targets: every read is drawn around them

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, nu: Tensor, t_inference: float, z: Tensor
    ) -> Tensor:
        return self._draw(nu, t_inference, z)


@dataclasses.dataclass
class ReRamCMONoiseModel(NoiseModel):
    """Conductive-metal-oxide/HfOx ReRAM (one device per weight, conductances in
    ``[g_min, g_max]``), with ``ln`` the natural logarithm and ``t`` in seconds:

    - programmed: ``g_p = g + prog_noise_scale * (c0 + c1 g) * z`` with the coefficients of
      the program-and-verify ``acceptance_range`` (percent of the target);
    - read at ``t > 0``: relaxation ``g_r = g_p + drift_scale * (m ln t + s(t) z1)`` with
      ``s(t) = s0 ln t + s1``, then 1/f read noise
      ``g_f = g_r + read_noise_scale * K log10(g_r) sqrt(ln((t + t_read) / (2 t_read))) z2``,
      clipped to ``[g_min, g_max]``; at ``t = 0`` the programmed ``g_p``.

    Args:
        coeff_dict: ``{acceptance range in %: (c0, c1)}`` in µS.
        acceptance_range: the key of ``coeff_dict`` to program with (default 0.2, the
            coefficients the reference toolkit's default ends up using).
        decay_mean: ``m`` in µS per unit of ``ln t``.
        decay_std: ``(s0, s1)`` in µS.
        read_k: ``K`` in µS.
        t_read: the read duration in s.
        prog_noise_scale, read_noise_scale, drift_scale: factors on each effect.
        g_converter: default :class:`~aihw.core.inference.SingleDeviceConductanceConverter`
            (88.2 and 9 µS); ``g_min`` and ``g_max`` of the clip are the converter's.
    """

    name: ClassVar[str] = "ReRamCMONoiseModel"
    read_normals: ClassVar[int] = 2
    g_converter: ConductanceConverter = dataclasses.field(
        default_factory=SingleDeviceConductanceConverter
    )
    coeff_dict: dict[float, tuple[float, ...]] = dataclasses.field(
        default_factory=lambda: dict(_CMO_PROGRAMMING)
    )
    acceptance_range: float = 0.2
    decay_mean: float = -0.08900206
    decay_std: tuple[float, ...] = (0.04201137, 0.41183342)
    read_k: float = 0.0277316483
    t_read: float = 1e-6
    prog_noise_scale: float = 1.0
    read_noise_scale: float = 1.0
    drift_scale: float = 1.0

    def validate(self) -> None:
        super().validate()
        allowed = "a non-empty dict {acceptance range in % >= 0: [c0, c1]} of finite numbers"
        self.coeff_dict = _table(self, "coeff_dict", allowed)
        if any(len(row) != 2 for row in self.coeff_dict.values()):
            invalid(self, "coeff_dict", self.coeff_dict, allowed)
        check_real(self, "acceptance_range", 0.0)
        if float(self.acceptance_range) not in self.coeff_dict:
            keys = ", ".join(f"{k:g}" for k in sorted(self.coeff_dict))
            invalid(
                self, "acceptance_range", self.acceptance_range, f"a key of coeff_dict ({keys})"
            )
        check_real(self, "decay_mean")
        std = self.decay_std
        if (
            not isinstance(std, Sequence)
            or len(std) != 2
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in std)
        ):
            invalid(self, "decay_std", std, "two finite numbers (s0, s1)")
        self.decay_std = (float(std[0]), float(std[1]))
        check_real(self, "read_k", 0.0)
        check_real(self, "t_read", 0.0, strict=True)
        for name in ("prog_noise_scale", "read_noise_scale", "drift_scale"):
            check_real(self, name, 0.0)
        if self.g_converter.g_min <= 0:
            invalid(
                self, "g_converter", self.g_converter,
                "a converter with g_min > 0 (the read noise takes log10 of the conductance)",
            )  # fmt: skip

    def programming_std(self, g_target: Tensor) -> Tensor:
        """The programming-noise standard deviation at ``g_target`` (µS)."""
        c0, c1 = self.coeff_dict[float(self.acceptance_range)]
        return c0 + c1 * g_target

    def apply_programming_noise_to_conductance(self, g_target: Tensor, z: Tensor) -> Tensor:
        return g_target + self.prog_noise_scale * self.programming_std(g_target) * z

    def generate_drift_coefficients(self, g_target: Tensor, z: Tensor) -> Tensor:
        # Relaxation does not depend on the level: nothing per device to keep but the target.
        return g_target.clone()

    def relaxation(self, t_inference: float) -> tuple[float, float]:
        """The mean shift and the spread (µS, before ``drift_scale``) at ``t_inference > 0``."""
        log_t = math.log(t_inference)
        s0, s1 = self.decay_std
        return self.decay_mean * log_t, s0 * log_t + s1

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, nu: Tensor, t_inference: float, z: Tensor
    ) -> Tensor:
        if t_inference == 0:
            return g_prog.clone()
        shift, spread = self.relaxation(t_inference)
        g_relaxed = g_prog + self.drift_scale * (shift + spread * z[0])
        growth = math.sqrt(math.log((t_inference + self.t_read) / (2.0 * self.t_read)))
        # log10 of a conductance relaxed below the range is taken at g_min (the clip's floor).
        level = torch.log10(g_relaxed.clamp(min=self.g_converter.g_min))
        g_read = g_relaxed + self.read_noise_scale * self.read_k * level * growth * z[1]
        return g_read.clamp(self.g_converter.g_min, self.g_converter.g_max)

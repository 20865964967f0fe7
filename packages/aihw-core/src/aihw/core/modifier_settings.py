"""What one pass of the weight modifier computes (engine contract §12): the kind of pass and
its float32 settings, shared by the compiled pass (:func:`aihw.core.engine.modify_weights`)
and its plain-torch twin (:func:`aihw.core.reference.modifiers.modify_weights`).
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = ["ModifierKind", "ModifierSettings", "ModifierStream", "PcmSettings", "MAX_COEFFS"]

#: The most polynomial coefficients a pass takes.
MAX_COEFFS = 16


class ModifierStream(enum.IntEnum):
    """The modifier's streams ``k`` (a seed each; the engine's ``ModifierStream``)."""

    NOISE = 0  #: normals of the noise (PCMNoise: programming noise)
    ROUND = 1  #: uniforms of stochastic rounding
    DROP = 2  #: uniforms of ``pdrop``
    STUCK = 3  #: PCMNoise: uniforms choosing stuck devices
    STUCK_VALUE = 4  #: PCMNoise: uniform values of devices stuck at random
    DRIFT = 5  #: PCMNoise: normals of the drift exponents
    READ = 6  #: PCMNoise: normals of the read noise


class ModifierKind(enum.IntEnum):
    """Per weight ``w`` (``A`` the range, ``F`` the factor, ``D`` the discretisation, ``xi``
    a standard normal, ``P`` the polynomial): the numbers are the engine's."""

    COPY = 0  #: ``w``
    DISCRETIZE = 1  #: ``D(w / A) * A``
    MULT_NORMAL = 2  #: ``w + (w * F) * xi``
    ADD_NORMAL = 3  #: ``w + F * xi``
    DISCRETIZE_ADD_NORMAL = 4  #: ``D(w / A) * A + F * xi``
    DISCRETIZE_SCALED = 5  #: ``D(tanh_f32(w) * scale)`` (DoReFa)
    POLY = 6  #: ``w + (P(|w| / A) * F) * xi``
    PROG_NOISE = 7  #: ``|w + (P(|w| / A) * F) * xi| * sign(w)`` (sign(0) = +1)
    PCM_NOISE = 8  #: the PCM model's conductance (:class:`PcmSettings`), the sign of ``w``

    @property
    def draws_normals(self) -> bool:
        return self in _NOISY

    @property
    def discretizes(self) -> bool:
        return self in _DISCRETE


@dataclasses.dataclass(frozen=True)
class PcmSettings:
    """``PCMNoise``'s numbers, in the order the engine takes them (each rounded to float32;
    ``drift`` a flag). See engine contract §12 for the operations."""

    g_max: float
    to_conductance: float  #: ``G / A``
    to_weight: float  #: ``A / G``
    inv_g_max: float  #: ``1 / G``
    prog_factor: float  #: ``G / 25 * std_dev``
    zero_threshold: float  #: conductances below it become 0
    p_reset: float
    p_gmax_end: float  #: ``p_reset + p_gmax``
    p_random_end: float  #: ``p_reset + p_gmax + p_random``
    drift: bool
    neg_log2_t: float  #: ``-log2(t / t0)``
    read_factor: float  #: ``std_dev * sqrt(ln((t + t_read) / (2 t_read)))``

    def values(self) -> list[float]:
        """The numbers in the engine's order (``drift`` as 0 or 1)."""
        return [float(getattr(self, name)) for name in _PCM_FIELDS]


_PCM_FIELDS = tuple(field.name for field in dataclasses.fields(PcmSettings))
_NOISY = {ModifierKind.MULT_NORMAL, ModifierKind.ADD_NORMAL, ModifierKind.DISCRETIZE_ADD_NORMAL,
          ModifierKind.POLY, ModifierKind.PROG_NOISE}  # fmt: skip
_DISCRETE = {ModifierKind.DISCRETIZE, ModifierKind.DISCRETIZE_ADD_NORMAL,
             ModifierKind.DISCRETIZE_SCALED}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ModifierSettings:
    """The settings of one pass; each float is rounded to float32 where it is used.

    Attributes:
        kind: the pass.
        amax: ``A``, ``> 0``.
        factor: ``F``.
        res: the step of ``D`` as a fraction (``<= 0``: no discretisation).
        scale: the factor of ``DISCRETIZE_SCALED``.
        sto_round: ``D`` rounds ``floor(v / res + u)`` with a uniform ``u`` instead of half
            away from zero.
        pdrop: ``> 0``: a weight whose drop uniform is below it becomes 0 (after the kind).
        coeffs: ``P``'s coefficients, lowest order first (``POLY``, ``PROG_NOISE``).
        pcm: ``PCM_NOISE``'s numbers.
    """

    kind: ModifierKind
    amax: float = 1.0
    factor: float = 0.0
    res: float = 0.0
    scale: float = 1.0
    sto_round: bool = False
    pdrop: float = 0.0
    coeffs: tuple[float, ...] = ()
    pcm: PcmSettings | None = None

    @property
    def rounds(self) -> bool:
        """Whether the pass draws rounding uniforms."""
        return self.sto_round and self.res > 0 and self.kind.discretizes

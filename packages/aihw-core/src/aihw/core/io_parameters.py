"""IO parameters: the periphery of an analog tile's forward and backward pass
(docs/physics/periphery.md#io-parameters).

The defaults are the reference toolkit's Python defaults (docs/physics/periphery.md#io-parameters):
a 7-bit DAC over ``±1``, a 9-bit ADC over ``±12``, output noise 0.06, abs-max noise management and
iterative bound management.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, ClassVar

__all__ = [
    "AnalogMVType",
    "BoundManagementType",
    "IOParameters",
    "NoiseManagementType",
    "WeightNoiseType",
    "resolution_step",
]


class NoiseManagementType(str, enum.Enum):
    """How the input of an MVM is scaled before the DAC
    (docs/physics/periphery.md#noise-management)."""

    NONE = "None"
    """No scaling."""
    ABS_MAX = "AbsMax"
    """Divide by ``max_j |x_j|`` (capped by ``nm_thres`` when it is > 0)."""
    ABS_MAX_NP_SUM = "AbsMaxNPSum"
    """Worst-case estimate from the positive and negative input sums."""
    MAX = "Max"
    """Divide by the signed maximum ``max_j x_j`` (capped by ``nm_thres``)."""
    CONSTANT = "Constant"
    """Divide by ``nm_thres`` (1 when it is 0)."""
    AVERAGE_ABS_MAX = "AverageAbsMax"
    """Divide by a running average of the batch's ``max |x|`` (updated once per batch)."""


class BoundManagementType(str, enum.Enum):
    """What happens when an output hits the ADC bound (docs/physics/periphery.md#bound-management;
    forward only)."""

    NONE = "None"
    """Outputs are clipped."""
    ITERATIVE = "Iterative"
    """Samples whose output hit the bound are recomputed with half the input scale."""
    ITERATIVE_WORST_CASE = "IterativeWorstCase"
    """Like ``ITERATIVE``, but the second pass switches to abs-max-np-sum scaling."""
    SHIFT = "Shift"
    """In the reference toolkit's enum but not implemented there: rejected."""


class WeightNoiseType(str, enum.Enum):
    """Output-referred weight noise, drawn afresh on every MVM
    (docs/physics/periphery.md#weight-noise)."""

    NONE = "None"
    ADDITIVE_CONSTANT = "AdditiveConstant"
    """``y_i += w_noise * ||v||_2 * xi_i``: N(0, w_noise^2) on every weight."""
    PCM_READ = "PCMRead"
    """``y_i += w_noise * sqrt(sum_j |W_ij| v_j^2) * xi_i``."""


class AnalogMVType(str, enum.Enum):
    """How the analog MVM is carried out
    (docs/physics/periphery.md#io-parameters, #mac-non-idealities)."""

    ONE_PASS = "OnePass"
    IDEAL = "Ideal"
    """Exact, like ``is_perfect=True``."""
    POS_NEG_SEPARATE = "PosNegSeparate"
    """Positive and negative inputs in two analog passes, summed before the ADC."""
    POS_NEG_SEPARATE_DIGITAL_SUM = "PosNegSeparateDigitalSum"
    """Two passes, each through its own ADC, summed digitally."""
    SPLIT_MODE = "SplitMode"
    """The pulse-width-modulated input in two passes (low bits, then high bits), each
    through the ADC, summed digitally with weights 1 and ``2**split_mode_bit_shift``
    (``IOParametersIRDropT`` only; docs/physics/periphery.md#time-dependent-ir-drop)."""
    BIT_WISE = "BitWise"
    """One pass per input bit, each through the ADC, summed digitally with weights
    ``2**bit`` (``IOParametersIRDropT`` only)."""


_ENUMS: dict[str, type[enum.Enum]] = {
    "mv_type": AnalogMVType,
    "noise_management": NoiseManagementType,
    "bound_management": BoundManagementType,
    "w_noise_type": WeightNoiseType,
}

_BOOLS = ("is_perfect", "inp_sto_round", "out_sto_round", "bm_test_negative_bound")

# Fields that must be finite and >= 0.
_NON_NEGATIVE = (
    "inp_noise",
    "out_noise",
    "out_noise_std",
    "w_noise",
    "max_bm_res",
    "nm_thres",
    "ir_drop",
    "out_nonlinearity",
    "out_nonlinearity_std",
    "slope_calibration",
    "v_offset_std",
    "w_read_asymmetry_dtod",
)

# Physics not simulated yet: non-default values raise NotImplementedError.
_UNSUPPORTED_DEFAULTS = {
    "r_series": 0.0,
}


def resolution_step(res: float, bound: float) -> float:
    """The quantiser step ``Δ`` of a resolution (docs/physics/periphery.md#resolutions); 0 means no
    quantisation.

    ``res <= 0`` gives 0; ``res > 1`` is a number of steps (``1/res``); the step is
    ``res' * 2 * bound``.
    """
    if res <= 0.0:
        return 0.0
    r = res if res <= 1.0 else 1.0 / res
    return r * 2.0 * bound


@dataclasses.dataclass
class IOParameters:
    """The periphery of one direction (forward or backward) of an analog tile
    (docs/physics/periphery.md#io-parameters).

    All noises, bounds and quantisation steps act on the *normalised* values, i.e. after
    noise management and bound management have scaled the input.

    Args:
        is_perfect: exact MVM; only ``out_scale`` is applied.
        mv_type: see :class:`AnalogMVType`.
        inp_bound: DAC range ``±inp_bound`` (must be 1 when noise management is on).
        inp_res: DAC resolution: a step fraction of the full range (``<= 1``) or a number
            of steps (``> 1``); ``<= 0`` turns quantisation off
            (docs/physics/periphery.md#resolutions).
        inp_sto_round: stochastic rounding in the DAC.
        inp_noise: std of the Gaussian noise added after the DAC.
        inp_asymmetry: negative inputs are multiplied by ``1 - inp_asymmetry``.
        out_bound: ADC range ``±out_bound``; ``<= 0`` means unbounded.
        out_noise: std of the Gaussian noise added before the ADC.
        out_noise_std: fixed per-output relative spread of ``out_noise``.
        out_res: ADC resolution (as ``inp_res``).
        out_sto_round: stochastic rounding in the ADC.
        out_scale: digital factor applied to the result.
        out_asymmetry: negative outputs are multiplied by ``1 - out_asymmetry``.
        bound_management: see :class:`BoundManagementType` (forward only).
        noise_management: see :class:`NoiseManagementType`.
        w_noise: strength of the output-referred weight noise.
        w_noise_type: see :class:`WeightNoiseType`.
        ir_drop: IR-drop scale (docs/physics/periphery.md#ir-drop; ``>= 0``, 0 = off).
        ir_drop_g_ratio: wire conductance over ``g_max`` (``> 0`` when ``ir_drop > 0``).
        out_nonlinearity: S-shaped ADC non-linearity ``y -> f y / (1 + |n_i y|)`` with
            ``n_i = |out_nonlinearity / out_bound (1 + out_nonlinearity_std xi_i)|``
            (``>= 0``; needs ``out_bound > 0``).
        out_nonlinearity_std: fixed per-output relative spread of the non-linearity.
        slope_calibration: when ``> 0``, the gain
            ``f = (1 + mean(n_i) slope_calibration out_bound)^2``; else ``f = 1``.
        v_offset_std: std of the fixed per-output voltage offset ``o_i = max(v_offset_std
            xi, 0)``: ``y -> (1 - o_i) y - 2 o_i g sum_j v_j`` with ``g = -v_offset_w_min``.
        v_offset_w_min: the implicit reference weight of the voltage offset (0: none).
        w_read_asymmetry_dtod: fixed per-weight spread seen by the negative pass of the
            pos/neg modes: there ``W_ij (1 + w_read_asymmetry_dtod xi_ij)``.
        r_series: not simulated yet (its cap ``r_series_max_total`` is not specified); a
            non-default value raises ``NotImplementedError``.
        max_bm_factor: bound management stops once the input reduction exceeds this.
        max_bm_res: bound management stops once the reduction exceeds
            ``max_bm_res / Δ_in``.
        bm_test_negative_bound: a negative clip also counts as a bound hit.
        nm_thres: noise-management threshold (abs-max, max) or constant.

    Raises:
        ValueError: a field is out of range; the message names the field, its value and
            what is allowed.
        NotImplementedError: a field of physics not simulated yet has a non-default value.
    """

    #: Whether ``mv_type`` may be ``SplitMode`` or ``BitWise`` (the pulse-width passes of
    #: :class:`~aihw.core.io_parameters_irdrop.IOParametersIRDropT`).
    PULSE_PASSES: ClassVar[bool] = False

    is_perfect: bool = False
    mv_type: AnalogMVType | str = AnalogMVType.ONE_PASS
    inp_bound: float = 1.0
    inp_res: float = 1.0 / 126.0
    inp_sto_round: bool = False
    inp_noise: float = 0.0
    inp_asymmetry: float = 0.0
    out_bound: float = 12.0
    out_noise: float = 0.06
    out_noise_std: float = 0.0
    out_res: float = 1.0 / 510.0
    out_sto_round: bool = False
    out_scale: float = 1.0
    out_asymmetry: float = 0.0
    bound_management: BoundManagementType | str = BoundManagementType.ITERATIVE
    noise_management: NoiseManagementType | str = NoiseManagementType.ABS_MAX
    w_noise: float = 0.0
    w_noise_type: WeightNoiseType | str = WeightNoiseType.NONE
    ir_drop: float = 0.0
    ir_drop_g_ratio: float = 1.0 / 0.35 / 5e-6
    out_nonlinearity: float = 0.0
    out_nonlinearity_std: float = 0.0
    slope_calibration: float = 0.0
    v_offset_std: float = 0.0
    v_offset_w_min: float = -1.0
    r_series: float = 0.0
    w_read_asymmetry_dtod: float = 0.0
    max_bm_factor: int = 1000
    max_bm_res: float = 0.25
    bm_test_negative_bound: bool = True
    nm_thres: float = 0.0

    def __post_init__(self) -> None:
        self.validate()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        object.__setattr__(self, "_version", self.__dict__.get("_version", 0) + 1)

    @property
    def version(self) -> int:
        """How many field assignments these parameters have seen: whoever keeps something
        worked out from them (a prepared pass, a validated plan) compares it to know
        whether to work it out again."""
        return int(self.__dict__.get("_version", 0))

    def changed_since_validation(self) -> bool:
        """Whether a field was set since the last successful :meth:`validate`."""
        return self.__dict__.get("_validated_version") != self.version

    # -- derived ----------------------------------------------------------------------------
    @property
    def inp_step(self) -> float:
        """The DAC step ``Δ_in`` (0: no quantisation)."""
        return resolution_step(float(self.inp_res), float(self.inp_bound))

    @property
    def out_step(self) -> float:
        """The ADC step ``Δ_out`` (0: no quantisation)."""
        bound = float(self.out_bound)
        return resolution_step(float(self.out_res), bound if bound > 0 else 1.0)

    @property
    def exact(self) -> bool:
        """Whether the MVM is exact (``is_perfect`` or ``mv_type='Ideal'``)."""
        return bool(self.is_perfect) or self.mv_type == AnalogMVType.IDEAL

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise naming the first invalid field, its value and what is allowed."""
        self._validate()
        object.__setattr__(self, "_validated_version", self.version)

    def _validate(self) -> None:
        for name, enum_type in _ENUMS.items():
            value = getattr(self, name)
            try:
                setattr(self, name, enum_type(value))
            except ValueError:
                allowed = ", ".join(repr(e.value) for e in enum_type)
                raise ValueError(
                    f"IOParameters.{name}={value!r} is not allowed; allowed: {allowed}"
                ) from None
        for name in _BOOLS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"IOParameters.{name}={getattr(self, name)!r} must be True or False"
                )
        for field in dataclasses.fields(self):
            if field.name in _ENUMS or field.name in _BOOLS:
                continue
            _check_number(field.name, getattr(self, field.name))
        for name in _NON_NEGATIVE:
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"IOParameters.{name}={value} must be >= 0")
        for name in ("inp_asymmetry", "out_asymmetry"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"IOParameters.{name}={value} is out of range; allowed: 0 to 1")
        if self.out_scale == 0:
            raise ValueError("IOParameters.out_scale=0 is not allowed; it must be nonzero")
        if isinstance(self.max_bm_factor, bool) or self.max_bm_factor < 1:
            raise ValueError(
                f"IOParameters.max_bm_factor={self.max_bm_factor!r} must be a number >= 1"
            )
        if not self.PULSE_PASSES and self.mv_type in (
            AnalogMVType.SPLIT_MODE,
            AnalogMVType.BIT_WISE,
        ):
            raise ValueError(
                f"IOParameters.mv_type={AnalogMVType(self.mv_type).value!r} needs the "
                "time-dependent IR drop's parameters (IOParametersIRDropT, as in "
                "TorchInferenceRPUConfigIRDropT); allowed here: 'OnePass', 'Ideal', "
                "'PosNegSeparate', 'PosNegSeparateDigitalSum'"
            )
        if self.bound_management == BoundManagementType.SHIFT:
            raise ValueError(
                "IOParameters.bound_management='Shift' is not supported (the reference "
                "toolkit does not implement it either); allowed: 'None', 'Iterative', "
                "'IterativeWorstCase'"
            )
        if self.exact:
            return
        for name, default in _UNSUPPORTED_DEFAULTS.items():
            if getattr(self, name) != default:
                raise NotImplementedError(
                    f"IOParameters.{name}={getattr(self, name)} is not supported yet "
                    f"(only the default {default}); see docs/periphery.rst"
                )
        if self.inp_bound <= 0:
            raise ValueError(f"IOParameters.inp_bound={self.inp_bound} must be > 0")
        if self.noise_management != NoiseManagementType.NONE and self.inp_bound != 1.0:
            raise ValueError(
                f"IOParameters.inp_bound={self.inp_bound} must be 1 when noise management is "
                f"on (noise_management={NoiseManagementType(self.noise_management).value!r}); set "
                "noise_management='None' to use another DAC range"
            )
        if self.ir_drop > 0 and self.ir_drop_g_ratio <= 0:
            raise ValueError(
                f"IOParameters.ir_drop_g_ratio={self.ir_drop_g_ratio} must be > 0 when "
                f"ir_drop={self.ir_drop} > 0"
            )
        if self.w_read_asymmetry_dtod > 0 and self.mv_type not in (
            AnalogMVType.POS_NEG_SEPARATE,
            AnalogMVType.POS_NEG_SEPARATE_DIGITAL_SUM,
        ):
            raise ValueError(
                f"IOParameters.w_read_asymmetry_dtod={self.w_read_asymmetry_dtod} needs a "
                f"separate negative pass; mv_type={AnalogMVType(self.mv_type).value!r}, allowed: "
                "'PosNegSeparate', 'PosNegSeparateDigitalSum'"
            )
        if self.out_nonlinearity > 0 and self.out_bound <= 0:
            raise ValueError(
                f"IOParameters.out_bound={self.out_bound} must be > 0 when "
                f"out_nonlinearity={self.out_nonlinearity} > 0 (the non-linearity is "
                "relative to the ADC range)"
            )
        if self.bound_management != BoundManagementType.NONE and self.out_bound <= 0:
            raise ValueError(
                f"IOParameters.out_bound={self.out_bound} must be > 0 when bound management is "
                f"on (bound_management={BoundManagementType(self.bound_management).value!r}); set "
                "bound_management='None' for an unbounded ADC"
            )


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"IOParameters.{name}={value!r} must be a finite number")

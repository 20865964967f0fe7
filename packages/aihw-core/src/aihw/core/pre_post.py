"""Digital pre- and post-processing around a layer's analog MVM: the learned input range
(docs/physics/inference.md#input-ranges).

``PrePostProcessingParameter(input_range=InputRangeParameter(enable=True))`` gives every
layer built from the configuration a learned range ``r``: its input becomes
``clip(x, -r, r) / r`` before the tiles and its output is multiplied by ``r``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

__all__ = ["InputRangeParameter", "PrePostProcessingParameter"]


def _invalid(owner: Any, name: str, allowed: str) -> ValueError:
    value = getattr(owner, name)
    return ValueError(f"{type(owner).__name__}.{name}={value!r} is invalid; allowed: {allowed}")


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass
class InputRangeParameter:
    """The learned input range of a layer (the reference toolkit's defaults).

    Args:
        enable: give the layer a range ``r`` (a ``Parameter`` ``input_range``) and apply
            ``x <- clip(x, -r, r) / r`` before the MVM, the output times ``r``.
        learn_input_range: train ``r`` (otherwise it only changes by calibration and by
            the initialisation from data).
        init_value: ``r`` before any data, ``> 0``.
        init_from_data: the first this many training batches set ``r`` to the running
            mean of ``init_std_alpha * std(x)`` (``0``: keep ``init_value``).
        init_std_alpha: the multiple of the input's standard deviation, ``> 0``.
        decay: pulls ``r`` down: ``decay * r`` is added to its gradient while more than
            ``input_min_percentage`` of the inputs are inside the range; ``>= 0``.
        input_min_percentage: in ``(0, 1]``.
        manage_output_clipping: widen ``r`` when outputs clip; not supported by aihw
            (``True`` is refused).
        output_min_percentage: in ``(0, 1]`` (used with ``manage_output_clipping``).
        gradient_scale: multiplies the clipping gradient of ``r`` when
            ``gradient_relative``; ``>= 0``.
        gradient_relative: make the clipping gradient relative to ``r`` (times ``r``).
        calibration_info: the calibration that set ``r`` (written by
            ``calibrate_input_ranges``), or ``None``.
    """

    enable: bool = False
    learn_input_range: bool = True
    init_value: float = 3.0
    init_from_data: int = 100
    init_std_alpha: float = 3.0
    decay: float = 0.001
    input_min_percentage: float = 0.95
    manage_output_clipping: bool = False
    output_min_percentage: float = 0.95
    gradient_scale: float = 1.0
    gradient_relative: bool = True
    calibration_info: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field, its value and what is
        allowed."""
        for name in ("enable", "learn_input_range", "manage_output_clipping",
                     "gradient_relative"):  # fmt: skip
            if not isinstance(getattr(self, name), bool):
                raise _invalid(self, name, "True or False")
        for name in ("init_value", "init_std_alpha"):
            value = getattr(self, name)
            if not _real(value) or value <= 0:
                raise _invalid(self, name, "a finite number > 0")
        for name in ("decay", "gradient_scale"):
            value = getattr(self, name)
            if not _real(value) or value < 0:
                raise _invalid(self, name, "a finite number >= 0")
        for name in ("input_min_percentage", "output_min_percentage"):
            value = getattr(self, name)
            if not _real(value) or not 0 < value <= 1:
                raise _invalid(self, name, "a number in (0, 1]")
        count = self.init_from_data
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise _invalid(self, "init_from_data", "an int >= 0 (0: no initialisation from data)")
        if self.manage_output_clipping:
            raise _invalid(
                self,
                "manage_output_clipping",
                "False (aihw does not widen the input range on output clipping)",
            )
        info = self.calibration_info
        if info is not None and not isinstance(info, str):
            raise _invalid(self, "calibration_info", "None or a str")


@dataclasses.dataclass
class PrePostProcessingParameter:
    """Digital processing around the analog MVM: ``input_range``
    (:class:`InputRangeParameter`)."""

    input_range: InputRangeParameter = dataclasses.field(default_factory=InputRangeParameter)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the type of ``input_range`` and its fields."""
        if not isinstance(self.input_range, InputRangeParameter):
            raise TypeError(
                "PrePostProcessingParameter.input_range must be an InputRangeParameter; "
                f"got {type(self.input_range).__name__}"
            )
        self.input_range.validate()

"""``RuntimeParameters``: how a tile configuration runs, not what it models.

``rpu_config.runtime`` holds the precision at an analog layer's boundary
(:class:`RPUDataType`, the reference toolkit's spelling) and which back-end the tiles use
(the compiled engine or the plain-torch reference). The tiles themselves always store
and compute in float32: the compiled engine is float32 only.
"""

from __future__ import annotations

import dataclasses
import enum

import torch

__all__ = ["BACKENDS", "RPUDataType", "RuntimeParameter", "RuntimeParameters"]

#: What ``RuntimeParameters.backend`` (and a tile's ``backend``) may be.
BACKENDS = ("auto", "native", "reference")


class RPUDataType(enum.Enum):
    """The precision at an analog layer's boundary (docs/choices.md, "Runtime precision").

    ``FLOAT`` (the default) leaves the layer as it is: it returns its input's dtype.
    ``HALF`` and ``BFLOAT16`` round the layer's input to that dtype before the tiles (which
    compute in float32) and return the output in that dtype. ``DOUBLE`` exists for the
    reference toolkit's scripts and is refused: the tiles cannot compute in float64.
    """

    FLOAT = "float"
    DOUBLE = "double"
    HALF = "half"
    BFLOAT16 = "bfloat16"

    def as_torch(self) -> torch.dtype:
        """The torch dtype of this precision."""
        return _TORCH[self]


_TORCH = {
    RPUDataType.FLOAT: torch.float32,
    RPUDataType.DOUBLE: torch.float64,
    RPUDataType.HALF: torch.float16,
    RPUDataType.BFLOAT16: torch.bfloat16,
}


@dataclasses.dataclass
class RuntimeParameters:
    """Settings of how a configuration's tiles and layers run.

    Args:
        data_type: the precision at the layer's boundary (:class:`RPUDataType`); the
            tiles compute in float32 whatever it says. ``DOUBLE`` is refused.
        backend: ``"auto"`` (the compiled engine where it can run, else the plain-torch
            reference), ``"native"`` (the engine, an error where it cannot run) or
            ``"reference"`` (plain torch only): what each tile built from the
            configuration starts with (its ``backend``).

    Examples:
        >>> from aihw.core.runtime import RPUDataType, RuntimeParameters
        >>> RuntimeParameters(data_type=RPUDataType.HALF).data_type.as_torch()
        torch.float16
    """

    data_type: RPUDataType = RPUDataType.FLOAT
    backend: str = "auto"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise naming the first invalid field."""
        data_type = self.data_type
        if not isinstance(data_type, RPUDataType):
            raise TypeError(
                f"RuntimeParameters.data_type={data_type!r} must be an RPUDataType "
                "(FLOAT, HALF or BFLOAT16)"
            )
        if data_type is RPUDataType.DOUBLE:
            raise ValueError(
                "RuntimeParameters.data_type=RPUDataType.DOUBLE cannot be honoured: aihw's "
                "tiles store and compute in float32; allowed: RPUDataType.FLOAT, "
                "RPUDataType.HALF, RPUDataType.BFLOAT16"
            )
        if self.backend not in BACKENDS:
            raise ValueError(
                f"RuntimeParameters.backend={self.backend!r} is not allowed; allowed: "
                f"{', '.join(BACKENDS)}"
            )

    @property
    def boundary_dtype(self) -> torch.dtype | None:
        """The dtype a layer rounds its input to and returns, or ``None`` (``FLOAT``: the
        input's own dtype, as without a runtime setting)."""
        return None if self.data_type is RPUDataType.FLOAT else self.data_type.as_torch()


#: The reference toolkit's spelling.
RuntimeParameter = RuntimeParameters

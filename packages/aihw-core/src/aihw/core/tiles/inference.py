"""``InferenceTile``: exact weights and update, an analog periphery on the passes."""

from __future__ import annotations

from ..config import TileConfig
from ..io_parameters import IOParameters
from ..parameters import PulseType, UpdateParameters
from .base import check_config_alone
from .floating_point import FloatingPointTile

__all__ = ["InferenceTile"]


def _default_config() -> TileConfig:
    return TileConfig(
        device=None,
        forward=IOParameters(),
        backward=IOParameters(is_perfect=True),
        update=UpdateParameters(pulse_type=PulseType.NONE),
    )


class InferenceTile(FloatingPointTile):
    """A tile with floating-point weights whose forward and backward passes go through the
    periphery of ``rpu_config`` (docs/physics/periphery.md); the update is exact SGD
    (docs/physics/periphery.md#defaults-by-configuration, inference and hardware-aware training).

    Args:
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        rpu_config: a :class:`~aihw.core.config.TileConfig` whose device is ``None`` or a
            floating-point device; ``None`` gives the inference defaults (forward periphery
            with the docs/physics/periphery.md#io-parameters defaults, exact backward).
        bias: add an analog bias column.
        seed: the tile seed, an int in ``[0, 2**64)``; ``None`` draws one.

    Example:
        >>> import torch
        >>> tile = InferenceTile(3, 4, seed=0)
        >>> tile.forward(torch.ones(2, 4)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        out_size: int,
        in_size: int,
        rpu_config: TileConfig | None = None,
        bias: bool = False,
        seed: int | None = None,
    ):
        if rpu_config is None:
            rpu_config = _default_config()
        check_config_alone(rpu_config, None, None)
        if not rpu_config.is_floating_point:
            raise ValueError(
                f"rpu_config.device={rpu_config.device!r} is a pulsed device; InferenceTile "
                "takes None or a floating-point device (use AnalogTile or create_tile)"
            )
        super().__init__(out_size, in_size, rpu_config.device, bias=bias, seed=seed)
        self.rpu_config = rpu_config
        self._apply_runtime(rpu_config)
        self._set_periphery(rpu_config.forward, rpu_config.backward)

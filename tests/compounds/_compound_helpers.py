"""Devices and tiles whose compound mechanics can be computed by hand."""

from __future__ import annotations

from typing import Any

import torch

from aihw.core.config import TileConfig
from aihw.core.io_parameters import IOParameters
from aihw.core.parameters import UpdateParameters
from aihw.core.tiles import create_tile
from aihw.devices import ConstantStepDevice

#: The exact update: W -= lr d^T x with no pulses and no bounds (the compound's bookkeeping
#: is all that is left to check).
EXACT = UpdateParameters(pulse_type="None")
PERFECT = IOParameters(is_perfect=True)


def plain_device(**overrides: Any) -> ConstantStepDevice:
    """A constant-step device without any variation or noise, bounds +-1, reset to 0."""
    params: dict[str, Any] = dict(
        dw_min=0.01,
        dw_min_dtod=0.0,
        dw_min_std=0.0,
        up_down=0.0,
        up_down_dtod=0.0,
        w_max_dtod=0.0,
        w_min_dtod=0.0,
        reset_std=0.0,
        w_max=1.0,
        w_min=-1.0,
    )
    params.update(overrides)
    return ConstantStepDevice(**params)


def exact_tile(device: Any, out_size: int = 2, in_size: int = 3, **kwargs: Any) -> Any:
    """A compound tile with exact passes and the exact update."""
    config = TileConfig(device=device, forward=PERFECT, backward=PERFECT, update=EXACT)
    return create_tile(None, out_size, in_size, seed=7, rpu_config=config, **kwargs)


def batch(seed: int, rows: int = 4, in_size: int = 3, out_size: int = 2) -> tuple[Any, Any]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(rows, in_size, generator=gen), torch.randn(rows, out_size, generator=gen)

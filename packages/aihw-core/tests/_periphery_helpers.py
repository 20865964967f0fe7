"""Helpers of the periphery tests: a tile with given weights and IO parameters."""

from __future__ import annotations

import os

import torch

from aihw.core import IOParameters, TileConfig, native_available
from aihw.core.tiles import InferenceTile

HAVE_NATIVE = native_available() or bool(os.environ.get("AIHW_REQUIRE_NATIVE"))

#: Backends to test: the reference always, the compiled engine where it is built.
BACKENDS = ["reference"] + (["native"] if HAVE_NATIVE else [])


def make_tile(
    weights: torch.Tensor,
    forward: IOParameters | None = None,
    backward: IOParameters | None = None,
    backend: str = "reference",
    seed: int = 1,
) -> InferenceTile:
    config = TileConfig(
        forward=forward or IOParameters(),
        backward=backward or IOParameters(is_perfect=True),
    )
    tile = InferenceTile(weights.shape[0], weights.shape[1], config, seed=seed)
    tile.set_weights(weights)
    tile.backend = backend
    return tile


def quiet(**kwargs) -> IOParameters:
    """IOParameters with every noise off (quantisation and bounds as given)."""
    kwargs.setdefault("out_noise", 0.0)
    return IOParameters(**kwargs)

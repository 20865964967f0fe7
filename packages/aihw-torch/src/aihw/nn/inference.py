"""Programming a model's analog weights onto noisy devices and reading them after drift.

:func:`program_analog_weights` and :func:`drift_analog_weights` walk every analog layer of
any ``torch.nn.Module`` (an :class:`~aihw.nn.AnalogSequential`, a converted model, a
single layer); the layers and ``AnalogSequential`` have the same names as methods. The
tiles must be inference tiles with a noise model (``InferenceRPUConfig``). Every layer is
checked before any changes: a rejected call changes nothing.
"""

from __future__ import annotations

from typing import Any

from torch.nn import Module

from aihw.core.inference import WeightRemapParameter, check_seed, check_t_inference
from aihw.core.inference.hwa import checked_hwa_parameter
from aihw.core.tiles import InferenceTile

__all__ = [
    "drift_analog_weights",
    "inference_tiles",
    "program_analog_weights",
    "remap_analog_weights",
    "sync_test_mode",
]


def inference_tiles(model: Module) -> list[tuple[str, InferenceTile]]:
    """``(layer name, tile)`` of every tile of every analog layer of ``model``.

    Raises:
        ValueError: an analog layer's tile is not an inference tile with a noise model,
            or ``model`` has no analog layer.
    """
    from .modules.base import AnalogLayerBase

    found: list[tuple[str, InferenceTile]] = []
    for name, module in model.named_modules():
        if not isinstance(module, AnalogLayerBase):
            continue
        label = name or type(module).__name__
        for tile in module.grid.tiles:
            if not isinstance(tile, InferenceTile) or tile.noise_model is None:
                raise ValueError(
                    f"analog layer {label!r} ({type(module).__name__}) has a "
                    f"{type(tile).__name__} without a noise model; programming needs "
                    "rpu_config=InferenceRPUConfig(noise_model=...) with a non-exact forward"
                )
            found.append((label, tile))
    if not found:
        raise ValueError(f"{type(model).__name__} has no analog layer to program")
    return found


def program_analog_weights(model: Module, seed: int | None = None) -> None:
    """Program every analog layer's weights onto its noise model's devices
    (:meth:`aihw.core.tiles.InferenceTile.program_weights`).

    Args:
        model: a module with analog layers (or one layer).
        seed: ``None`` continues each tile's streams; an int restarts them, so the same
            seed gives the same programming and later drifts.
    """
    if seed is not None:
        check_seed(seed)
    tiles = inference_tiles(model)  # raises before any layer changes
    for _, tile in tiles:
        tile.program_weights(seed)


def drift_analog_weights(model: Module, t_inference: float = 0.0) -> None:
    """Set every analog layer's weights to those read ``t_inference`` seconds after
    programming, with new read noise, and compute the drift-compensation factors
    (applied in eval mode).

    Raises:
        ValueError: ``t_inference`` is negative or not finite.
        RuntimeError: a layer was not programmed. Nothing changes on an error.
    """
    check_t_inference(t_inference)
    tiles = inference_tiles(model)
    for name, tile in tiles:
        if not tile.is_programmed:
            raise RuntimeError(
                f"drift_analog_weights: analog layer {name!r} is not programmed; call "
                "program_analog_weights() first (setting weights or loading a state without "
                "a programmed state undoes programming)"
            )
    for _, tile in tiles:
        tile.drift_weights(t_inference)


def remap_analog_weights(model: Module, remap: WeightRemapParameter | None = None) -> None:
    """Remap the weights of every inference tile of every analog layer of ``model``
    (:meth:`aihw.core.tiles.InferenceTile.remap_weights`): the largest magnitude per tile
    or per output becomes ``remapped_wmax``, the factor moves into the tile's output
    scales, and the model computes the same function.

    Args:
        model: a module with analog layers (or one layer).
        remap: the remapping to apply; ``None`` uses each tile's configuration
            (``InferenceRPUConfig(remap=...)``; tiles without a remap type are left alone).

    Raises:
        TypeError: ``remap`` is not a ``WeightRemapParameter``.
        ValueError: an analog layer's tile is not an inference tile, or ``model`` has no
            analog layer. Nothing changes on an error.
    """
    from .modules.base import AnalogLayerBase

    param = checked_hwa_parameter("remap", remap, WeightRemapParameter)
    tiles: list[InferenceTile] = []
    for name, module in model.named_modules():
        if not isinstance(module, AnalogLayerBase):
            continue
        for tile in module.grid.tiles:
            if not isinstance(tile, InferenceTile):
                raise ValueError(
                    f"analog layer {name or type(module).__name__!r} has a "
                    f"{type(tile).__name__}; remapping needs inference tiles "
                    "(rpu_config=InferenceRPUConfig(...))"
                )
            tiles.append(tile)
    if not tiles:
        raise ValueError(f"{type(model).__name__} has no analog layer to remap")
    for tile in tiles:
        tile.remap_weights(param)


def sync_test_mode(layer: Any) -> None:
    """Tell a layer's inference tiles whether it is in eval mode (compensation applies)."""
    for tile in layer.grid.tiles:
        if isinstance(tile, InferenceTile):
            tile.set_test_mode(not layer.training)

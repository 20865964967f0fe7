"""Post-training calibration of the layers' input ranges
(docs/physics/inference.md#calibrating-input-ranges).

:func:`calibrate_input_ranges` runs data through a model in eval mode, watches the input
of every analog layer whose configuration has ``pre_post`` (``InferenceRPUConfig``) and
sets its input range ``r`` by the strategy of :class:`InputRangeCalibrationType`.
"""

from __future__ import annotations

import copy
import enum
import math
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module

from .input_range import init_input_range, input_range_parameters, set_input_range

__all__ = ["InputRangeCalibrationType", "calibrate_input_ranges"]


class InputRangeCalibrationType(enum.Enum):
    """How :func:`calibrate_input_ranges` sets the input ranges (the reference toolkit's
    members and values)."""

    NONE = "None"
    """No calibration: nothing changes."""
    MOVING_STD = "MovingStd"
    """The running mean over batches of ``std_alpha * std(x)``."""
    MOVING_QUANTILE = "MovingQuantile"
    """The running mean over batches of the ``quantile`` of ``x`` (its largest ``|x|``
    when ``quantile == 1``)."""
    CACHE_QUANTILE = "CacheQuantile"
    """The ``quantile`` of up to ``max_samples`` input rows kept from all batches."""
    MAX = "Max"
    """The largest ``|x|`` over all batches."""


def _calibration_type(value: Any) -> InputRangeCalibrationType:
    if isinstance(value, InputRangeCalibrationType):
        return value
    for member in InputRangeCalibrationType:
        if isinstance(value, str) and value in (member.name, member.value):
            return member
    allowed = ", ".join(f"InputRangeCalibrationType.{m.name}" for m in InputRangeCalibrationType)
    raise ValueError(
        f"calibration_type={value!r} is invalid; allowed: {allowed} (or their names or values)"
    )


def _check_arguments(quantile: Any, max_samples: Any, std_alpha: Any) -> None:
    def real(v: Any) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)

    if not real(quantile) or not 0 < quantile <= 1:
        raise ValueError(f"quantile={quantile!r} is invalid; allowed: a number in (0, 1]")
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise ValueError(f"max_samples={max_samples!r} is invalid; allowed: an int >= 1")
    if std_alpha is not None and (not real(std_alpha) or std_alpha <= 0):
        raise ValueError(f"std_alpha={std_alpha!r} is invalid; allowed: None or a number > 0")


def _rows(x: Tensor) -> Tensor:
    """The input as rows of its last dimension, without the all-zero rows."""
    rows = x.detach().reshape(-1, x.shape[-1]).to(torch.float32)
    return rows[~(rows == 0).all(dim=-1)]


class _Watch:
    """What one layer's calibration collects (a forward pre-hook)."""

    def __init__(
        self,
        layer: Module,
        kind: InputRangeCalibrationType,
        quantile: float,
        max_samples: int,
        std_alpha: float,
    ) -> None:
        self.layer, self.kind = layer, kind
        self.quantile, self.max_samples, self.std_alpha = quantile, max_samples, std_alpha
        self.cache: Tensor | None = None  # rows (CACHE_QUANTILE) or the max (MAX)
        self.used = 0  # batches that gave the range something (not only zero rows)

    def __call__(self, layer: Module, args: tuple[Any, ...]) -> None:
        if not args or not isinstance(args[0], Tensor) or not args[0].is_floating_point():
            return
        x = _rows(args[0])
        if x.numel() == 0:
            return
        kind = self.kind
        if kind is not InputRangeCalibrationType.MOVING_STD and kind is not (
            InputRangeCalibrationType.MOVING_QUANTILE
        ):
            self.used += 1
        if kind is InputRangeCalibrationType.CACHE_QUANTILE:
            cache = x.cpu() if self.cache is None else torch.cat([self.cache, x.cpu()])
            self.cache = cache[torch.randperm(cache.shape[0])[: self.max_samples]]
        elif kind is InputRangeCalibrationType.MAX:
            peak = x.abs().max().cpu()
            self.cache = peak if self.cache is None else torch.maximum(self.cache, peak)
        else:
            self._moving(x)

    def _moving(self, x: Tensor) -> None:
        counter: Tensor = self.layer._buffers["input_range_update_idx"]  # type: ignore[assignment]
        idx = int(counter)
        value = 0.0
        if self.kind is InputRangeCalibrationType.MOVING_QUANTILE:
            flat = x.flatten()
            value = float(
                flat.abs().max() if self.quantile == 1.0 else flat.quantile(self.quantile)
            )
        elif idx < self.max_samples:
            value = self.std_alpha * float(x.std())
        if value > 0:
            current: Tensor = self.layer._parameters["input_range"]  # type: ignore[assignment]
            r = float(current.detach())
            set_input_range(self.layer, (r * idx + value) / (idx + 1))
            counter.add_(1)
            self.used += 1

    def result(self) -> float | None:
        """The range of the cached strategies (``None``: no input seen, or a moving one)."""
        if self.cache is None:
            return None
        if self.kind is InputRangeCalibrationType.CACHE_QUANTILE:
            return float(self.cache.flatten().quantile(self.quantile))
        return float(self.cache)


def _calibrated_layers(model: Module, force_all_layers: bool) -> list[tuple[str, Any]]:
    from .modules.base import AnalogLayerBase

    layers: list[tuple[str, Any]] = []
    for name, module in model.named_modules():
        if not isinstance(module, AnalogLayerBase):
            continue
        params = input_range_parameters(module)
        if params is None or not (force_all_layers or params.enable):
            continue
        layers.append((name or type(module).__name__, module))
    return layers


def _feed(model: Module, item: Any) -> None:
    """``model`` on one item of the data: a tensor, ``(args, kwargs)`` (the reference
    toolkit's form), or a tuple whose first element is the input (``(x, y)``)."""
    if isinstance(item, Tensor):
        model(item)
    elif (
        isinstance(item, (tuple, list))
        and len(item) == 2
        and isinstance(item[0], (tuple, list))
        and isinstance(item[1], dict)
    ):
        model(*item[0], **item[1])
    elif isinstance(item, (tuple, list)) and item and isinstance(item[0], Tensor):
        model(item[0])
    else:
        raise TypeError(
            f"dataloader yielded a {type(item).__name__}; allowed: a tensor, (args, kwargs), "
            "or a tuple whose first element is the input tensor"
        )


@torch.no_grad()
def calibrate_input_ranges(
    model: Module,
    calibration_type: InputRangeCalibrationType | str,
    dataloader: Iterable[Any],
    quantile: float = 0.99995,
    max_samples: int = 1000,
    std_alpha: float | None = None,
    force_all_layers: bool = True,
    verbose: bool = False,
) -> None:
    """Set the input ranges of ``model``'s analog layers from data.

    Every analog layer whose ``rpu_config`` has ``pre_post`` is calibrated; with
    ``force_all_layers`` (default) also those whose input range is not enabled: they get
    one that is not trained (``learn_input_range=False``), so their ``state_dict`` gains
    ``input_range`` and ``input_range_update_idx``. A calibrated layer gets its own copy of
    the configuration with ``init_from_data=0`` (no initialisation from data afterwards),
    ``init_value`` the new range and ``calibration_info`` the type's value.

    The model runs in eval mode on every item of ``dataloader`` (a tensor, ``(args,
    kwargs)``, or a tuple whose first element is the input, as a ``DataLoader`` of
    ``(x, y)`` gives). ``MAX`` and ``CACHE_QUANTILE`` run the calibrated layers' tiles
    exactly (no periphery), so every layer sees the inputs of the noise-free network;
    the moving strategies use the configured periphery.

    Args:
        model: a module with analog layers.
        calibration_type: an :class:`InputRangeCalibrationType` (or its name or value).
        dataloader: the data (iterated once).
        quantile: for the quantile strategies, in ``(0, 1]``.
        max_samples: the rows ``CACHE_QUANTILE`` keeps (a random subset, drawn with
            torch's global generator), and the batches ``MOVING_STD`` averages; ``>= 1``.
        std_alpha: the multiple of the standard deviation for ``MOVING_STD`` (``None``:
            each layer's ``init_std_alpha``).
        force_all_layers: also calibrate layers whose input range is not enabled.
        verbose: print each layer's new range.

    Raises:
        ValueError: a bad argument, or no layer to calibrate; nothing changes then.
    """
    kind = _calibration_type(calibration_type)
    _check_arguments(quantile, max_samples, std_alpha)
    if kind is InputRangeCalibrationType.NONE:
        return
    layers = _calibrated_layers(model, force_all_layers)
    if not layers:
        raise ValueError(
            f"{type(model).__name__} has no analog layer to calibrate: input ranges need "
            "rpu_config=InferenceRPUConfig(...)"
            + ("" if force_all_layers else " with pre_post.input_range.enable=True")
        )
    was_training = model.training
    watches: list[_Watch] = []
    for _, layer in layers:
        found = input_range_parameters(layer)
        assert found is not None  # _calibrated_layers keeps layers with pre_post only
        params = copy.deepcopy(found)
        if not params.enable:
            params.enable, params.learn_input_range = True, False
        params.init_from_data = 0
        if std_alpha is not None:
            params.init_std_alpha = float(std_alpha)
        config = copy.copy(layer.rpu_config)
        config.pre_post = copy.copy(config.pre_post)
        config.pre_post.input_range = params
        layer.rpu_config = config
        if layer._parameters.get("input_range") is None:
            init_input_range(layer, device=layer.grid.device)
        watches.append(_Watch(layer, kind, quantile, max_samples, params.init_std_alpha))
    exact = kind in (InputRangeCalibrationType.MAX, InputRangeCalibrationType.CACHE_QUANTILE)
    saved = [(t, t.forward_periphery) for _, layer in layers for t in layer.grid.tiles]
    handles = [watch.layer.register_forward_pre_hook(watch) for watch in watches]
    model.eval()
    try:
        if exact:
            for tile, _ in saved:
                tile.forward_periphery = None
        for item in dataloader:
            _feed(model, item)
    finally:
        for handle in handles:
            handle.remove()
        if exact:
            for tile, periphery in saved:
                tile.forward_periphery = periphery
        model.train(was_training)
    for (name, layer), watch in zip(layers, watches, strict=True):
        value = watch.result()
        if watch.used == 0 or (value is not None and value <= 0):
            # only zero (or, for the moving std, constant) inputs reached the layer
            got = "no range" if value is None else f"the range {value}"
            warnings.warn(
                f"calibrate_input_ranges: layer {name!r} got {got} from the data (a range "
                f"must be > 0); it keeps its range {float(layer.input_range.detach()):.5g}",
                stacklevel=2,
            )
            continue
        if value is not None:
            set_input_range(layer, value)
        params = layer.rpu_config.pre_post.input_range
        params.init_value = float(layer.input_range.detach())
        params.calibration_info = kind.value
        if verbose:
            print(f"Calibrated {name}: {params.init_value:.5f}")

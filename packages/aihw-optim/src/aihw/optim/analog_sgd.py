"""``AnalogSGD``: :class:`torch.optim.SGD` that also trains analog tiles in place.

Analog layers (``aihw.nn``) record the inputs and errors of each backward pass on their
tile and give their weight no ``.grad``. :meth:`AnalogSGD.step` asks each tile to apply
what it recorded (``tile.apply_recorded_update(lr)``), then runs ``torch.optim.SGD``'s own
step on every other parameter, so digital parameters get exactly SGD's update.

aihw-optim depends on aihw-core only: it finds analog weights by duck typing, a parameter
with an ``analog_tile`` attribute (set by ``aihw.nn`` layers on their ``weight``; a
parameter linked to several tiles also has ``analog_tiles``, the list of them) or, in
:meth:`AnalogSGD.regroup_param_groups`, a module with ``analog_tiles()`` whose parameter
shares a tile's weight storage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor
from torch.nn import Module
from torch.optim import SGD

__all__ = ["AnalogSGD"]


def _check_number(name: str, value: Any, *, allow_tensor: bool = False) -> float:
    """Return ``value`` as a float, or raise naming ``name``: a finite number ``>= 0``."""
    number = value
    if allow_tensor and isinstance(value, Tensor):
        if value.numel() != 1 or value.is_complex():
            raise ValueError(
                f"{name} must be a number or a 1-element tensor; got shape {tuple(value.shape)}"
            )
        number = value.item()
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise TypeError(f"{name} must be a number >= 0; got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number >= 0; got {number}")
    if number < 0:
        raise ValueError(f"Invalid {name}: {number}; {name} must be >= 0")
    return float(number)


def _tile_of(param: Tensor) -> Any:
    return getattr(param, "analog_tile", None)


def _tiles_of(param: Tensor) -> list[Any]:
    """Every tile ``param`` stands for: its ``analog_tiles`` list, else its ``analog_tile``.

    A layer split onto several tiles (``aihw.nn``, tile splitting or groups) links one
    parameter to several tiles; each of them applies its own recorded update.
    """
    tiles = getattr(param, "analog_tiles", None)
    if tiles is not None:
        return list(tiles)
    tile = _tile_of(param)
    return [] if tile is None else [tile]


def _group_tiles(group: dict[str, Any]) -> Iterator[Any]:
    """The analog tiles of a parameter group: its ``analog_tile`` key and its params'."""
    if group.get("analog_tile") is not None:
        yield group["analog_tile"]
    for param in group["params"]:
        yield from _tiles_of(param)


def _shares_storage(param: Tensor, tile: Any) -> bool:
    weights = getattr(tile, "weights", None)
    if not isinstance(weights, Tensor) or param.device != weights.device:
        return False
    return param.untyped_storage().data_ptr() == weights.untyped_storage().data_ptr()


def _inner_sgd_step() -> Callable[..., Any]:
    # Optimizer.__init__ wraps a class's `step` once with the step hooks (marked `hooked`);
    # they already run around AnalogSGD.step, so call SGD's step without running them twice.
    step = SGD.step
    while getattr(step, "hooked", False):
        step = step.__wrapped__  # type: ignore[attr-defined]
    return step


class AnalogSGD(SGD):
    r"""Stochastic gradient descent for models with analog layers.

    Digital parameters (biases, ``torch.nn`` layers) get exactly
    :class:`torch.optim.SGD`'s update, with momentum, dampening, weight decay, Nesterov
    and ``maximize`` as there. An analog weight (a parameter with an ``analog_tile``) is
    updated inside its tile: at each :meth:`step`, the tile applies one update with
    everything its backward passes recorded since the last step, with the learning rate
    of the weight's group. On a floating-point tile that is the exact SGD step
    ``W -= lr * sum(d^T x)``; on a pulsed tile, the same step in expectation, by pulses.

    Momentum, dampening, weight decay and Nesterov do not apply to analog weights (the
    tile sees only the current gradient); ``maximize=True`` is rejected for them. What
    acts on ``.grad`` (gradient clipping, ``torch.amp.GradScaler`` unscaling) does not
    reach the recorded updates either.

    Like gradients, recorded updates accumulate over backward passes until they are
    used: :meth:`step` consumes them and :meth:`zero_grad` discards them.

    Analog weights are found with or without :meth:`regroup_param_groups`; the method is
    kept for the original user guide's API and puts each analog weight in a group of its
    own.

    Args:
        params: iterable of parameters or of dicts defining parameter groups.
        lr: learning rate, ``>= 0``. Default: ``1e-3``.
        momentum: momentum factor, ``>= 0`` (digital parameters only). Default: 0.
        dampening: dampening for momentum (digital parameters only). Default: 0.
        weight_decay: L2 penalty, ``>= 0`` (digital parameters only). Default: 0.
        nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
        maximize: maximize the objective (digital parameters only). Default: ``False``.
        foreach, differentiable, fused: as for :class:`torch.optim.SGD` (digital
            parameters only).

    Examples::

        >>> from aihw.nn import AnalogLinear
        >>> from aihw.optim import AnalogSGD
        >>> model = AnalogLinear(4, 2)
        >>> optimizer = AnalogSGD(model.parameters(), lr=0.1)
        >>> optimizer.regroup_param_groups(model)
        >>> optimizer.zero_grad()
        >>> loss_fn(model(input), target).backward()
        >>> optimizer.step()
    """

    def __init__(
        self,
        params: Any,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float | Tensor = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_number("lr", lr, allow_tensor=True)
        _check_number("momentum", momentum)
        _check_number("weight_decay", weight_decay, allow_tensor=True)
        if isinstance(dampening, bool) or not isinstance(dampening, (int, float)):
            raise TypeError(f"dampening must be a number; got {type(dampening).__name__}")
        if not math.isfinite(dampening):
            raise ValueError(f"dampening must be a finite number; got {dampening}")
        for name, flag in (("nesterov", nesterov), ("maximize", maximize)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False; got {flag!r}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening; got "
                f"nesterov=True with momentum={momentum}, dampening={dampening}"
            )
        # `fused` appeared in torch 2.3; pass it only when asked, for older torch.
        extra = {} if fused is None else {"fused": fused}
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            **extra,
        )

    # -- parameter groups ----------------------------------------------------------------
    def regroup_param_groups(self, model: Module | None = None) -> None:
        """Move each analog weight into a parameter group of its own.

        The new group is ``{'params': [weight], 'analog_tile': tile, ...}`` with the
        hyperparameters of the group the weight came from. Calling it again changes
        nothing. Parameter state (momentum buffers) is kept.

        Args:
            model: optional; its modules with ``analog_tiles()`` tell which of the
                optimizer's parameters hold a tile's weights (besides parameters with an
                ``analog_tile`` attribute). Parameters not in the optimizer are not added.
        """
        if model is not None and not isinstance(model, Module):
            raise TypeError(f"model must be a torch.nn.Module or None; got {type(model).__name__}")
        tiles_by_param: dict[int, Any] = {}
        if model is not None:
            for module in model.modules():
                analog_tiles = getattr(module, "analog_tiles", None)
                if not callable(analog_tiles):
                    continue
                tiles = list(analog_tiles())
                for param in module.parameters(recurse=False):
                    for tile in tiles:
                        if _shares_storage(param, tile):
                            tiles_by_param[id(param)] = tile
        new_groups: list[dict[str, Any]] = []
        for group in self.param_groups:
            if group.get("analog_tile") is not None:
                new_groups.append(group)  # already an analog group
                continue
            digital = []
            analog = []
            for param in group["params"]:
                tile = _tile_of(param)
                if tile is None:
                    tile = tiles_by_param.get(id(param))
                (digital if tile is None else analog).append((param, tile))
            options = {k: v for k, v in group.items() if k != "params"}
            if digital or not analog:
                group["params"] = [p for p, _ in digital]
                new_groups.append(group)
            for param, tile in analog:
                new_groups.append({"params": [param], "analog_tile": tile, **options})
        self.param_groups[:] = new_groups

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`torch.optim.Optimizer.state_dict`, without the tile objects.

        A group's ``analog_tile`` is saved as ``None``; :meth:`load_state_dict` puts the
        live tiles back.
        """
        state = super().state_dict()
        for group in state["param_groups"]:
            if "analog_tile" in group:
                group["analog_tile"] = None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`torch.optim.Optimizer.load_state_dict`, keeping the live tiles."""
        live = [group.get("analog_tile") for group in self.param_groups]
        super().load_state_dict(state_dict)
        for group, tile in zip(self.param_groups, live, strict=True):
            if "analog_tile" in group:
                group["analog_tile"] = tile if tile is not None else next(_group_tiles(group), None)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters and discard the tiles' recorded updates.

        Args:
            set_to_none: as for :meth:`torch.optim.Optimizer.zero_grad`.
        """
        super().zero_grad(set_to_none)
        for group in self.param_groups:
            for tile in _group_tiles(group):
                tile.clear_recorded()

    # -- the step ------------------------------------------------------------------------
    def _analog_updates(self) -> list[tuple[Any, Any]]:
        """``(tile, lr)`` for every analog tile once, checked before anything changes."""
        updates: list[tuple[Any, Any]] = []
        seen: set[int] = set()
        for index, group in enumerate(self.param_groups):
            for tile in _group_tiles(group):
                if id(tile) in seen:
                    continue
                if group.get("maximize", False):
                    raise ValueError(
                        f"AnalogSGD: maximize=True (param group {index}) is not supported for "
                        "analog weights; the tile applies gradient descent only"
                    )
                seen.add(id(tile))
                lr = group["lr"]
                updates.append((tile, lr.item() if isinstance(lr, Tensor) else lr))
        return updates

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one optimization step: analog tiles first, then SGD on the rest.

        Args:
            closure: a closure that re-evaluates the model and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for tile, lr in self._analog_updates():
            tile.apply_recorded_update(lr)
        # SGD's own step on the digital parameters only (analog weights have no .grad
        # anyway; leaving them out also keeps SGD state away from them).
        saved = [group["params"] for group in self.param_groups]
        try:
            for group in self.param_groups:
                if group.get("analog_tile") is not None:
                    group["params"] = []
                else:
                    group["params"] = [p for p in group["params"] if _tile_of(p) is None]
            _inner_sgd_step()(self)
        finally:
            for group, params in zip(self.param_groups, saved, strict=True):
                group["params"] = params
        return loss

"""``AnalogSGD``: :class:`torch.optim.SGD` that also trains analog tiles in place.

Analog layers (``aihw.nn``) record the inputs and errors of each backward pass on their
tiles and give their weight no ``.grad``; they link each weight to its tiles
(:func:`aihw.core.links.link_parameter`). :meth:`AnalogSGD.step` has the shape of
``SGD.step``: per parameter group, :meth:`AnalogSGD._init_group` collects the digital
parameters with a gradient, their momentum buffers and the group's tiles
(:func:`aihw.core.links.tiles_of`, asked at every step, so tiles that a checkpoint load
replaced are found), and :func:`analog_sgd` applies the tiles' recorded updates and
``torch.optim.sgd.sgd`` to the digital parameters, so they get exactly SGD's update.

aihw-optim depends on aihw-core only: besides the linked parameters, a module with
``analog_tiles()`` whose parameter shares a tile's weight storage tells
:meth:`AnalogSGD.regroup_param_groups` which tile a parameter holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.optim import SGD
from torch.optim.sgd import sgd

from aihw.core.distributed import synchronize_recorded_updates
from aihw.core.links import apply_recorded_updates, step_consumes, tiles_of

from ._tile_groups import TileGroups, group_tiles

__all__ = ["AnalogSGD", "analog_sgd"]


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


def analog_sgd(
    params: list[Tensor],
    grads: list[Tensor],
    momentum_buffer_list: list[Tensor | None],
    tiles: list[Any],
    has_sparse_grad: bool = False,
    foreach: bool | None = None,
    fused: bool | None = None,
    grad_scale: Tensor | None = None,
    found_inf: Tensor | None = None,
    *,
    weight_decay: float,
    momentum: float,
    lr: float | Tensor,
    dampening: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    """The functional form of :class:`AnalogSGD` for one parameter group.

    Each of ``tiles`` applies the update it recorded, with the learning rate ``lr`` (no
    momentum, weight decay or ``maximize``: the tile sees only the current gradient);
    then ``params`` (digital, with their ``grads`` and momentum buffers) get
    :func:`torch.optim.sgd.sgd` with the other arguments as given.
    """
    if tiles:
        with torch.no_grad():
            apply_recorded_updates(tiles, lr.item() if isinstance(lr, Tensor) else lr)
    sgd(
        params,
        grads,
        momentum_buffer_list,
        has_sparse_grad=has_sparse_grad,
        foreach=foreach,
        fused=fused,
        grad_scale=grad_scale,
        found_inf=found_inf,
        weight_decay=weight_decay,
        momentum=momentum,
        lr=lr,  # type: ignore[arg-type]
        dampening=dampening,
        nesterov=nesterov,
        maximize=maximize,
    )


class AnalogSGD(TileGroups, SGD):
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
    used: :meth:`step` consumes them and :meth:`zero_grad` discards them. The step also
    consumes the gradients of the analog layers' digital parameters (their bias and
    learned output scale; it sets their ``.grad`` to ``None``), so that a whole analog
    layer trains alike in a loop without :meth:`zero_grad`. Other parameters keep
    ``torch.optim.SGD``'s behaviour: their gradients accumulate until :meth:`zero_grad`.

    The analog learning rate is the group's ``lr``, so LR schedulers change it too. Under
    :func:`aihw.nn.prepare_for_ddp`, :meth:`step` first gathers the recorded rows of all
    ranks (:mod:`aihw.core.distributed`), so that every replica applies the same update.

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

    #: It applies the tiles' recorded updates (:data:`aihw.core.links.UPDATES_ANALOG_TILES`).
    updates_analog_tiles = True

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

    # -- the step ------------------------------------------------------------------------
    def _init_group(  # type: ignore[override]
        self,
        group: dict[str, Any],
        params: list[Tensor],
        grads: list[Tensor],
        momentum_buffer_list: list[Tensor | None],
        tiles: list[Any],
    ) -> bool:
        """As ``SGD._init_group`` for the group's digital parameters; ``tiles`` gets the
        group's live analog tiles. Returns whether a gradient is sparse."""
        live = group_tiles(group)
        tiles += live
        analog = group.get("analog_tile") is not None
        if analog and live:
            group["analog_tile"] = live[0]  # the live tile, should a load have replaced it
        digital = [] if analog else [p for p in group["params"] if not tiles_of(p)]
        has_sparse_grad: bool = super()._init_group(  # type: ignore[no-untyped-call]
            {**group, "params": digital}, params, grads, momentum_buffer_list
        )
        return has_sparse_grad

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one optimization step: each group's analog tiles, then SGD on the rest.

        Everything is checked before anything changes (``maximize`` with analog weights
        is rejected).

        Args:
            closure: a closure that re-evaluates the model and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = []
        seen: set[int] = set()
        for index, group in enumerate(self.param_groups):
            params: list[Tensor] = []
            grads: list[Tensor] = []
            momentum_buffer_list: list[Tensor | None] = []
            tiles: list[Any] = []
            has_sparse_grad = self._init_group(group, params, grads, momentum_buffer_list, tiles)
            tiles = [t for t in dict.fromkeys(tiles) if id(t) not in seen]  # each tile once
            seen.update(id(t) for t in tiles)
            if tiles and group.get("maximize", False):
                raise ValueError(
                    f"AnalogSGD: maximize=True (param group {index}) is not supported for "
                    "analog weights; the tile applies gradient descent only"
                )
            groups.append((group, params, grads, momentum_buffer_list, tiles, has_sparse_grad))
        # Under prepare_for_ddp: every rank's records, so every replica updates alike.
        synchronize_recorded_updates(p for group in self.param_groups for p in group["params"])
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            for group, params, grads, momentum_buffer_list, tiles, has_sparse_grad in groups:
                analog_sgd(
                    params,
                    grads,
                    momentum_buffer_list,
                    tiles,
                    has_sparse_grad=has_sparse_grad,
                    foreach=group["foreach"],
                    fused=group.get("fused"),
                    grad_scale=getattr(self, "grad_scale", None),
                    found_inf=getattr(self, "found_inf", None),
                    weight_decay=group["weight_decay"],
                    momentum=group["momentum"],
                    lr=group["lr"],
                    dampening=group["dampening"],
                    nesterov=group["nesterov"],
                    maximize=group["maximize"],
                )
                if group["momentum"] != 0:
                    for param, buffer in zip(params, momentum_buffer_list, strict=True):
                        self.state[param]["momentum_buffer"] = buffer
                for param in params:
                    if step_consumes(param):
                        param.grad = None  # consumed, like the tiles' recorded updates
        return loss

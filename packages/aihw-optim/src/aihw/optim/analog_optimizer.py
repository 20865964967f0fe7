"""``AnalogOptimizer``: any torch optimizer for the digital parameters, pulsed updates for
the tiles.

``AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=1e-3)`` returns an instance of
a class made once per optimizer class, ``AnalogAdam``, that subclasses both
:class:`AnalogOptimizer` and ``Adam``: the parameter groups are Adam's, so LR schedulers,
``state_dict`` and parameter groups work as for Adam. At each :meth:`AnalogOptimizer.step`
the tiles of each group apply their recorded updates with the group's current ``lr``
(after gathering the ranks' records under :func:`aihw.nn.prepare_for_ddp`), then the
wrapped optimizer steps; it skips the analog weights, which never get a ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from aihw.core.distributed import synchronize_recorded_updates
from aihw.core.links import (
    UPDATES_ANALOG_TILES,
    apply_recorded_updates,
    step_consumes,
)

from ._tile_groups import TileGroups, group_tiles

__all__ = ["AnalogOptimizer"]

#: The class made for each wrapped optimizer class.
_SUBCLASSES: dict[type[Optimizer], type[AnalogOptimizer]] = {}


def _subclass(optimizer_cls: Any) -> type[AnalogOptimizer]:
    if not (isinstance(optimizer_cls, type) and issubclass(optimizer_cls, Optimizer)):
        got = optimizer_cls.__name__ if isinstance(optimizer_cls, type) else repr(optimizer_cls)
        raise TypeError(
            "AnalogOptimizer: optimizer_cls must be a torch.optim.Optimizer subclass such as "
            f"torch.optim.Adam; got {got}"
        )
    if getattr(optimizer_cls, UPDATES_ANALOG_TILES, False) is True:
        raise TypeError(
            f"AnalogOptimizer: optimizer_cls={optimizer_cls.__name__} applies the analog "
            "updates itself; use it directly, or wrap a digital optimizer such as "
            "torch.optim.Adam"
        )
    subclass = _SUBCLASSES.get(optimizer_cls)
    if subclass is None:
        name = f"Analog{optimizer_cls.__name__}"
        doc = f"{optimizer_cls.__name__} for digital parameters, pulsed updates for tiles."
        subclass = type(name, (AnalogOptimizer, optimizer_cls), {"__doc__": doc})
        subclass.__module__ = __name__
        _SUBCLASSES[optimizer_cls] = subclass
    return subclass


class AnalogOptimizer(TileGroups, Optimizer):
    r"""Pair the analog tiles' pulsed update with any torch optimizer.

    ``AnalogOptimizer(optimizer_cls, params, *args, **kwargs)`` builds
    ``optimizer_cls(params, *args, **kwargs)`` (an instance of a subclass of both, named
    ``Analog<Name>``) whose :meth:`step` first makes every analog tile apply the update
    its backward passes recorded, with the ``lr`` of the weight's parameter group, then
    runs ``optimizer_cls``'s step on the digital parameters (biases, ``torch.nn``
    layers). An LR scheduler changes the group's ``lr``, and so the analog learning rate
    too. On a floating-point tile the analog update is the SGD step
    ``W -= lr * sum(d^T x)``; the optimizer's other options (momentum, betas, weight
    decay) act on digital parameters only, and ``maximize=True`` is refused for groups
    with analog weights.

    Adam's typical ``lr`` (1e-3) is small for the tiles' SGD; give the analog weights a
    group of their own::

        analog = [p for n, p in model.named_parameters() if n.endswith("weight")]
        digital = [p for n, p in model.named_parameters() if not n.endswith("weight")]
        optimizer = AnalogOptimizer(
            torch.optim.Adam, [{"params": analog, "lr": 0.1}, {"params": digital}], lr=1e-3
        )

    As with :class:`AnalogSGD`, :meth:`zero_grad` discards the recorded updates, and a
    step consumes (sets to ``None``) the gradients of the analog layers' digital
    parameters. :class:`AnalogSGD` itself stays what plain-SGD users construct.

    Args:
        optimizer_cls: a :class:`torch.optim.Optimizer` subclass, e.g.
            ``torch.optim.Adam`` (not one that applies analog updates itself, such as
            :class:`AnalogSGD`).
        params, \*args, \*\*kwargs: the arguments of ``optimizer_cls``.

    Examples::

        >>> optimizer = AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=1e-3)
        >>> scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
        >>> loss_fn(model(x), y).backward()
        >>> optimizer.step()
        >>> scheduler.step()
    """

    #: It applies the tiles' recorded updates (:data:`aihw.core.links.UPDATES_ANALOG_TILES`).
    updates_analog_tiles = True

    def __new__(cls, optimizer_cls: Any = None, *args: Any, **kwargs: Any) -> AnalogOptimizer:
        if cls is AnalogOptimizer:
            cls = _subclass(optimizer_cls)
        return super().__new__(cls)

    def __init__(self, optimizer_cls: Any, params: Any, *args: Any, **kwargs: Any) -> None:
        base = _subclass(optimizer_cls)
        if not isinstance(self, base):
            raise TypeError(
                f"{type(self).__name__}: optimizer_cls={optimizer_cls.__name__} is not the "
                "optimizer this class wraps"
            )
        super().__init__(params, *args, **kwargs)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """The tiles' recorded updates with each group's ``lr``, then the wrapped
        optimizer's step on the digital parameters.

        Args:
            closure: a closure that re-evaluates the model and returns the loss.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work: list[tuple[list[Any], float]] = []
        seen: set[int] = set()
        for index, group in enumerate(self.param_groups):
            tiles = [t for t in dict.fromkeys(group_tiles(group)) if id(t) not in seen]
            seen.update(id(t) for t in tiles)
            if tiles and group.get("maximize", False):
                raise ValueError(
                    f"{type(self).__name__}: maximize=True (param group {index}) is not "
                    "supported for analog weights; the tile applies gradient descent only"
                )
            lr = group["lr"]
            work.append((tiles, lr.item() if isinstance(lr, Tensor) else float(lr)))
        synchronize_recorded_updates(p for group in self.param_groups for p in group["params"])
        with torch.no_grad():
            for tiles, lr in work:
                if tiles:
                    apply_recorded_updates(tiles, lr)
        super().step()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None and step_consumes(param):
                    param.grad = None  # consumed, like the tiles' recorded updates
        return loss

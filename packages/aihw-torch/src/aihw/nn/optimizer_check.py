"""A warning when an optimizer that cannot reach the analog tiles steps over analog weights.

An analog weight gets no ``.grad``: its update lives in its tiles, and only an optimizer
that applies it (such as :class:`aihw.optim.AnalogSGD`, whose class says so with
:data:`aihw.core.links.UPDATES_ANALOG_TILES`) changes the weight. ``torch.optim.SGD`` or
``Adam`` over an analog model would leave the analog weights unchanged without a word (and
the tiles would keep every batch recorded). A global optimizer step pre-hook, installed
when ``aihw.nn`` is imported, warns once per optimizer (and again if groups are added).
"""

from __future__ import annotations

import warnings
from typing import Any

from torch.optim import Optimizer
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.hooks import RemovableHandle

from aihw.core.links import UPDATES_ANALOG_TILES, tiles_of

__all__ = ["check_optimizer", "install"]

#: ``optimizer.__dict__`` key: how many parameter groups were checked.
_CHECKED = "_aihw_checked_groups"
_handle: RemovableHandle | None = None


def check_optimizer(optimizer: Optimizer, *_: Any) -> None:
    """Warn (``UserWarning``) if ``optimizer`` does not apply recorded analog updates but
    holds analog weights; checked once per optimizer and its number of groups."""
    if getattr(optimizer, UPDATES_ANALOG_TILES, False) is True:
        return
    groups = optimizer.param_groups
    if optimizer.__dict__.get(_CHECKED) == len(groups):
        return
    optimizer.__dict__[_CHECKED] = len(groups)
    analog = [
        (index, param)
        for index, group in enumerate(groups)
        for param in group["params"]
        if tiles_of(param)
    ]
    if not analog:
        return
    index, param = analog[0]
    owner = getattr(param, "analog_owner", "an analog layer's weight")
    more = f" and {len(analog) - 1} more analog weight(s)" if len(analog) > 1 else ""
    warnings.warn(
        f"{type(optimizer).__name__} cannot update analog weights: {owner} "
        f"{tuple(param.shape)} (param group {index}){more} get no .grad and stay unchanged; "
        "their updates are applied inside the analog tiles. Use aihw.optim.AnalogSGD.",
        UserWarning,
        stacklevel=3,
    )


def install() -> None:
    """Register :func:`check_optimizer` as a global optimizer step pre-hook (once)."""
    global _handle
    if _handle is None:
        _handle = register_optimizer_step_pre_hook(check_optimizer)

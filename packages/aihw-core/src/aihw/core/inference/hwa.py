"""The hardware-aware training state of an :class:`~aihw.core.tiles.InferenceTile`: its
clip, remap and modifier parameters, the modifier's stream counter, the modified copy of
the weights the training passes use, and the digital output scales that remapping moves
the weights' factor into (docs/physics/inference.md#hardware-aware-training).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from .. import dispatch
from .clip import WeightClipParameter, clip_weights
from .modifiers import ModifierCache, WeightModifierParameter, modify_weights
from .remap import WeightRemapParameter, remap_weights

__all__ = ["HWAState", "checked_hwa_parameter"]


def checked_hwa_parameter(name: str, value: Any, kind: type[Any]) -> Any:
    """``value`` if ``None`` or a validated ``kind``, else ``TypeError`` naming ``name``."""
    if value is None:
        return None
    if not isinstance(value, kind):
        raise TypeError(
            f"{name} must be None or a {kind.__name__} instance; got {type(value).__name__}"
        )
    value.validate()
    return dataclasses.replace(value)  # the tile's own copy


@dataclasses.dataclass
class HWAState:
    """Clipping, remapping and the weight modifier after every optimizer step.

    Attributes:
        clip, remap, modifier: the parameters (``None``: that step is skipped).
        modifier_index: the stream index of the next modified copy (32-bit counter).
        modified: ``[out, x]`` the modified copy of the last step, or ``None`` (none yet,
            or the weights were set since).
        out_scales: ``[out]`` the digital output scales of remapping, or ``None`` (all 1).
    """

    clip: WeightClipParameter | None = None
    remap: WeightRemapParameter | None = None
    modifier: WeightModifierParameter | None = None
    modifier_index: int = 0
    modified: Tensor | None = None
    out_scales: Tensor | None = None
    cache: ModifierCache = dataclasses.field(default_factory=ModifierCache, repr=False,
                                             compare=False)  # fmt: skip

    @property
    def active(self) -> bool:
        """Whether any of the three steps does something."""
        return any(p is not None and p.enabled for p in (self.clip, self.remap, self.modifier))

    def uses_modified(self, is_test: bool) -> bool:
        """Whether the passes use the modified copy now (training, or eval with
        ``enable_during_test``)."""
        if self.modified is None or self.modifier is None:
            return False
        return not is_test or self.modifier.enable_during_test

    def after_update(
        self, weights: Tensor, seed: int, implementation: dispatch.EngineName | None = None
    ) -> None:
        """Clip, remap (both in place on ``weights``), then draw the modified copy (by
        ``implementation``, the tile's engine; default: the compiled pass where it runs)."""
        with torch.no_grad():
            if self.clip is not None and self.clip.enabled:
                clip_weights(weights, self.clip)
            if self.remap is not None and self.remap.enabled:
                self.out_scales = remap_weights(weights, self.out_scales, self.remap)
            self.draw(weights, seed, implementation)

    def draw(
        self, weights: Tensor, seed: int, implementation: dispatch.EngineName | None = None
    ) -> None:
        """Draw the next modified copy of ``weights`` (nothing if the modifier does
        nothing) and advance the counter."""
        modifier = self.modifier
        if modifier is None or not modifier.enabled:
            self.modified = None
            return
        self.modified = modify_weights(weights, modifier, seed, self.modifier_index,
                                       implementation=implementation,
                                       cache=self.cache)  # fmt: skip
        self.modifier_index = (self.modifier_index + 1) & 0xFFFFFFFF

    def to(self, device: torch.device) -> None:
        if self.modified is not None:
            self.modified = self.modified.to(device)
        if self.out_scales is not None:
            self.out_scales = self.out_scales.to(device)

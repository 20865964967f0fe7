"""Analog layers for PyTorch (distribution ``aihw-torch``).

Layers whose weights live on simulated analog tiles (:mod:`aihw.core.tiles`). They are
used like their ``torch.nn`` counterparts; train them with :class:`aihw.optim.AnalogSGD`,
which applies the updates recorded by the backward pass inside the tiles.
"""

from .modules import AnalogConv2d, AnalogLayerBase, AnalogLinear, AnalogSequential

__all__ = ["AnalogConv2d", "AnalogLayerBase", "AnalogLinear", "AnalogSequential"]

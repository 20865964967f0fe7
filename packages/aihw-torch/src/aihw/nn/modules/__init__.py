"""Analog layers: ``torch.nn`` modules whose weights live on analog tiles."""

from .base import AnalogLayerBase
from .container import AnalogSequential
from .conv import AnalogConv2d
from .linear import AnalogLinear

__all__ = ["AnalogConv2d", "AnalogLayerBase", "AnalogLinear", "AnalogSequential"]

"""Analog layers: ``torch.nn`` modules whose weights live on analog tiles."""

from .base import AnalogLayerBase, LayerStateError
from .container import AnalogSequential
from .conv import AnalogConv1d, AnalogConv2d, AnalogConv3d
from .linear import AnalogLinear

__all__ = [
    "AnalogConv1d",
    "AnalogConv2d",
    "AnalogConv3d",
    "AnalogLayerBase",
    "AnalogLinear",
    "AnalogSequential",
    "LayerStateError",
]

"""Analog layers: ``torch.nn`` modules whose weights live on analog tiles."""

from .base import AnalogLayerBase, LayerStateError
from .container import AnalogSequential
from .conv import AnalogConv1d, AnalogConv2d, AnalogConv3d
from .linear import AnalogLinear, AnalogLinearMapped
from .rnn import (
    AnalogGRU,
    AnalogGRUCell,
    AnalogLSTM,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogRecurrentCell,
    AnalogRNN,
    AnalogVanillaRNN,
    AnalogVanillaRNNCell,
)

__all__ = [
    "AnalogConv1d",
    "AnalogConv2d",
    "AnalogConv3d",
    "AnalogGRU",
    "AnalogGRUCell",
    "AnalogLSTM",
    "AnalogLSTMCell",
    "AnalogLSTMCellCombinedWeight",
    "AnalogLayerBase",
    "AnalogLinear",
    "AnalogLinearMapped",
    "AnalogRNN",
    "AnalogRecurrentCell",
    "AnalogSequential",
    "AnalogVanillaRNN",
    "AnalogVanillaRNNCell",
    "LayerStateError",
]

"""Analog recurrent layers: cells (one time step) and the layers that run them over
sequences, in the reference toolkit's form (:class:`AnalogRNN`) and ``torch.nn``'s
(:class:`AnalogLSTM`, :class:`AnalogGRU`, :class:`AnalogVanillaRNN`)."""

from .analog_rnn import AnalogRNN
from .cells import (
    AnalogGRUCell,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogRecurrentCell,
    AnalogVanillaRNNCell,
    LSTMState,
)
from .layers import AnalogGRU, AnalogLSTM, AnalogVanillaRNN

__all__ = [
    "AnalogGRU",
    "AnalogGRUCell",
    "AnalogLSTM",
    "AnalogLSTMCell",
    "AnalogLSTMCellCombinedWeight",
    "AnalogRNN",
    "AnalogRecurrentCell",
    "AnalogVanillaRNN",
    "AnalogVanillaRNNCell",
    "LSTMState",
]

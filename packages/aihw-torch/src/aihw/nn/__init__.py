"""Analog layers for PyTorch (distribution ``aihw-torch``).

Layers whose weights live on simulated analog tiles (:mod:`aihw.core.tiles`). They are
used like their ``torch.nn`` counterparts; train them with :class:`aihw.optim.AnalogSGD`,
which applies the updates recorded by the backward pass inside the tiles.
:func:`convert_to_analog` turns an existing ``torch.nn`` model analog in one call.
"""

from .calibration import InputRangeCalibrationType, calibrate_input_ranges
from .conversion import convert_to_analog, convert_to_digital
from .distributed import prepare_for_ddp
from .inference import drift_analog_weights, program_analog_weights, remap_analog_weights
from .mapping import MappingParameter, MappingParameters
from .matrix import AnalogMatrix
from .modules import (
    AnalogConv1d,
    AnalogConv2d,
    AnalogConv3d,
    AnalogGRU,
    AnalogGRUCell,
    AnalogLayerBase,
    AnalogLinear,
    AnalogLinearMapped,
    AnalogLSTM,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogRecurrentCell,
    AnalogRNN,
    AnalogSequential,
    AnalogVanillaRNN,
    AnalogVanillaRNNCell,
    LayerStateError,
)
from .modules.checkpoint import adopt_checkpoint_devices
from .optimizer_check import install as _install_optimizer_check
from .persistence import CheckpointError, check_state_dict, protect_load_state_dict
from .summary import AnalogSummary, analog_summary

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
    "AnalogMatrix",
    "AnalogRNN",
    "AnalogRecurrentCell",
    "AnalogSequential",
    "AnalogSummary",
    "AnalogVanillaRNN",
    "AnalogVanillaRNNCell",
    "CheckpointError",
    "InputRangeCalibrationType",
    "LayerStateError",
    "MappingParameter",
    "MappingParameters",
    "adopt_checkpoint_devices",
    "analog_summary",
    "calibrate_input_ranges",
    "check_state_dict",
    "convert_to_analog",
    "convert_to_digital",
    "drift_analog_weights",
    "prepare_for_ddp",
    "program_analog_weights",
    "remap_analog_weights",
    "protect_load_state_dict",
]

_install_optimizer_check()

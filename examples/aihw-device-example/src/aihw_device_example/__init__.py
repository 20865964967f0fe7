"""An example aihw device plugin: one device for each way of defining a device.

- :class:`LogNormalStepDevice`: the built-in ``constant_step`` law with its own parameters
  and device-to-device sampling (runs in the compiled engine);
- :class:`SaturatingDevice`: a new step law written in torch (``saturating_step``), run on
  the plain-torch reference path on the CPU or a GPU;
- :data:`SaturatingTabulatedDevice`: the same law tabulated into the native
  ``piecewise_step`` law, with the tabulation error measured and checked.
"""

from .devices import (
    LogNormalStepDevice,
    LogNormalStepParameters,
    SaturatingDevice,
    SaturatingParameters,
    SaturatingTabulatedDevice,
)

__all__ = [
    "LogNormalStepDevice",
    "LogNormalStepParameters",
    "SaturatingDevice",
    "SaturatingParameters",
    "SaturatingTabulatedDevice",
]
__version__ = "0.1.0"

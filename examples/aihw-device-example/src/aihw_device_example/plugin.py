"""The plugin module named by the entry point: aihw calls its ``register_devices`` hook."""

from aihw.devices import hookimpl

from .devices import LogNormalStepDevice, SaturatingDevice, SaturatingTabulatedDevice


@hookimpl
def register_devices(register):
    """Register the three devices (``register(DeviceClass, aliases=())`` once each)."""
    register(LogNormalStepDevice)
    register(SaturatingDevice, aliases=("SaturatingPythonDevice",))
    register(SaturatingTabulatedDevice)

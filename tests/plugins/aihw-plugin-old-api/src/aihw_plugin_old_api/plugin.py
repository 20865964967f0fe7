"""Broken on purpose: its device declares a plugin API version aihw does not support."""

from aihw.devices import hookimpl
from aihw.devices.constant_step import ConstantStepResistiveDevice


class FutureDevice(ConstantStepResistiveDevice):
    name = "FutureDevice"
    api_version = 99


@hookimpl
def register_devices(register):
    register(FutureDevice)

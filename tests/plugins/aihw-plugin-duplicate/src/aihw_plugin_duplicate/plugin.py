"""Broken on purpose: registers the name "LogNormalStep", which aihw-device-example uses."""

from aihw.devices import hookimpl
from aihw.devices.constant_step import ConstantStepResistiveDevice


class LogNormalStepCopy(ConstantStepResistiveDevice):
    name = "LogNormalStep"


@hookimpl
def register_devices(register):
    register(LogNormalStepCopy)

"""Broken on purpose: registers a class that is not a DeviceModel subclass."""

from aihw.devices import hookimpl


class NotADevice:
    name = "NotADevice"


@hookimpl
def register_devices(register):
    register(NotADevice)

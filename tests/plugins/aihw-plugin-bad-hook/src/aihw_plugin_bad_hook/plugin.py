"""Broken on purpose: the hook takes an argument that the hook specification does not have."""

from aihw.devices import hookimpl


@hookimpl
def register_devices(register, options):
    pass

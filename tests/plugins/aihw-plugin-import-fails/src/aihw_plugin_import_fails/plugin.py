"""Broken on purpose: imports a module that is not installed."""

import aihw_missing_dependency  # noqa: F401

from aihw.devices import hookimpl


@hookimpl
def register_devices(register):
    pass

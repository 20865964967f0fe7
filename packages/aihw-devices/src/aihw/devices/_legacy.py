"""The v0.1 constructor keywords of the built-in devices (docs/physics/index.md#historical-names).

v0.1 built devices as ``ConstantStepResistiveDevice(params_devices=..., params_forward=...,
params_backward=..., params_update=...)``. ``params_devices`` still works; the other three
configured the tile, not the device, and get an error that says where they went.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_MOVED = {
    "params_update": (
        "the update parameters belong to the tile: pass "
        "update=aihw.core.parameters.UpdateParameters(...) to the tile or layer"
    ),
    "params_forward": "the forward IO parameters belong to the tile, not to the device",
    "params_backward": "the backward IO parameters belong to the tile, not to the device",
}


def resolve_params(
    device_name: str, params: Any, params_devices: Any, overrides: dict[str, Any]
) -> Any:
    """Merge the positional ``params`` and the v0.1 ``params_devices`` keyword.

    Args:
        device_name: the class name, for messages.
        params: the positional parameters argument, or ``None``.
        params_devices: the v0.1 keyword argument, or ``None``.
        overrides: the remaining keyword arguments; v0.1 tile keywords are rejected.

    Returns:
        The parameters object to pass on (``None`` for the defaults).

    Raises:
        TypeError: both were given, or a v0.1 tile keyword was used.
    """
    for keyword, where in _MOVED.items():
        if keyword in overrides:
            raise TypeError(f"{device_name}({keyword}=...) is not supported: {where}")
    if params_devices is None:
        return params
    if params is not None:
        raise TypeError(
            f"{device_name}() got its parameters twice: positionally and as params_devices=; "
            "pass one"
        )
    return params_devices

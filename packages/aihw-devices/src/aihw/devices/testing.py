"""Checks that a plugin's own test suite runs on each of its device classes.

Examples:
    In a plugin's tests::

        from aihw.devices.testing import check_device_model
        from my_plugin import MyDevice

        def test_my_device_follows_the_contract():
            check_device_model(MyDevice)

Each problem raises an ``AssertionError`` whose message names the class and what is
wrong, so that a failing test explains itself.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from aihw.core.device_model import SUPPORTED_API_VERSIONS, DeviceModel
from aihw.core.laws import get_law

__all__ = ["check_device_model"]


def check_device_model(
    device_class: type[DeviceModel],
    params: Any = None,
    *,
    shape: tuple[int, int] = (5, 7),
    pulses: int = 20,
) -> DeviceModel:
    """Check that ``device_class`` follows the device-model contract (plugin API version 1).

    Checked: the class attributes (``name``, ``api_version``, ``law``,
    ``parameters_class``: a dataclass whose every field has a default); that the default
    instance (or ``device_class(params)``) builds and compares equal to a second one;
    ``granularity()`` is finite and > 0; ``sample()`` returns float32 CPU tensors of the
    requested shape, finite, with every array the law reads, and the same for the same seed;
    the bounds satisfy ``w_min <= w_max`` and their medians contain 0; ``law_scalars()`` gives every scalar of the law; and that a
    few pulsed updates of a small tile change the weights and keep them within the bounds.

    Args:
        device_class: the class to check.
        params: parameters to build it with (default: ``parameters_class()``).
        shape: the ``(d_size, x_size)`` of the sampled arrays and of the test tile.
        pulses: how many updates the tile receives.

    Returns:
        The instance that was checked.

    Raises:
        AssertionError: the first violation found, with what was expected.
    """
    module = getattr(device_class, "__module__", "?")
    who = f"{module}.{getattr(device_class, '__qualname__', device_class)!s}"
    _require(
        isinstance(device_class, type) and issubclass(device_class, DeviceModel),
        f"{who} must be a subclass of aihw.core.device_model.DeviceModel",
    )
    name = device_class.name
    _require(
        isinstance(name, str) and name.isidentifier(),
        f"{who}.name={name!r} must be a Python identifier (the registry name)",
    )
    _require(
        device_class.api_version in SUPPORTED_API_VERSIONS,
        f"{who}.api_version={device_class.api_version!r} is not supported by the installed "
        f"aihw-core (supported: {SUPPORTED_API_VERSIONS})",
    )
    params_cls = getattr(device_class, "parameters_class", None)
    if not (isinstance(params_cls, type) and dataclasses.is_dataclass(params_cls)):
        raise AssertionError(f"{who}.parameters_class={params_cls!r} must be a dataclass")
    no_default = [
        f.name
        for f in dataclasses.fields(params_cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    _require(not no_default, f"{who}: parameters without a default: {', '.join(no_default)}")
    device = device_class() if params is None else device_class(params)
    again = device_class() if params is None else device_class(params)
    _require(device == again, f"{who}: two instances with the same parameters are not equal")
    _require(repr(device), f"{who}: repr() is empty")
    if device_class.law is None:
        return device  # a floating-point device: nothing pulsed to check

    law_name = device_class.law
    try:
        law = get_law(law_name)
    except ValueError as exc:
        raise AssertionError(
            f"{who}.law={law_name!r}: {exc}. A law defined in Python must be registered "
            "(aihw.core.laws.register_python_law) when the plugin module is imported"
        ) from None
    g = device.granularity()
    _require(
        isinstance(g, (int, float)) and not isinstance(g, bool) and math.isfinite(g) and g > 0,
        f"{who}.granularity() returned {g!r}; expected a finite number > 0",
    )
    scalars = device.law_scalars()
    missing = [s for s in law.scalars if s not in scalars]
    _require(not missing, f"{who}.law_scalars() lacks {', '.join(missing)} (law {law.name!r})")

    d_size, x_size = shape
    first = device.sample(d_size, x_size, torch.Generator().manual_seed(1234))
    _require(isinstance(first, dict), f"{who}.sample() must return a dict of tensors")
    missing = [a for a in law.arrays if a not in first]
    _require(
        not missing, f"{who}.sample() lacks {', '.join(missing)} (law {law.name!r} reads them)"
    )
    for key, value in first.items():
        where = f"{who}.sample()[{key!r}]"
        _require(isinstance(value, torch.Tensor), f"{where} is not a tensor")
        _require(value.dtype == torch.float32, f"{where} has dtype {value.dtype}; expected float32")
        _require(value.device.type == "cpu", f"{where} is on {value.device}; expected the CPU")
        _require(
            tuple(value.shape) == shape, f"{where} has shape {tuple(value.shape)}; expected {shape}"
        )
        _require(bool(torch.isfinite(value).all()), f"{where} contains NaN or Inf")
    _require(
        bool((first["w_min"] <= first["w_max"]).all()),
        f"{who}.sample(): some w_min > w_max",
    )
    _require(
        float(first["w_min"].median()) <= 0.0 <= float(first["w_max"].median()),
        f"{who}.sample(): the bounds [w_min, w_max] do not contain 0 (median "
        f"{float(first['w_min'].median()):.4g}, {float(first['w_max'].median()):.4g})",
    )
    same = device.sample(d_size, x_size, torch.Generator().manual_seed(1234))
    for key in first:
        _require(
            torch.equal(first[key], same[key]),
            f"{who}.sample() is not reproducible: {key!r} differs for the same seed (draw "
            "every random number from the generator argument)",
        )

    from aihw.core.tiles import AnalogTile  # here: importing the checks builds no tile

    tile = AnalogTile(d_size, x_size, device, seed=99)
    w_min, w_max = tile.device_arrays["w_min"], tile.device_arrays["w_max"]
    gen = torch.Generator().manual_seed(0)
    start = tile.weights.clone()
    for _ in range(pulses):
        x = torch.randn(4, x_size, generator=gen)
        d = torch.randn(4, d_size, generator=gen)
        tile.update(x, d, lr=max(10 * g, 1e-3))
        w = tile.weights
        _require(bool(torch.isfinite(w).all()), f"{who}: an update made weights NaN or Inf")
        _require(
            bool(((w >= w_min) & (w <= w_max)).all()),
            f"{who}: an update left weights outside [w_min, w_max]",
        )
    _require(not torch.equal(start, tile.weights), f"{who}: {pulses} updates changed no weight")
    return device


def _require(condition: Any, message: str) -> None:
    if not condition:
        raise AssertionError(message)

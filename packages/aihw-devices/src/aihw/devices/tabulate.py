"""Tabulating a step law written in Python into the native piecewise law.

A device whose law is defined in Python (:func:`aihw.core.laws.register_python_law`) runs
on the plain-torch reference path. :func:`tabulated_device_class` turns it into a device
of the ``piecewise_step`` law (docs/physics/devices.md#piecewise-step) that the compiled engine can
run: the noise-free step of the Python law, relative to each device's ``dw_up`` / ``dw_down`` and as
a function of the weight's position between that device's bounds, is sampled at ``n_nodes`` equally
spaced nodes. The tabulation error is measured, reported in ``device.tabulation``, and
checked against the tolerance the user chose.

What the piecewise law can represent: a step ``dw_up * f_up(u)`` (``dw_down * f_down(u)``)
where ``u = (w - w_min) / (w_max - w_min)`` is the weight's relative position between the
device's bounds and the two tables ``f_up``, ``f_down`` are shared by every device. A law is
reproduced (up to the linear interpolation) only when its noise-free step divided by the
device's ``dw_up`` (``dw_down``) is one function of ``u``, the same for every device. A step
that depends on the weight itself rather than on ``u``, is not proportional to the step
size, or reads further per-device arrays is tabulated as its mean over the sampled devices;
the difference shows up in the reported error (measured over those devices). Cycle-to-cycle
noise other than the factor ``1 + dw_min_std * xi`` is not represented either (documented,
not measured).

Examples:
    >>> from aihw.devices.tabulate import tabulated_device_class  # doctest: +SKIP
    >>> Fast = tabulated_device_class(MyPythonDevice, n_nodes=32, tolerance=0.01)  # doctest: +SKIP
    >>> Fast().tabulation.max_error  # doctest: +SKIP
    0.0008
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch

from aihw.core.device_model import DeviceModel
from aihw.core.laws import ReferenceStep, StepLaw, get_law

__all__ = [
    "MAX_NODES",
    "PIECEWISE_LAW",
    "TabulatedDevice",
    "Tabulation",
    "TabulationError",
    "tabulate_device",
    "tabulate_law",
    "tabulated_device_class",
]

#: The native law the tables are written for (engine contract §4,
#: docs/physics/devices.md#piecewise-step).
PIECEWISE_LAW = "piecewise_step"

#: The most nodes a table may have (the piecewise law's tables hold 1 to 63 values); also
#: the default, the most accurate tabulation.
MAX_NODES = 63


def _check_nodes(n_nodes: Any, where: str) -> None:
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int) or not 2 <= n_nodes <= MAX_NODES:
        raise ValueError(
            f"{where}n_nodes={n_nodes!r} is invalid; allowed: an integer 2..{MAX_NODES}"
        )


class TabulationError(ValueError):
    """The tabulation error exceeds the tolerance; the message says by how much and what to do.

    Attributes:
        tabulation: the :class:`Tabulation` that failed.
    """

    def __init__(self, message: str, tabulation: Tabulation) -> None:
        super().__init__(message)
        self.tabulation = tabulation


@dataclasses.dataclass(frozen=True)
class Tabulation:
    """The piecewise tables of a Python law and how well they reproduce it.

    Errors are the largest difference between the weight after one noise-free pulse of the
    Python law and of the piecewise law, in units of that device's step (``dw_up`` or
    ``dw_down``), over ``devices`` sampled devices and ``points`` weights between each
    device's bounds.

    Attributes:
        source: the qualified name of the tabulated device class.
        source_law: the Python law's name.
        n_nodes: the number of nodes of each table.
        piecewise_up: the UP table (relative step at each node).
        piecewise_down: the DOWN table.
        max_error: the larger of ``max_error_up`` and ``max_error_down``.
        max_error_up: the largest UP error, relative to the step.
        max_error_down: the largest DOWN error, relative to the step.
        tolerance: the tolerance checked, or ``None``.
        devices: how many sampled devices the error was measured on.
        points: weights per device at which it was measured.
    """

    source: str
    source_law: str
    n_nodes: int
    piecewise_up: tuple[float, ...]
    piecewise_down: tuple[float, ...]
    max_error: float
    max_error_up: float
    max_error_down: float
    tolerance: float | None
    devices: int
    points: int

    def __str__(self) -> str:
        tol = "" if self.tolerance is None else f" (tolerance {self.tolerance:.3g})"
        return (
            f"step law {self.source_law!r} of {self.source} tabulated into {PIECEWISE_LAW!r} "
            f"with {self.n_nodes} nodes: max error {self.max_error:.3g} of a step "
            f"(UP {self.max_error_up:.3g}, DOWN {self.max_error_down:.3g}){tol}, measured on "
            f"{self.devices} devices x {self.points} weights"
        )


def _check_source(device: Any) -> tuple[DeviceModel, StepLaw]:
    if isinstance(device, type) and issubclass(device, DeviceModel):
        device = device()
    if not isinstance(device, DeviceModel):
        raise TypeError(f"tabulate: expected a DeviceModel class or instance, got {device!r}")
    if device.law is None:
        raise ValueError(f"tabulate: {type(device).__name__} is a floating-point device")
    law = device.step_law()
    missing = [a for a in ("dw_up", "dw_down", "w_min", "w_max") if a not in law.arrays]
    if missing:
        raise ValueError(f"tabulate: step law {law.name!r} lacks the array(s) {missing}")
    return device, law


def _raw_step(law: StepLaw) -> ReferenceStep:
    """The unclipped step when the law comes from Python, else the (clipped) reference."""
    return law.python_step if law.python_step is not None else law.reference_step


def tabulate_law(
    device: Any,
    n_nodes: int = MAX_NODES,
    *,
    tolerance: float | None = None,
    sample_shape: tuple[int, int] = (16, 16),
    points: int | None = None,
    seed: int = 0,
) -> Tabulation:
    """Tabulate the step law of ``device`` into ``piecewise_step`` tables.

    Args:
        device: a pulsed device (class or instance) whose law reads ``dw_up``, ``dw_down``,
            ``w_min`` and ``w_max``.
        n_nodes: nodes per table, 2..63 (:data:`MAX_NODES`, the default).
        tolerance: if given, the largest acceptable error (relative to a step); only
            recorded here (:func:`tabulate_device` raises).
        sample_shape: the devices sampled (``device.sample`` with a generator seeded
            with ``seed``) to build the tables and measure the error.
        points: weights per device for the error (default ``8 * n_nodes + 1``).
        seed: the seed of the sampling generator.

    Returns:
        The :class:`Tabulation`.
    """
    device, law = _check_source(device)
    _check_nodes(n_nodes, "tabulate: ")
    points = 8 * n_nodes + 1 if points is None else int(points)
    arrays = device.sample(*sample_shape, torch.Generator().manual_seed(seed))
    arrays = {k: v.reshape(-1).to(torch.float32) for k, v in arrays.items()}
    scalars = dict(device.law_scalars())
    span = arrays["w_max"] - arrays["w_min"]
    usable = (span > 0) & (arrays["dw_up"] > 0) & (arrays["dw_down"] > 0)
    if not bool(usable.any()):
        raise ValueError(
            f"tabulate: every sampled device of {type(device).__name__} is stuck (w_max <= "
            "w_min) or has a zero step"
        )
    arrays = {k: v[usable] for k, v in arrays.items()}
    span = span[usable]
    step = _raw_step(law)

    def evaluate(
        fn: ReferenceStep, u: torch.Tensor, up: bool
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        # Every device at every relative position u: flat [devices * len(u)].
        n_dev, n_u = span.numel(), u.numel()
        expanded = {k: v.repeat_interleave(n_u) for k, v in arrays.items()}
        w = expanded["w_min"] + u.repeat(n_dev) * (expanded["w_max"] - expanded["w_min"])
        w = torch.minimum(w, expanded["w_max"])
        ups = torch.full_like(w, up, dtype=torch.bool)
        new = fn(w, ups, expanded, scalars, None).to(torch.float32)
        return new - w, expanded

    nodes = torch.linspace(0.0, 1.0, n_nodes, dtype=torch.float64).to(torch.float32)
    tables = {}
    for up, key in ((True, "dw_up"), (False, "dw_down")):
        delta, expanded = evaluate(step, nodes, up)
        relative = (delta if up else -delta) / expanded[key]
        tables[up] = relative.view(-1, n_nodes).to(torch.float64).mean(dim=0)

    piecewise = get_law(PIECEWISE_LAW)
    table_scalars = {
        "dw_min_std": 0.0,
        "piecewise_up": tuple(float(v) for v in tables[True]),
        "piecewise_down": tuple(float(v) for v in tables[False]),
    }
    fine = torch.linspace(0.0, 1.0, points, dtype=torch.float64).to(torch.float32)
    errors = {}
    for up, key in ((True, "dw_up"), (False, "dw_down")):
        delta, expanded = evaluate(law.reference_step, fine, up)
        w = expanded["w_min"] + fine.repeat(span.numel()) * (expanded["w_max"] - expanded["w_min"])
        w = torch.minimum(w, expanded["w_max"])
        exact = w + delta
        ups = torch.full_like(w, up, dtype=torch.bool)
        tab = piecewise.reference_step(w, ups, expanded, table_scalars, None)
        err = ((tab - exact).abs() / expanded[key]).max()
        errors[up] = float(err)
    for up in (True, False):
        if not all(math.isfinite(v) for v in tables[up].tolist()):
            raise ValueError(f"tabulate: the step of law {law.name!r} is not finite")
    cls = type(device)
    return Tabulation(
        source=f"{cls.__module__}.{cls.__qualname__}",
        source_law=law.name,
        n_nodes=n_nodes,
        piecewise_up=tuple(float(v) for v in tables[True]),
        piecewise_down=tuple(float(v) for v in tables[False]),
        max_error=max(errors.values()),
        max_error_up=errors[True],
        max_error_down=errors[False],
        tolerance=tolerance,
        devices=span.numel(),
        points=points,
    )


#: Tabulations by (tabulated class, repr of the parameters): building a device is cheap.
_CACHE: dict[tuple[type, str], Tabulation] = {}


class TabulatedDevice(DeviceModel):
    """Base of the classes :func:`tabulated_device_class` makes; not registered itself.

    An instance holds ``source`` (the Python-law device with the same parameters) and
    ``tabulation`` (the tables and the measured error). It samples exactly the steps and
    bounds ``source`` samples for the same seed, so a tile of either gets the same devices.

    Raises (at construction):
        TabulationError: the measured error exceeds ``tolerance``.
    """

    law: ClassVar[str | None] = PIECEWISE_LAW
    source_class: ClassVar[type[DeviceModel]]
    n_nodes: ClassVar[int] = MAX_NODES
    tolerance: ClassVar[float | None] = 0.01

    source: DeviceModel
    tabulation: Tabulation

    def validate(self) -> None:
        self.source = self.source_class(self.params)
        key = (type(self), repr(self.params))
        tab = _CACHE.get(key)
        if tab is None:
            tab = tabulate_law(self.source, self.n_nodes, tolerance=self.tolerance)
            if len(_CACHE) >= 256:
                _CACHE.clear()
            _CACHE[key] = tab
        self.tabulation = tab
        if self.tolerance is not None and tab.max_error > self.tolerance:
            raise TabulationError(
                f"{tab}: the error exceeds the tolerance. Use more nodes (n_nodes, at most "
                f"{MAX_NODES}), a larger tolerance, or the Python law ({type(self.source).__name__}) "
                "on the reference path",
                tab,
            )

    def granularity(self) -> float:
        return self.source.granularity()

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        return self.sample_tile(d_size, x_size, generator)

    def sample_tile(
        self, d_size: int, x_size: int, generator: torch.Generator, *, bias_column: bool = False
    ) -> dict[str, torch.Tensor]:
        # The source decides what its bias column looks like (perfect_bias).
        arrays = self.source.sample_tile(d_size, x_size, generator, bias_column=bias_column)
        return {k: arrays[k] for k in ("dw_up", "dw_down", "w_min", "w_max")}

    def law_scalars(self) -> dict[str, Any]:
        return {
            "dw_min_std": float(self.source.law_scalars().get("dw_min_std", 0.0)),
            "piecewise_up": list(self.tabulation.piecewise_up),
            "piecewise_down": list(self.tabulation.piecewise_down),
        }


def tabulated_device_class(
    source_class: type[DeviceModel],
    *,
    name: str | None = None,
    n_nodes: int = MAX_NODES,
    tolerance: float | None = 0.01,
) -> type[TabulatedDevice]:
    """A device class running ``source_class``'s Python law as the native piecewise law.

    The class takes the same parameters; every instance tabulates the law for its
    parameters (:func:`tabulate_law`) and raises :class:`TabulationError` when the error
    exceeds ``tolerance`` (``None``: never). A plugin registers it like any device.

    Args:
        source_class: the device whose law is tabulated.
        name: the registry name (default ``source_class.name + "Tabulated"``).
        n_nodes: nodes per table, 2..63 (:data:`MAX_NODES`, the default).
        tolerance: the largest acceptable error, relative to a step, or ``None``.
    """
    if not (isinstance(source_class, type) and issubclass(source_class, DeviceModel)):
        raise TypeError(
            f"tabulated_device_class: expected a DeviceModel class, got {source_class!r}"
        )
    _check_nodes(n_nodes, "")
    if tolerance is not None and not (isinstance(tolerance, (int, float)) and tolerance > 0):
        raise ValueError(f"tolerance={tolerance!r} is invalid; allowed: a number > 0 or None")
    name = name or f"{source_class.name}Tabulated"
    attrs = {
        "__doc__": (
            f"{source_class.__name__}'s step law tabulated into {PIECEWISE_LAW!r} "
            f"({n_nodes} nodes, tolerance {tolerance})."
        ),
        "__module__": source_class.__module__,
        "name": name,
        "api_version": source_class.api_version,
        "parameters_class": source_class.parameters_class,
        "source_class": source_class,
        "n_nodes": n_nodes,
        "tolerance": tolerance,
    }
    return type(name, (TabulatedDevice,), attrs)


def tabulate_device(
    device: Any, n_nodes: int = MAX_NODES, tolerance: float | None = 0.01
) -> TabulatedDevice:
    """A tabulated instance of ``device`` (a class or an instance, keeping its parameters).

    Args:
        device: a Python-law device class or instance.
        n_nodes: nodes per table, 2..63 (:data:`MAX_NODES`, the default).
        tolerance: the largest acceptable error, relative to a step, or ``None``.

    Raises:
        TabulationError: the error exceeds ``tolerance``.

    Examples:
        >>> fast = tabulate_device(MyPythonDevice(dw_min=0.002), n_nodes=32)  # doctest: +SKIP
        >>> print(fast.tabulation)  # doctest: +SKIP
    """
    if isinstance(device, DeviceModel):
        cls = tabulated_device_class(type(device), n_nodes=n_nodes, tolerance=tolerance)
        return cls(device.params)
    cls = tabulated_device_class(device, n_nodes=n_nodes, tolerance=tolerance)
    return cls()

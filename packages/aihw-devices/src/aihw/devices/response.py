"""The pulse response of a device: ``n`` UP pulses, then ``n`` DOWN pulses, over a tile.

:func:`pulse_response` drives an :class:`~aihw.core.AnalogTile` of independent devices
(every cross-point its own device-to-device draw) with single pulses and records the
weights after each one; :func:`plot_pulse_response` draws the mean and spread (needs
matplotlib, the ``plot`` extra). A compound device (a unit cell or transfer compound)
drives a compound tile the same way: the visible weight is recorded, and each of its
devices' weights too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import torch

from aihw.core import AnalogTile, UpdateParameters
from aihw.core.compound import CompoundDevice
from aihw.core.device_model import DeviceModel
from aihw.core.parameters import PulseType
from aihw.core.tiles import create_tile

from .registry import get_device

if TYPE_CHECKING:  # matplotlib is optional (the plot extra)
    from matplotlib.figure import Figure

__all__ = [
    "PulseResponse",
    "draw_pulse_response",
    "plot_pulse_response",
    "pulse_response",
    "pyplot",
]


@dataclasses.dataclass
class PulseResponse:
    """The weights of a tile's devices along a pulse sequence.

    Attributes:
        device: the device driven.
        n_pulses: UP pulses, then as many DOWN pulses.
        weights: float32 ``[2 n_pulses + 1, size]``: the start (row 0), then the weights
            after each pulse.
        mean: float32 ``[2 n_pulses + 1]``: the mean over the devices.
        std: float32 ``[2 n_pulses + 1]``: the standard deviation over the devices.
        unit_weights: for a compound device, each of its devices' weights (float32
            ``[2 n_pulses + 1, size]`` each, in device order); ``None`` otherwise.
    """

    device: DeviceModel
    n_pulses: int
    weights: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    unit_weights: list[torch.Tensor] | None = None


def pulse_response(
    device: DeviceModel | str,
    n_pulses: int = 500,
    size: int = 100,
    seed: int = 0,
    **overrides: Any,
) -> PulseResponse:
    """Apply ``n_pulses`` UP pulses, then ``n_pulses`` DOWN pulses, to ``size`` devices.

    The devices start at weight 0 (clipped to their bounds). Every update of the tile
    sends exactly one pulse to every device (pulse type ``DeterministicImplicit`` with
    ``BL = 1`` and ``lr`` equal to the granularity), so each step of the result is one
    call of the device's step law with its own cycle-to-cycle noise.

    Args:
        device: a pulsed device, or a registered name (``"SoftBounds"``).
        n_pulses: pulses in each direction, ``>= 1``.
        size: number of devices (a ``size x 1`` tile), ``>= 2``.
        seed: the tile seed (device-to-device draws and pulse noise).
        **overrides: device parameters, when ``device`` is a name.

    Returns:
        A :class:`PulseResponse`.

    Raises:
        ValueError: a floating-point device (it sends no pulses), or bad sizes.
    """
    if isinstance(device, str):
        device = get_device(device, **overrides)
    elif overrides:
        raise TypeError("pulse_response: parameter overrides need a device name")
    if not isinstance(device, DeviceModel):
        raise TypeError(f"device must be a DeviceModel or a name; got {type(device).__name__}")
    if device.is_floating_point:
        raise ValueError(
            f"{type(device).__name__} is a floating-point device; it sends no pulses and has "
            "no pulse response"
        )
    for name, value, low in (("n_pulses", n_pulses, 1), ("size", size, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(
                f"pulse_response({name}={value!r}) is invalid; allowed: an integer >= {low}"
            )
    tile: Any = single_pulse_tile(device, size, seed)
    compound = isinstance(device, CompoundDevice)
    # A compound's update goes to its devices as the compound says; one pulse of its
    # first device per update.
    lr = tile.units[0].granularity if compound else tile.granularity
    x = torch.ones(1, 1)
    up = -torch.ones(1, size)  # sign(x) sign(d) < 0: an UP pulse
    trace = [tile.weights[:, 0].clone()]
    units: list[list[torch.Tensor]] = (
        [[u.weights[:, 0].clone()] for u in tile.units] if compound else []
    )
    for d in (up, -up):
        for _ in range(n_pulses):
            tile.update(x, d, lr)
            trace.append(tile.weights[:, 0].clone())
            for unit, unit_trace in zip(tile.units if compound else [], units, strict=True):
                unit_trace.append(unit.weights[:, 0].clone())
    weights = torch.stack(trace)
    return PulseResponse(
        device=device,
        n_pulses=n_pulses,
        weights=weights,
        mean=weights.mean(dim=1),
        std=weights.std(dim=1),
        unit_weights=[torch.stack(t) for t in units] if compound else None,
    )


def single_pulse_tile(device: Any, size: int, seed: int) -> AnalogTile:
    """A ``size x 1`` tile of ``device`` whose update with ``x = 1``, ``d = -+1`` and
    ``lr = tile.granularity`` sends exactly one UP (or DOWN) pulse to every device (for a
    compound device, a compound tile whose devices' own updates do that)."""
    update = UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT,
        desired_bl=1,
        fixed_bl=True,
        update_management=False,
        update_bl_management=False,
    )
    if isinstance(device, CompoundDevice):
        return create_tile(device, size, 1, seed=seed, update=update)  # type: ignore[return-value]
    return AnalogTile(size, 1, device, seed=seed, update=update)


def plot_pulse_response(
    response: PulseResponse, path: str | None = None, title: str | None = None
) -> Figure:
    """Draw the mean weight and its spread (one std) against the pulse number.

    Args:
        response: from :func:`pulse_response`.
        path: where to save the figure (any format matplotlib knows); ``None`` keeps it open.
        title: the figure title (default: the device's class name).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ImportError: matplotlib is not installed (``pip install 'aihw-devices[plot]'``).
    """
    plt = pyplot(path)
    fig: Figure
    fig, ax = plt.subplots(figsize=(7, 4))
    draw_pulse_response(ax, response, title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def pyplot(path: str | None) -> Any:
    """``matplotlib.pyplot``, with the file-only ``Agg`` backend when saving to ``path``.

    Raises:
        ImportError: matplotlib is not installed (``pip install 'aihw-devices[plot]'``).
    """
    try:
        import matplotlib

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting a pulse response needs matplotlib: pip install 'aihw-devices[plot]'"
        ) from exc
    return plt


def draw_pulse_response(ax: Any, response: PulseResponse, title: str | None = None) -> None:
    """Draw the mean weight and its spread (one std) against the pulse number on ``ax``."""
    pulses = torch.arange(response.mean.numel())
    mean, std = response.mean, response.std
    ax.fill_between(pulses, mean - std, mean + std, alpha=0.3, label="mean ± std")
    ax.plot(pulses, mean, label="mean weight")
    for index, unit in enumerate(response.unit_weights or []):
        ax.plot(pulses, unit.mean(dim=1), linewidth=0.8, linestyle="--", label=f"device {index}")
    ax.axvline(response.n_pulses, color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel(f"pulse number ({response.n_pulses} up, then {response.n_pulses} down)")
    ax.set_ylabel("weight")
    ax.set_title(title or type(response.device).__name__)
    ax.legend(loc="best")

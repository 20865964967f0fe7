"""``plot_device`` and ``plot_device_compact``: the reference toolkit's device plots
(``aihwkit.utils.visualization``), drawn from :func:`~aihw.devices.response.pulse_response`.

Both need matplotlib, the ``plot`` extra (``pip install 'aihw-devices[plot]'``); the
``python -m aihw.devices plot`` command draws the same response as :func:`plot_device`'s
first panel.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from aihw.core.device_model import DeviceModel

from .registry import get_device
from .response import PulseResponse, draw_pulse_response, pulse_response, pyplot, single_pulse_tile

if TYPE_CHECKING:  # matplotlib is optional (the plot extra)
    from matplotlib.figure import Figure

__all__ = ["plot_device", "plot_device_compact"]

#: The most pulses in one direction that ``n_steps=None`` estimates.
_MAX_STEPS = 10_000


def _device(device: DeviceModel | str) -> DeviceModel:
    found = get_device(device) if isinstance(device, str) else device
    if not isinstance(found, DeviceModel):
        raise TypeError(f"device must be a DeviceModel or a name; got {type(device).__name__}")
    return found


def _check_w_noise(w_noise: Any) -> float:
    if isinstance(w_noise, bool) or not isinstance(w_noise, (int, float)):
        raise TypeError(f"w_noise must be a number >= 0; got {w_noise!r}")
    if not math.isfinite(w_noise) or w_noise < 0:
        raise ValueError(f"w_noise={w_noise!r} is invalid; allowed: a finite number >= 0")
    return float(w_noise)


def _read(weights: torch.Tensor, w_noise: float, seed: int) -> torch.Tensor:
    """The weights as read with Gaussian read noise of std ``w_noise`` (the plot only)."""
    if w_noise == 0:
        return weights
    generator = torch.Generator().manual_seed(seed)
    return weights + w_noise * torch.randn(weights.shape, generator=generator)


def estimated_steps(device: DeviceModel) -> int:
    """Pulses from one bound to the other, ``(w_max - w_min) / dw_min`` (rounded, at most
    10000); 1000 for a device without those parameters."""
    params: Any = getattr(device, "params", None)
    try:
        span = (float(params.w_max) - float(params.w_min)) / float(params.dw_min)
    except (AttributeError, TypeError, ZeroDivisionError):
        return 1000
    if not math.isfinite(span) or span < 1:
        return 1000
    return min(round(span), _MAX_STEPS)


def plot_device(
    device: DeviceModel | str,
    w_noise: float = 0.0,
    *,
    n_steps: int | None = None,
    size: int = 100,
    seed: int = 0,
    path: str | None = None,
) -> Figure:
    """The response overview of a pulsed device: ``n_steps`` UP then DOWN pulses on
    ``size`` devices, as the weight against the pulse number (mean and spread), and the
    mean step per pulse against the mean weight.

    Args:
        device: a pulsed device, or a registered name (``"SoftBounds"``).
        w_noise: std of a Gaussian read noise added to the weights drawn (the devices
            are not changed by it).
        n_steps: pulses in each direction (``None``: :func:`estimated_steps`).
        size: number of devices, ``>= 2``.
        seed: the tile seed (device-to-device draws and pulse noise) and the read noise's.
        path: where to save the figure; ``None`` keeps it open.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: a floating-point device (it has no pulse response), or bad sizes.
    """
    model = _device(device)
    noise = _check_w_noise(w_noise)
    plt = pyplot(path)
    n = estimated_steps(model) if n_steps is None else n_steps
    response = pulse_response(model, n_pulses=n, size=size, seed=seed)
    read = _read(response.weights, noise, seed)
    shown = PulseResponse(model, n, read, read.mean(dim=1), read.std(dim=1))
    fig: Figure
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    draw_pulse_response(left, shown)
    mean = response.mean
    steps = mean.diff()
    right.plot(mean[:n], steps[:n], label="UP pulses")
    right.plot(mean[n:-1], steps[n:], label="DOWN pulses")
    right.axhline(0.0, color="gray", linestyle=":", linewidth=1)
    right.set_xlabel("mean weight")
    right.set_ylabel("mean step per pulse")
    right.set_title("step size against weight")
    right.legend(loc="best")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def plot_device_compact(
    device: DeviceModel | str,
    w_noise: float = 0.0,
    n_steps: int | None = None,
    n_traces: int = 3,
    n_loops: int = 2,
    *,
    seed: int = 0,
    axes: Any = None,
    path: str | None = None,
) -> Any:
    """A compact step response: ``n_traces`` single devices driven through ``n_loops``
    cycles of ``n_steps`` UP then ``n_steps`` DOWN pulses, each device's weight against
    the pulse number.

    Args:
        device: a pulsed device, or a registered name.
        w_noise: std of a Gaussian read noise added to the weights drawn.
        n_steps: pulses in each direction per cycle (``None``: :func:`estimated_steps`).
        n_traces: devices drawn (device-to-device variation), ``>= 1``.
        n_loops: cycles, ``>= 1``.
        seed: the tile seed and the read noise's.
        axes: a matplotlib ``Axes`` to draw into (then it is returned); ``None`` makes a
            new figure.
        path: where to save the new figure (not with ``axes``).

    Returns:
        The new ``Figure``, or ``axes``.
    """
    model = _device(device)
    noise = _check_w_noise(w_noise)
    n = estimated_steps(model) if n_steps is None else n_steps
    for name, value in (("n_steps", n), ("n_traces", n_traces), ("n_loops", n_loops)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"plot_device_compact({name}={value!r}) is invalid; allowed: >= 1")
    if axes is not None and path is not None:
        raise ValueError("plot_device_compact: give axes= or path=, not both")
    if model.is_floating_point:
        raise ValueError(
            f"{type(model).__name__} is a floating-point device; it sends no pulses and has "
            "no pulse response"
        )
    plt = pyplot(path)
    tile = single_pulse_tile(model, max(n_traces, 2), seed)
    x = torch.ones(1, 1)
    up = -torch.ones(1, tile.out_size)  # sign(x) sign(d) < 0: an UP pulse
    trace = [tile.weights[:, 0].clone()]
    for _ in range(n_loops):
        for d in (up, -up):
            for _ in range(n):
                tile.update(x, d, tile.granularity)
                trace.append(tile.weights[:, 0].clone())
    weights = _read(torch.stack(trace)[:, :n_traces], noise, seed)
    fig = None
    if axes is None:
        fig, axes = plt.subplots(figsize=(7, 4))
    axes.plot(torch.arange(weights.shape[0]), weights, linewidth=1)
    axes.set_xlabel(f"pulse number ({n_loops} x ({n} up, {n} down))")
    axes.set_ylabel("weight")
    axes.set_title(type(model).__name__)
    if fig is None:
        return axes
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig

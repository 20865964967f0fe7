"""``plot_device`` and ``plot_device_compact`` (the reference toolkit's device plots)."""

from __future__ import annotations

import pytest

from aihw.devices import FloatingPointDevice, SoftBoundsDevice
from aihw.devices.visualization import estimated_steps, plot_device, plot_device_compact


def test_plot_device_draws_the_response_overview(tmp_path, needs_matplotlib):
    target = tmp_path / "device.png"
    figure = plot_device(SoftBoundsDevice(), w_noise=0.01, n_steps=20, size=4, path=str(target))
    assert target.stat().st_size > 0
    left, right = figure.axes
    assert left.get_xlabel() == "pulse number (20 up, then 20 down)"
    assert right.get_xlabel() == "mean weight"
    assert [line.get_label() for line in right.get_lines()[:2]] == ["UP pulses", "DOWN pulses"]


def test_plot_device_compact_draws_traces(tmp_path, needs_matplotlib):
    figure = plot_device_compact("SoftBounds", n_steps=10, n_traces=3, n_loops=2)
    (axes,) = figure.axes
    lines = axes.get_lines()
    assert len(lines) == 3
    assert all(len(line.get_xdata()) == 2 * 2 * 10 + 1 for line in lines)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert plot_device_compact(SoftBoundsDevice(), n_steps=5, n_traces=1, axes=ax) is ax
    plt.close(fig)
    plt.close(figure)
    target = tmp_path / "compact.png"
    plot_device_compact(SoftBoundsDevice(), n_steps=5, path=str(target))
    assert target.stat().st_size > 0


def test_the_number_of_steps_is_estimated_from_the_device():
    assert estimated_steps(SoftBoundsDevice()) == 1200  # (0.6 - -0.6) / 0.001
    assert estimated_steps(FloatingPointDevice()) == 1000


def test_bad_arguments_are_named(needs_matplotlib):
    with pytest.raises(ValueError, match="floating-point device"):
        plot_device_compact(FloatingPointDevice(), n_steps=2)
    with pytest.raises(ValueError, match="floating-point device"):
        plot_device(FloatingPointDevice(), n_steps=2)
    with pytest.raises(ValueError, match=r"w_noise=-1\.0 is invalid"):
        plot_device(SoftBoundsDevice(), w_noise=-1.0)
    with pytest.raises(ValueError, match=r"n_traces=0\) is invalid"):
        plot_device_compact(SoftBoundsDevice(), n_steps=2, n_traces=0)

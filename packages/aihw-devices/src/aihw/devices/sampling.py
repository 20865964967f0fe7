"""The standard device-to-device sampling of the built-in pulsed devices, for plugins.

A plugin device with a new step law can draw its steps and bounds exactly as the built-in
pulsed devices do (docs/physics/devices.md#device-to-device-sampling) instead of
re-implementing the draws: :func:`sample_device_to_device` takes the built-in parameters
(:class:`~aihw.devices.PulsedResistiveDeviceParameters` or a dataclass derived from it)
and returns the four arrays every law reads. A device that subclasses a built-in device
(e.g. :class:`~aihw.devices.ConstantStepResistiveDevice`) inherits the same sampling.

Examples:
    >>> import torch
    >>> from aihw.devices import PulsedResistiveDeviceParameters
    >>> arrays = sample_device_to_device(
    ...     PulsedResistiveDeviceParameters(), 2, 3, torch.Generator().manual_seed(0)
    ... )
    >>> sorted(arrays), tuple(arrays["dw_up"].shape)
    (['dw_down', 'dw_up', 'w_max', 'w_min'], (2, 3))
"""

from __future__ import annotations

import torch

from ._pulsed import check_size, make_bias_column_perfect, sample_base
from .parameters import PulsedResistiveDeviceParameters

__all__ = ["sample_device_to_device"]


def sample_device_to_device(
    params: PulsedResistiveDeviceParameters,
    d_size: int,
    x_size: int,
    generator: torch.Generator,
    *,
    bias_column: bool = False,
) -> dict[str, torch.Tensor]:
    """Draw the per-device steps and bounds of a tile as the built-in pulsed devices do.

    The same draws, in the same order, as :class:`~aihw.devices.ConstantStepResistiveDevice`
    makes for its ``dw_up``, ``dw_down``, ``w_min`` and ``w_max`` (``w_max_dtod``,
    ``w_min_dtod``, ``dw_min_dtod`` (log-normal with ``dw_min_dtod_log_normal``), ``up_down``,
    ``up_down_dtod``, ``enforce_consistency``, ``corrupt_devices_prob``/``_range`` and
    ``construction_seed``), so a device that calls it with the same parameters and seed gets
    the same devices. A law that reads more arrays draws them from ``generator`` afterwards.

    Args:
        params: the built-in parameters, or an instance of a dataclass derived from them.
        d_size: rows (outputs) of the tile, >= 1.
        x_size: columns (inputs) of the tile, >= 1.
        generator: a CPU ``torch.Generator`` (the tile's), advanced by the draws.
        bias_column: the last column is the tile's analog bias column; with
            ``params.perfect_bias`` its steps become ``dw_min`` and its bounds
            ``100 w_min``, ``100 w_max``.

    Returns:
        float32 contiguous ``[d_size, x_size]`` CPU tensors ``dw_up``, ``dw_down`` (step
        magnitudes), ``w_min`` and ``w_max``: what ``DeviceModel.sample`` returns for a law
        that reads only these.

    Raises:
        TypeError: ``params`` is not a ``PulsedResistiveDeviceParameters``, or ``generator``
            is not a CPU generator.
        ValueError: a parameter or a size is invalid (the message names it).
    """
    if not isinstance(params, PulsedResistiveDeviceParameters):
        raise TypeError(
            "sample_device_to_device(params=...) takes a PulsedResistiveDeviceParameters "
            f"(or a dataclass derived from it), got {type(params).__name__}"
        )
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise TypeError(
            f"sample_device_to_device(generator=...) takes a CPU torch.Generator, got {generator!r}"
        )
    params.validate()
    check_size("d_size", d_size)
    check_size("x_size", x_size)
    if params.construction_seed:
        generator = torch.Generator().manual_seed(params.construction_seed)
    arrays = sample_base(params, (d_size, x_size), generator)
    if bias_column and params.perfect_bias:
        make_bias_column_perfect(arrays, params)
    return {key: value.to(torch.float32).contiguous() for key, value in arrays.items()}

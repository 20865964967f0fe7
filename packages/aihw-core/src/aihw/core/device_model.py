"""The device-model protocol: what a resistive device gives the engine.

A device model is a parameters dataclass plus a class that samples the per-device
parameters of a tile (device-to-device variation) from a seeded generator and names the
step law (:mod:`aihw.core.laws`) that executes its pulses. ``law = None`` marks a
floating-point device: tiles built for it are exact.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from .laws import StepLaw, get_law

__all__ = ["DeviceModel", "SUPPORTED_API_VERSIONS"]

#: Plugin API versions this aihw-core understands.
SUPPORTED_API_VERSIONS = (1,)


class DeviceModel:
    """Base class of all device models, built-in and third-party.

    Subclasses set the class attributes and implement :meth:`sample`,
    :meth:`granularity` and, for pulsed devices, :meth:`law_scalars`.

    Args:
        params: an instance of ``parameters_class`` (default: its defaults).
        **overrides: fields of ``parameters_class`` to replace.
    """

    name: ClassVar[str] = ""
    """The registry name, e.g. ``"ConstantStep"``."""
    api_version: ClassVar[int] = 1
    law: ClassVar[str | None] = None
    """The step-law name, or ``None`` for a floating-point (exact) device."""
    parameters_class: ClassVar[type[Any]]

    def __init__(self, params: Any = None, /, **overrides: Any) -> None:
        if params is None:
            params = self.parameters_class()
        elif not isinstance(params, self.parameters_class):
            raise TypeError(
                f"{type(self).__name__}(params=...) takes a {self.parameters_class.__name__}, "
                f"got {type(params).__name__}"
            )
        if overrides:
            known = {f.name for f in dataclasses.fields(params)}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise TypeError(
                    f"{type(self).__name__} got unknown parameter(s) {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(known))}"
                )
            params = dataclasses.replace(params, **overrides)
        self.params = params
        self.validate()

    # -- what subclasses provide --------------------------------------------------------
    def validate(self) -> None:
        """Raise ``ValueError`` naming an invalid parameter, its value and what is allowed."""

    def granularity(self) -> float:
        """The mean weight change of one pulse (docs/physics/pulsed-update.md#granularity), used to
        size pulse trains."""
        raise NotImplementedError

    def sample(
        self, d_size: int, x_size: int, generator: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """Draw the per-cross-point arrays the law reads, float32 ``[d_size, x_size]`` on the CPU."""
        raise NotImplementedError

    def law_scalars(self) -> dict[str, float]:
        """The scalar parameters the law reads."""
        return {}

    def sample_tile(
        self, d_size: int, x_size: int, generator: torch.Generator, *, bias_column: bool = False
    ) -> dict[str, torch.Tensor]:
        """The arrays of a tile; tiles call this instead of :meth:`sample`.

        ``bias_column``: the tile's last column is its analog bias column. A device that
        treats that column like the others (the default) just returns :meth:`sample`; a
        pulsed device with ``perfect_bias`` makes it ideal
        (docs/physics/devices.md#device-to-device-sampling).
        """
        return self.sample(d_size, x_size, generator)

    def reset_std(self) -> float:
        """The cycle-to-cycle spread of a reset (docs/physics/device-operations.md#reset); default 0
        (reset to ``r0``)."""
        return 0.0

    def write_noise_scale(self) -> float:
        """The std of the write noise on the visible weight, in weight units
        (docs/physics/device-operations.md#write-noise: ``write_noise_std * dw_min``); default 0 (no
        write noise, no hidden weights)."""
        return 0.0

    def apply_write_noise_on_set(self) -> bool:
        """Whether setting the weights adds write noise to the visible ones
        (docs/physics/device-operations.md#write-noise)."""
        return True

    # -- derived ------------------------------------------------------------------------
    @property
    def is_floating_point(self) -> bool:
        return self.law is None

    def step_law(self) -> StepLaw:
        if self.law is None:
            raise ValueError(
                f"{type(self).__name__} is a floating-point device and has no step law"
            )
        return get_law(self.law)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.params == self.params

    __hash__ = None  # type: ignore[assignment]

"""The built-in devices, registered through aihw-devices' own entry point.

``pyproject.toml`` declares ``[project.entry-points.aihw] builtin = "aihw.devices.builtin"``,
so the built-ins are loaded exactly like a third-party plugin (and can be disabled with
``AIHW_DISABLE_PLUGINS=builtin``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compound_configs import PCMPresetUnitCell
from .compounds import COMPOUNDS
from .constant_step import ConstantStepResistiveDevice
from .digital_compounds import DIGITAL_COMPOUNDS
from .exp_step import ExpStepResistiveDevice
from .floating_point import FloatingPointResistiveDevice
from .hookspecs import hookimpl
from .ideal import IdealResistiveDevice
from .linear_step import LinearStepResistiveDevice
from .noise_models import (
    CustomDriftPCMLikeNoiseModel,
    PCMLikeNoiseModel,
    StateIndependentNoiseModel,
)
from .noise_models_reram import ReRamCMONoiseModel, ReRamWan2022NoiseModel
from .piecewise_step import PiecewiseStepResistiveDevice
from .pow_step import PowStepReferenceResistiveDevice, PowStepResistiveDevice
from .presets import PRESETS
from .soft_bounds import SoftBoundsPmaxResistiveDevice, SoftBoundsResistiveDevice
from .soft_bounds_reference import SoftBoundsReferenceResistiveDevice

__all__ = ["register_devices", "register_noise_models"]


@hookimpl
def register_devices(register: Callable[..., Any]) -> None:
    """Register the built-in devices and presets with their historical names.

    Every family is registered under its short name (``"SoftBounds"``) with the
    reference toolkit's name (``"SoftBoundsDevice"``) and the ``...ResistiveDevice`` name
    as aliases; presets under their short name and their class name; the unit cells and
    compounds (``aihw.devices.compounds``) under their class name.

    Args:
        register: the registration callback.
    """
    register(
        ConstantStepResistiveDevice,
        aliases=("ConstantStepDevice", "ConstantStepResistiveDevice"),
    )
    register(
        FloatingPointResistiveDevice,
        aliases=("FloatingPointDevice", "FloatingPointResistiveDevice"),
    )
    for cls in (
        IdealResistiveDevice,
        LinearStepResistiveDevice,
        SoftBoundsResistiveDevice,
        SoftBoundsPmaxResistiveDevice,
        SoftBoundsReferenceResistiveDevice,
        ExpStepResistiveDevice,
        PowStepResistiveDevice,
        PowStepReferenceResistiveDevice,
        PiecewiseStepResistiveDevice,
    ):
        register(cls, aliases=(f"{cls.name}Device", f"{cls.name}ResistiveDevice"))
    for name, preset in PRESETS.items():
        register(preset, aliases=(f"{name}Device",))
    for compound in (*COMPOUNDS, *DIGITAL_COMPOUNDS, PCMPresetUnitCell):
        register(compound)


@hookimpl
def register_noise_models(register: Callable[..., Any]) -> None:
    """Register the built-in noise models under the reference toolkit's names.

    Args:
        register: the registration callback.
    """
    for cls in (
        PCMLikeNoiseModel,
        CustomDriftPCMLikeNoiseModel,
        StateIndependentNoiseModel,
        ReRamWan2022NoiseModel,
        ReRamCMONoiseModel,
    ):
        register(cls)

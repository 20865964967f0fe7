"""Device presets: the devices users compare against, with the reference toolkit's values.

The complete preset configurations (device, periphery and update, under the reference
toolkit's names ``GokmenVlasovPreset``, ``ReRamSBPreset``, ..., ``PresetIOParameters``,
``PresetUpdateParameters``, ``StandardIOParameters``) live in
:mod:`aihw.devices.preset_configs` and are importable from here too, as from the
reference's ``aihwkit.simulator.presets``.

Each preset is a device class whose parameters dataclass has the published fit as its
defaults (the values of the reference toolkit's ``aihwkit.simulator.presets.devices``);
every field can still be overridden, and every reference value runs, write noise included
(engine contract §10): ``REFERENCE_ONLY`` (values kept at "off" here) is empty.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from .constant_step import ConstantStepResistiveDevice
from .exp_step import ExpStepResistiveDevice, ExpStepResistiveDeviceParameters
from .linear_step import LinearStepResistiveDevice, LinearStepResistiveDeviceParameters
from .parameters import PulsedResistiveDeviceParameters
from .soft_bounds import SoftBoundsResistiveDevice, SoftBoundsResistiveDeviceParameters

__all__ = [
    "ReRamESPresetDevice",
    "ReRamSBPresetDevice",
    "CapacitorPresetDevice",
    "EcRamPresetDevice",
    "EcRamMOPresetDevice",
    "IdealizedPresetDevice",
    "GokmenVlasovPresetDevice",
    "PCMPresetDevice",
    "PRESETS",
    "REFERENCE_ONLY",
    # the preset configurations (defined in preset_configs, imported at the end)
    "PresetIOParameters",
    "PresetUpdateParameters",
    "StandardIOParameters",
    "ReRamESPreset",
    "ReRamSBPreset",
    "CapacitorPreset",
    "EcRamPreset",
    "EcRamMOPreset",
    "IdealizedPreset",
    "GokmenVlasovPreset",
    "PCMPreset",
]


# -- ReRAM, exponential step -------------------------------------------------------------
@dataclasses.dataclass
class ReRamESPresetParameters(ExpStepResistiveDeviceParameters):
    """ReRAM fit of the exponential step (Gong et al., Nat. Commun. 2018)."""

    dw_min: float = 0.00135
    up_down: float = 0.259359
    w_max: float = 1.0
    w_min: float = -1.0
    a: float = -0.5
    b: float = -0.5
    gamma_up: float = 5.0
    gamma_down: float = 5.0
    A_up: float = -1.18445
    A_down: float = -0.081404
    dw_min_dtod: float = 0.2
    up_down_dtod: float = 0.05
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3
    dw_min_std: float = 5.0
    write_noise_std: float = 75.0


class ReRamESPresetDevice(ExpStepResistiveDevice):
    """A single ReRAM device: the exponential step fitted to
    Gong et al., "Signal and noise extraction from analog memory elements for neuromorphic
    computing", Nat. Commun. 9, 2102 (2018), https://doi.org/10.1038/s41467-018-04485-1.

    Its write noise, ``write_noise_std = 75`` (in units of ``dw_min``), makes the visible
    weight scatter around the hidden persistent one by ``75 * dw_min``
    (docs/physics/device-operations.md#write-noise).
    """

    name: ClassVar[str] = "ReRamESPreset"
    parameters_class: ClassVar[type[Any]] = ReRamESPresetParameters


# -- ReRAM, soft bounds --------------------------------------------------------------------
@dataclasses.dataclass
class ReRamSBPresetParameters(SoftBoundsResistiveDeviceParameters):
    """Loose ReRAM fit of soft bounds (Gong et al., Nat. Commun. 2018)."""

    dw_min: float = 0.002
    up_down: float = 0.0
    w_max: float = 1.25
    w_min: float = -0.75
    mult_noise: bool = False
    dw_min_dtod: float = 0.3
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.3 / 1.25
    w_min_dtod: float = 0.3 / 0.75
    dw_min_std: float = 3.75
    write_noise_std: float = 56.0


class ReRamSBPresetDevice(SoftBoundsResistiveDevice):
    """A single ReRAM device: soft bounds loosely fitted to Gong et al., Nat. Commun. 9,
    2102 (2018), https://doi.org/10.1038/s41467-018-04485-1, assuming the symmetry point
    has been calibrated away by a reference device that is not modelled.

    The reference builds it on its soft-bounds reference device with a zero reference,
    which is plain soft bounds. Its write noise is ``write_noise_std = 56``
    (docs/physics/device-operations.md#write-noise).
    """

    name: ClassVar[str] = "ReRamSBPreset"
    parameters_class: ClassVar[type[Any]] = ReRamSBPresetParameters


# -- linear-step presets -----------------------------------------------------------------
@dataclasses.dataclass
class CapacitorPresetParameters(LinearStepResistiveDeviceParameters):
    """Capacitor fit of the linear step (Li et al., VLSI 2018)."""

    dw_min: float = 0.005
    up_down: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    mult_noise: bool = False
    gamma_up: float = 0.05
    gamma_down: float = 0.05
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.06
    w_max_dtod: float = 0.07
    w_min_dtod: float = 0.07
    gamma_up_dtod: float = 0.01
    gamma_down_dtod: float = 0.01
    dw_min_std: float = 0.3
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True
    lifetime: float = 1.0e6  # leakage, in mini-batches
    lifetime_dtod: float = 0.3


class CapacitorPresetDevice(LinearStepResistiveDevice):
    """A capacitor cell: the linear step fitted to Li et al., "Capacitor-based cross-point
    array for analog neural network with record symmetry and linearity", Symp. VLSI
    Technology 2018, https://doi.org/10.1109/VLSIT.2018.8510648.

    Leakage is modelled, as in the reference preset, by a decay toward the reset bias
    with ``lifetime = 1e6`` mini-batches (``lifetime_dtod = 0.3``), applied after every
    update (docs/physics/device-operations.md#decay).
    """

    name: ClassVar[str] = "CapacitorPreset"
    parameters_class: ClassVar[type[Any]] = CapacitorPresetParameters


@dataclasses.dataclass
class EcRamPresetParameters(LinearStepResistiveDeviceParameters):
    """Li-ion ECRAM fit of the linear step (Tang et al., IEDM 2018)."""

    dw_min: float = 0.002
    up_down: float = 0.0
    w_max: float = 1.1724
    w_min: float = -0.8276
    mult_noise: bool = True
    gamma_up: float = 0.1153
    gamma_down: float = 0.5085
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    dw_min_std: float = 0.3
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True


class EcRamPresetDevice(LinearStepResistiveDevice):
    """A lithium-based ECRAM device: the linear step fitted to Tang et al., "ECRAM as
    scalable synaptic cell for high-speed, low-power neuromorphic computing", IEDM 2018,
    https://doi.org/10.1109/IEDM.2018.8614551. The range is shifted so that the symmetry
    point is at 0."""

    name: ClassVar[str] = "EcRamPreset"
    parameters_class: ClassVar[type[Any]] = EcRamPresetParameters


@dataclasses.dataclass
class EcRamMOPresetParameters(LinearStepResistiveDeviceParameters):
    """Metal-oxide ECRAM fit of the linear step (Kim et al., IEDM 2019)."""

    dw_min: float = 2.8214e-4
    up_down: float = 0.0
    w_max: float = 1.1714
    w_min: float = -0.8286
    mult_noise: bool = True
    gamma_up: float = 0.4152
    gamma_down: float = 0.7342
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    dw_min_std: float = 2.0
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True


class EcRamMOPresetDevice(LinearStepResistiveDevice):
    """A metal-oxide ECRAM device: the linear step based on Kim et al., "Metal-oxide based,
    CMOS-compatible ECRAM for deep learning accelerator", IEDM 2019,
    https://doi.org/10.1109/IEDM19573.2019.8993463."""

    name: ClassVar[str] = "EcRamMOPreset"
    parameters_class: ClassVar[type[Any]] = EcRamMOPresetParameters


# -- constant-step presets ---------------------------------------------------------------
@dataclasses.dataclass
class IdealizedPresetParameters(PulsedResistiveDeviceParameters):
    """The idealized constant-step device (about 10000 states)."""

    dw_min: float = 0.0002
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3


class IdealizedPresetDevice(ConstantStepResistiveDevice):
    """An idealized constant-step device: (on average) symmetric, about 10000 states.

    The specifications of Gokmen & Vlasov, "Acceleration of deep neural network training
    with resistive cross-point devices: design considerations", Front. Neurosci. 10, 333
    (2016), https://doi.org/10.3389/fnins.2016.00333, with no device-to-device asymmetry
    and about 8 times more states; the device of Rasch, Gokmen & Haensch, "Training
    large-scale ANNs on simulated resistive crossbar arrays", IEEE Design & Test (2019),
    https://arxiv.org/abs/1906.02698.
    """

    name: ClassVar[str] = "IdealizedPreset"
    parameters_class: ClassVar[type[Any]] = IdealizedPresetParameters


@dataclasses.dataclass
class GokmenVlasovPresetParameters(PulsedResistiveDeviceParameters):
    """The constant-step device of Gokmen & Vlasov (2016), scaled to ``[-1, 1]``."""

    dw_min: float = 0.0016
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3


class GokmenVlasovPresetDevice(ConstantStepResistiveDevice):
    """The constant-step device specified by Gokmen & Vlasov, Front. Neurosci. 10, 333
    (2016), https://doi.org/10.3389/fnins.2016.00333 (about 1200 states), scaled to the
    weight range ``[-1, 1]``."""

    name: ClassVar[str] = "GokmenVlasovPreset"
    parameters_class: ClassVar[type[Any]] = GokmenVlasovPresetParameters


# -- PCM ---------------------------------------------------------------------------------
@dataclasses.dataclass
class PCMPresetParameters(ExpStepResistiveDeviceParameters):
    """PCM (Ge2Sb2Te5) fit of the exponential step with complex noise (Nandakumar 2020)."""

    dw_min: float = 0.01
    up_down: float = 0.0
    w_max: float = 2.0
    w_min: float = 0.0
    a: float = -1.0
    b: float = 0.0
    gamma_up: float = 2.5
    gamma_down: float = 2.5
    A_up: float = -27.235
    A_down: float = -2.235
    dw_min_dtod: float = 0.2
    up_down_dtod: float = 0.05
    w_max_dtod: float = 0.1
    w_min_dtod: float = 0.0
    dw_min_std: float = 0.6
    dw_min_std_add: float = 0.042
    dw_min_std_slope: float = 0.108
    write_noise_std: float = 0.0
    reset: float = 0.01
    reset_dtod: float = 0.02


class PCMPresetDevice(ExpStepResistiveDevice):
    """A single phase-change memory device: the exponential step with complex
    cycle-to-cycle noise fitted to Nandakumar et al., "Mixed-precision deep learning based
    on computational memory", Front. Neurosci. 14, 406 (2020),
    https://doi.org/10.3389/fnins.2020.00406.

    Its weight lives in ``[0, w_max]``: PCM is unidirectional and the reference uses it
    only as a pair of devices with refresh (a one-sided unit cell,
    :class:`~aihw.devices.PCMPresetUnitCell`). This preset is the *single* device; a tile
    of it alone can only hold non-negative weights. Its resets (``reset``, ``reset_dtod``)
    are what the unit cell's refresh uses.
    """

    name: ClassVar[str] = "PCMPreset"
    parameters_class: ClassVar[type[Any]] = PCMPresetParameters


#: Every preset class, by registry name.
PRESETS: dict[str, type] = {
    cls.name: cls
    for cls in (
        ReRamESPresetDevice,
        ReRamSBPresetDevice,
        CapacitorPresetDevice,
        EcRamPresetDevice,
        EcRamMOPresetDevice,
        IdealizedPresetDevice,
        GokmenVlasovPresetDevice,
        PCMPresetDevice,
    )
}

#: Reference preset values that aihw cannot run yet (kept at their "off" value here); empty
#: since the write noise of the ReRAM presets runs.
REFERENCE_ONLY: dict[str, dict[str, float]] = {}

# Re-exported last: preset_configs imports the device classes above. The package's
# __init__ imports this module (never preset_configs first), so the cycle always resolves.
from .preset_configs import (  # noqa: E402
    CapacitorPreset,
    EcRamMOPreset,
    EcRamPreset,
    GokmenVlasovPreset,
    IdealizedPreset,
    PCMPreset,
    PresetIOParameters,
    PresetUpdateParameters,
    ReRamESPreset,
    ReRamSBPreset,
    StandardIOParameters,
)

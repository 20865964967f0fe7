"""Preset tile configurations: a preset device with the periphery and update published with it.

Users of the reference toolkit pick a *preset configuration* (``GokmenVlasovPreset()``,
``ReRamSBPreset()``, ...), not a bare device: the device of
:mod:`aihw.devices.presets` together with the forward and backward periphery
(:class:`PresetIOParameters`) and the update (:class:`PresetUpdateParameters`) the
reference toolkit publishes for its presets (``aihwkit.simulator.presets.configs`` and
``aihwkit.simulator.presets.utils``). The names are the reference's; every field can
still be replaced, as for any :class:`~aihw.core.config.TileConfig`.

The learning rates quoted in each class are measured by ``benchmarks/preset_lr.py``
(docs/presets.md): a small analog CNN on scikit-learn's digits, trained with
``AnalogSGD`` for 10 epochs (test accuracy, the mean of three seeds; chance is 10%). They
depend on the network and the data; use them as a starting point.

Examples:
    >>> from aihw.devices import GokmenVlasovPreset
    >>> config = GokmenVlasovPreset()
    >>> config.forward.out_bound, config.forward.out_noise, config.update.desired_bl
    (20.0, 0.1, 31)
"""

from __future__ import annotations

import dataclasses

from aihw.core.device_model import DeviceModel
from aihw.core.io_parameters import BoundManagementType, IOParameters, NoiseManagementType
from aihw.core.parameters import PulseType, UpdateParameters

from .configs import SingleRPUConfig
from .presets import (
    CapacitorPresetDevice,
    EcRamMOPresetDevice,
    EcRamPresetDevice,
    GokmenVlasovPresetDevice,
    IdealizedPresetDevice,
    PCMPresetDevice,
    ReRamESPresetDevice,
    ReRamSBPresetDevice,
)

__all__ = [
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
    "PRESET_CONFIGS",
]


# -- parameter presets -------------------------------------------------------------------
@dataclasses.dataclass
class PresetIOParameters(IOParameters):
    """The periphery of the reference toolkit's device presets (forward and backward).

    A 7-bit DAC (``inp_res = 1/126``, no stochastic rounding) and a 9-bit ADC
    (``out_res = 1/510``) with a wider output range than the defaults,
    ``out_bound = 20`` (twenty fully-on inputs on maximal weights saturate the ADC), and
    more output noise, ``out_noise = 0.1`` (about one ADC step). Abs-max noise management
    and iterative bound management are on; weight (read) noise is off.

    Every published field has a counterpart here. Only ``out_bound`` and ``out_noise``
    differ from :class:`~aihw.core.io_parameters.IOParameters`' defaults (12 and 0.06).
    """

    bound_management: BoundManagementType | str = BoundManagementType.ITERATIVE
    noise_management: NoiseManagementType | str = NoiseManagementType.ABS_MAX
    inp_res: float = 1.0 / (2**7 - 2)
    inp_sto_round: bool = False
    out_bound: float = 20.0
    out_noise: float = 0.1
    out_res: float = 1.0 / (2**9 - 2)


@dataclasses.dataclass
class StandardIOParameters(IOParameters):
    """The reference toolkit's "standard" periphery, aligned with the forward pass of its
    hardware-aware training preset (Rasch et al., "Hardware-aware training for large-scale
    and diverse deep learning inference workloads using in-memory computing-based
    accelerators", Nat. Commun. 14, 5282 (2023), https://arxiv.org/abs/2302.08469).

    An 8-bit DAC and an 8-bit ADC (``inp_res = out_res = 1/254``), ``out_bound = 10``,
    ``out_noise = 0.04``; abs-max noise management and iterative bound management on;
    IR drop and weight (read) noise off (both are off by default here too).

    Every published field has a counterpart here.
    """

    bound_management: BoundManagementType | str = BoundManagementType.ITERATIVE
    noise_management: NoiseManagementType | str = NoiseManagementType.ABS_MAX
    inp_res: float = 1.0 / (2**8 - 2)
    inp_sto_round: bool = False
    out_bound: float = 10.0
    out_noise: float = 0.04
    out_res: float = 1.0 / (2**8 - 2)


@dataclasses.dataclass
class PresetUpdateParameters(UpdateParameters):
    """The update of the reference toolkit's device presets: a fully parallel update with
    stochastic pulse trains (Gokmen & Vlasov, Front. Neurosci. 10, 333 (2016),
    https://doi.org/10.3389/fnins.2016.00333), at most 31 pulses, the train length adjusted
    to what the largest update needs (``update_bl_management``), and update management on.

    Every published field has a counterpart here; the values equal
    :class:`~aihw.core.parameters.UpdateParameters`' defaults.
    """

    desired_bl: int = 31
    pulse_type: PulseType | str = PulseType.STOCHASTIC_COMPRESSED
    update_bl_management: bool = True
    update_management: bool = True


def _preset_io() -> IOParameters:
    return PresetIOParameters()


def _preset_update() -> UpdateParameters:
    return PresetUpdateParameters()


# -- single-device preset configurations -----------------------------------------------
# Each is a SingleRPUConfig (as in the reference), so isinstance checks written for the
# reference's class hierarchy keep working.
@dataclasses.dataclass
class ReRamESPreset(SingleRPUConfig):
    """One ReRAM device per cross-point (:class:`~aihw.devices.ReRamESPresetDevice`, the
    exponential step) with :class:`PresetIOParameters` forward and backward and
    :class:`PresetUpdateParameters`: plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): no rate
    reaches 80% with plain SGD; best lr 0.3 (58%), 0.1 gives 53%. The write noise is
    the main limit.
    """

    device: DeviceModel | None = dataclasses.field(default_factory=ReRamESPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class ReRamSBPreset(SingleRPUConfig):
    """One ReRAM device per cross-point (:class:`~aihw.devices.ReRamSBPresetDevice`, soft
    bounds) with :class:`PresetIOParameters` forward and backward and
    :class:`PresetUpdateParameters`: plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): no rate
    reaches 80% with plain SGD; best lr 0.1 (28%). The write noise is the main limit.
    """

    device: DeviceModel | None = dataclasses.field(default_factory=ReRamSBPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class CapacitorPreset(SingleRPUConfig):
    """One capacitor cell per cross-point (:class:`~aihw.devices.CapacitorPresetDevice`,
    the linear step with leakage) with :class:`PresetIOParameters` forward and backward and
    :class:`PresetUpdateParameters`: plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): 0.03 to
    0.3 reach 80% (best 0.3: 93%).
    """

    device: DeviceModel | None = dataclasses.field(default_factory=CapacitorPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class EcRamPreset(SingleRPUConfig):
    """One lithium-based ECRAM device per cross-point
    (:class:`~aihw.devices.EcRamPresetDevice`, the linear step) with
    :class:`PresetIOParameters` forward and backward and :class:`PresetUpdateParameters`:
    plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): 0.03 to
    0.3 reach 80% (best 0.1: 87%).
    """

    device: DeviceModel | None = dataclasses.field(default_factory=EcRamPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class EcRamMOPreset(SingleRPUConfig):
    """One metal-oxide ECRAM device per cross-point
    (:class:`~aihw.devices.EcRamMOPresetDevice`, the linear step) with
    :class:`PresetIOParameters` forward and backward and :class:`PresetUpdateParameters`:
    plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): 0.03 to
    0.1 reach 80% (both 80%).
    """

    device: DeviceModel | None = dataclasses.field(default_factory=EcRamMOPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class IdealizedPreset(SingleRPUConfig):
    """One idealized constant-step device per cross-point
    (:class:`~aihw.devices.IdealizedPresetDevice`, about 10000 states) with
    :class:`PresetIOParameters` forward and backward and :class:`PresetUpdateParameters`:
    plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): 0.03 to
    0.1 reach 80% (best 0.03: 90%); above 0.1 the small step saturates the pulse trains.
    """

    device: DeviceModel | None = dataclasses.field(default_factory=IdealizedPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class GokmenVlasovPreset(SingleRPUConfig):
    """One constant-step device per cross-point
    (:class:`~aihw.devices.GokmenVlasovPresetDevice`, about 1200 states) with
    :class:`PresetIOParameters` forward and backward and :class:`PresetUpdateParameters`:
    plain SGD, fully parallel stochastic-pulse update.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): 0.03 to
    0.3 reach 80% (best 0.3: 95%).
    """

    device: DeviceModel | None = dataclasses.field(default_factory=GokmenVlasovPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


@dataclasses.dataclass
class PCMPreset(SingleRPUConfig):
    """Phase-change memory (:class:`~aihw.devices.PCMPresetDevice`) with
    :class:`PresetIOParameters` forward and backward and :class:`PresetUpdateParameters`.

    **Differs from the reference.** The reference's ``PCMPreset`` is a unit-cell
    configuration: each cross-point is a pair of unidirectional PCM devices of opposite
    sign (``PCMPresetUnitCell``, a one-sided unit cell) that is checked for refresh after
    every mini-batch (``refresh_every = 1``, ``units_in_mbatch = True``; the refresh reads
    with ``PresetIOParameters`` and rewrites with ``PresetUpdateParameters(desired_bl=31)``),
    so its weights span about ``[-2, 2]``. Unit cells and refresh do not exist in aihw yet,
    so this configuration holds *one* PCM device per cross-point: its weights live in
    ``[0, w_max]`` (about ``[0, 2]``), they cannot turn negative, both pulse directions
    act on the same device, and the device's reset parameters are unused. The periphery
    and update are the reference's.

    Learning rate (``AnalogSGD``, the digits CNN of docs/presets.md, 10 epochs): with
    non-negative weights no rate reaches 80%; best lr 0.03 (39%).
    """

    device: DeviceModel | None = dataclasses.field(default_factory=PCMPresetDevice)
    forward: IOParameters = dataclasses.field(default_factory=_preset_io)
    backward: IOParameters = dataclasses.field(default_factory=_preset_io)
    update: UpdateParameters = dataclasses.field(default_factory=_preset_update)


#: Every preset configuration, by name.
PRESET_CONFIGS: dict[str, type[SingleRPUConfig]] = {
    cls.__name__: cls
    for cls in (
        ReRamESPreset,
        ReRamSBPreset,
        CapacitorPreset,
        EcRamPreset,
        EcRamMOPreset,
        IdealizedPreset,
        GokmenVlasovPreset,
        PCMPreset,
    )
}

"""Resistive device models of aihw and the registry that finds them.

Built-in devices and third-party ones are registered alike, by plugins of the entry-point
group ``aihw`` that implement the hook ``register_devices(register)``. Plugins are
loaded on the first lookup, not at import.

Examples:
    >>> from aihw.devices import ConstantStepResistiveDevice, PulsedResistiveDeviceParameters
    >>> device = ConstantStepResistiveDevice(PulsedResistiveDeviceParameters(w_min=-0.4))
    >>> get_device("ConstantStep", w_min=-0.4) == device
    True
"""

from __future__ import annotations

from aihw.core.inference import (
    CustomPairConductanceConverter,
    DualPairConductanceConverter,
    GlobalDriftCompensation,
    GlobalDriftCompensationWithExactReference,
    NoiseModel,
    NPairConductanceConverter,
    PerColumnDriftCompensation,
    SingleDeviceConductanceConverter,
    SinglePairConductanceConverter,
    WeightClipParameter,
    WeightClipType,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
)
from aihw.core.mapping import MappingParameter, MappingParameters
from aihw.core.pre_post import InputRangeParameter, PrePostProcessingParameter
from aihw.core.runtime import RPUDataType, RuntimeParameter, RuntimeParameters

from .catalog import DeviceInfo, PluginSource
from .compound_configs import (
    ChoppedTTv2ReRamSBPreset,
    DigitalRankUpdateRPUConfig,
    MixedPrecisionEcRamMOPreset,
    MixedPrecisionReRamSBPreset,
    PCMPresetUnitCell,
    PCMPresetUnitCellParameters,
    TikiTakaCapacitorPreset,
    TikiTakaEcRamPreset,
    TikiTakaReRamSBPreset,
    TTv2ReRamSBPreset,
    UnitCellRPUConfig,
    build_config,
)
from .compounds import (
    OneSidedUnitCell,
    OneSidedUnitCellParameters,
    ReferenceUnitCell,
    ReferenceUnitCellParameters,
    TransferCompound,
    TransferCompoundParameters,
    UnitCell,
    VectorUnitCell,
    VectorUnitCellParameters,
    VectorUnitCellUpdatePolicy,
)
from .configs import (
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    SingleRPUConfig,
    TorchInferenceRPUConfig,
)
from .constant_step import ConstantStepDevice, ConstantStepResistiveDevice
from .digital_compounds import (
    BufferedTransferCompound,
    BufferedTransferCompoundParameters,
    ChoppedTransferCompound,
    ChoppedTransferCompoundParameters,
    DynamicTransferCompound,
    DynamicTransferCompoundParameters,
    MixedPrecisionCompound,
    MixedPrecisionCompoundParameters,
)
from .errors import PluginError, UnknownDeviceError
from .exp_step import ExpStepDevice, ExpStepResistiveDevice, ExpStepResistiveDeviceParameters
from .floating_point import FloatingPointDevice, FloatingPointResistiveDevice
from .hookspecs import hookimpl, hookspec
from .hwa_presets import StandardHWATrainingPreset
from .ideal import IdealDevice, IdealResistiveDevice, IdealResistiveDeviceParameters
from .linear_step import (
    LinearStepDevice,
    LinearStepResistiveDevice,
    LinearStepResistiveDeviceParameters,
)
from .noise_catalog import NoiseModelInfo, UnknownNoiseModelError
from .noise_models import (
    CustomDriftPCMLikeNoiseModel,
    PCMLikeNoiseModel,
    StateIndependentNoiseModel,
)
from .noise_models_reram import ReRamCMONoiseModel, ReRamWan2022NoiseModel
from .parameters import (
    ConstantStepResistiveDeviceParameters,
    FloatingPointTileParameters,
    PulsedResistiveDeviceParameters,
)
from .piecewise_step import (
    PiecewiseStepDevice,
    PiecewiseStepResistiveDevice,
    PiecewiseStepResistiveDeviceParameters,
)
from .pow_step import (
    PowStepDevice,
    PowStepReferenceDevice,
    PowStepReferenceResistiveDevice,
    PowStepReferenceResistiveDeviceParameters,
    PowStepResistiveDevice,
    PowStepResistiveDeviceParameters,
)
from .presets import (
    CapacitorPreset,
    CapacitorPresetDevice,
    EcRamMOPreset,
    EcRamMOPresetDevice,
    EcRamPreset,
    EcRamPresetDevice,
    GokmenVlasovPreset,
    GokmenVlasovPresetDevice,
    IdealizedPreset,
    IdealizedPresetDevice,
    PCMPreset,
    PCMPresetDevice,
    PresetIOParameters,
    PresetUpdateParameters,
    ReRamESPreset,
    ReRamESPresetDevice,
    ReRamSBPreset,
    ReRamSBPresetDevice,
    StandardIOParameters,
)
from .registry import (
    disabled_plugins,
    get_device,
    get_device_class,
    get_noise_model,
    get_noise_model_class,
    get_plugin_manager,
    list_devices,
    list_noise_models,
    register_device,
    register_noise_model,
    reload_plugins,
    unregister_device,
    unregister_noise_model,
)
from .soft_bounds import (
    SoftBoundsDevice,
    SoftBoundsPmaxDevice,
    SoftBoundsPmaxResistiveDevice,
    SoftBoundsPmaxResistiveDeviceParameters,
    SoftBoundsResistiveDevice,
    SoftBoundsResistiveDeviceParameters,
)
from .soft_bounds_reference import (
    SoftBoundsReferenceDevice,
    SoftBoundsReferenceResistiveDevice,
    SoftBoundsReferenceResistiveDeviceParameters,
)

__all__ = [
    "PCMPresetUnitCell",
    "PCMPresetUnitCellParameters",
    "DigitalRankUpdateRPUConfig",
    "MixedPrecisionCompound",
    "MixedPrecisionCompoundParameters",
    "MixedPrecisionEcRamMOPreset",
    "MixedPrecisionReRamSBPreset",
    "BufferedTransferCompound",
    "BufferedTransferCompoundParameters",
    "ChoppedTransferCompound",
    "ChoppedTransferCompoundParameters",
    "DynamicTransferCompound",
    "DynamicTransferCompoundParameters",
    "ChoppedTTv2ReRamSBPreset",
    "TTv2ReRamSBPreset",
    "OneSidedUnitCell",
    "OneSidedUnitCellParameters",
    "ReferenceUnitCell",
    "ReferenceUnitCellParameters",
    "TikiTakaCapacitorPreset",
    "TikiTakaEcRamPreset",
    "TikiTakaReRamSBPreset",
    "TransferCompound",
    "TransferCompoundParameters",
    "UnitCell",
    "UnitCellRPUConfig",
    "VectorUnitCell",
    "VectorUnitCellParameters",
    "VectorUnitCellUpdatePolicy",
    "build_config",
    "CapacitorPreset",
    "CapacitorPresetDevice",
    "EcRamMOPreset",
    "EcRamPreset",
    "GokmenVlasovPreset",
    "IdealizedPreset",
    "PCMPreset",
    "PresetIOParameters",
    "PresetUpdateParameters",
    "ReRamESPreset",
    "ReRamSBPreset",
    "StandardIOParameters",
    "ConstantStepDevice",
    "ConstantStepResistiveDevice",
    "ConstantStepResistiveDeviceParameters",
    "DeviceInfo",
    "EcRamMOPresetDevice",
    "EcRamPresetDevice",
    "ExpStepDevice",
    "ExpStepResistiveDevice",
    "ExpStepResistiveDeviceParameters",
    "FloatingPointDevice",
    "FloatingPointRPUConfig",
    "InferenceRPUConfig",
    "SingleRPUConfig",
    "TorchInferenceRPUConfig",
    "MappingParameter",
    "MappingParameters",
    "RPUDataType",
    "RuntimeParameter",
    "RuntimeParameters",
    "FloatingPointResistiveDevice",
    "FloatingPointTileParameters",
    "GokmenVlasovPresetDevice",
    "IdealDevice",
    "IdealResistiveDevice",
    "IdealResistiveDeviceParameters",
    "IdealizedPresetDevice",
    "LinearStepDevice",
    "LinearStepResistiveDevice",
    "LinearStepResistiveDeviceParameters",
    "PCMPresetDevice",
    "PiecewiseStepDevice",
    "PiecewiseStepResistiveDevice",
    "PiecewiseStepResistiveDeviceParameters",
    "PluginError",
    "PluginSource",
    "PowStepDevice",
    "PowStepReferenceDevice",
    "PowStepReferenceResistiveDevice",
    "PowStepReferenceResistiveDeviceParameters",
    "PowStepResistiveDevice",
    "PowStepResistiveDeviceParameters",
    "PulsedResistiveDeviceParameters",
    "ReRamESPresetDevice",
    "ReRamSBPresetDevice",
    "SoftBoundsDevice",
    "SoftBoundsPmaxDevice",
    "SoftBoundsPmaxResistiveDevice",
    "SoftBoundsPmaxResistiveDeviceParameters",
    "SoftBoundsReferenceDevice",
    "SoftBoundsReferenceResistiveDevice",
    "SoftBoundsReferenceResistiveDeviceParameters",
    "SoftBoundsResistiveDevice",
    "SoftBoundsResistiveDeviceParameters",
    "UnknownDeviceError",
    "disabled_plugins",
    "get_device",
    "get_device_class",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "list_devices",
    "register_device",
    "reload_plugins",
    "unregister_device",
    "CustomDriftPCMLikeNoiseModel",
    "CustomPairConductanceConverter",
    "InputRangeParameter",
    "PrePostProcessingParameter",
    "DualPairConductanceConverter",
    "GlobalDriftCompensation",
    "GlobalDriftCompensationWithExactReference",
    "NoiseModel",
    "NoiseModelInfo",
    "NPairConductanceConverter",
    "PCMLikeNoiseModel",
    "PerColumnDriftCompensation",
    "ReRamCMONoiseModel",
    "ReRamWan2022NoiseModel",
    "SingleDeviceConductanceConverter",
    "SinglePairConductanceConverter",
    "StateIndependentNoiseModel",
    "UnknownNoiseModelError",
    "get_noise_model",
    "get_noise_model_class",
    "list_noise_models",
    "register_noise_model",
    "unregister_noise_model",
    "StandardHWATrainingPreset",
    "WeightClipParameter",
    "WeightClipType",
    "WeightModifierParameter",
    "WeightModifierType",
    "WeightRemapParameter",
    "WeightRemapType",
]

"""The standard configuration of hardware-aware training (``StandardHWATrainingPreset``).

Source: the reference toolkit's ``StandardHWATrainingPreset`` (aihwkit's presets), the
setting of Rasch et al., "Hardware-aware training for large-scale and diverse deep
learning inference workloads using in-memory computing-based accelerators", Nature
Communications 14, 5282 (2023), arXiv:2302.08469.
"""

from __future__ import annotations

import dataclasses

from aihw.core.inference import (
    DriftCompensation,
    GlobalDriftCompensation,
    NoiseModel,
    WeightClipParameter,
    WeightClipType,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
)
from aihw.core.io_parameters import (
    BoundManagementType,
    IOParameters,
    NoiseManagementType,
    WeightNoiseType,
)
from aihw.core.mapping import MappingParameters

from .configs import InferenceRPUConfig
from .noise_models import PCMLikeNoiseModel

__all__ = ["StandardHWATrainingPreset"]


def _forward() -> IOParameters:
    return IOParameters(
        inp_res=254.0,
        out_res=254.0,
        bound_management=BoundManagementType.NONE,
        noise_management=NoiseManagementType.CONSTANT,
        nm_thres=1.0,
        w_noise=0.0175,
        w_noise_type=WeightNoiseType.PCM_READ,
        ir_drop=1.0,
        out_noise=0.04,
        out_bound=10.0,
    )


@dataclasses.dataclass
class StandardHWATrainingPreset(InferenceRPUConfig):
    """A standard setting for hardware-aware training and drift evaluation on PCM.

    As the reference toolkit's preset of the same name (Rasch et al., Nature
    Communications 14, 5282, 2023; arXiv:2302.08469): column-wise weight scaling to 1 on
    tiles of at most 512 inputs, a learned column-wise output scale, an 8-bit DAC and ADC
    (254 steps), constant noise management without bound management, PCM read noise
    (``w_noise = 0.0175``), IR drop, output noise 0.04 and output bound 10; the
    :class:`~aihw.devices.PCMLikeNoiseModel`, global drift compensation, clipping at 1.0
    and channel-wise symmetric remapping to 1.0.

    Our addition, since the reference preset leaves the modifier off: an ``AddNormal``
    weight modifier with ``std_dev = 0.05`` of the tile's largest weight, about the PCM
    programming noise at ``g_max`` (1.06 uS of 25 uS), so that training sees the noise
    that programming adds. The reference preset also learns the input ranges
    (``pre_post``), which is configured separately.
    """

    mapping: MappingParameters = dataclasses.field(
        default_factory=lambda: MappingParameters(
            weight_scaling_omega=1.0,
            weight_scaling_columnwise=True,
            max_input_size=512,
            max_output_size=0,
            digital_bias=True,
            learn_out_scaling=True,
            out_scaling_columnwise=True,
        )
    )
    forward: IOParameters = dataclasses.field(default_factory=_forward)
    noise_model: NoiseModel | None = dataclasses.field(default_factory=PCMLikeNoiseModel)
    drift_compensation: DriftCompensation | None = dataclasses.field(
        default_factory=GlobalDriftCompensation
    )
    clip: WeightClipParameter = dataclasses.field(
        default_factory=lambda: WeightClipParameter(
            type=WeightClipType.FIXED_VALUE, fixed_value=1.0
        )
    )
    remap: WeightRemapParameter = dataclasses.field(
        default_factory=lambda: WeightRemapParameter(
            type=WeightRemapType.CHANNELWISE_SYMMETRIC, remapped_wmax=1.0
        )
    )
    modifier: WeightModifierParameter = dataclasses.field(
        default_factory=lambda: WeightModifierParameter(
            type=WeightModifierType.ADD_NORMAL, std_dev=0.05
        )
    )

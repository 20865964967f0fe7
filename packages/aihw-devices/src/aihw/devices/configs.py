"""Presets of :class:`~aihw.core.config.TileConfig` for the common configurations
(docs/physics/periphery.md#defaults-by-configuration).

- :class:`SingleRPUConfig`: pulsed training on one device per cross-point: constant-step
  device, the default periphery both ways, default pulsed update.
- :class:`FloatingPointRPUConfig`: everything exact (a floating-point tile).
- :class:`InferenceRPUConfig`: inference and hardware-aware training: the default forward
  periphery, exact backward and exact SGD update on floating-point weights.
- :class:`TorchInferenceRPUConfig`: :class:`InferenceRPUConfig` computed by the plain-torch
  reference only (``runtime.backend="reference"``), the reference toolkit's pure-torch
  inference configuration.
- :class:`TorchInferenceRPUConfigIRDropT`: :class:`TorchInferenceRPUConfig` with the
  time-dependent IR drop (:class:`~aihw.core.io_parameters_irdrop.IOParametersIRDropT`
  forward; docs/physics/periphery.md#time-dependent-ir-drop).

Examples:
    >>> from aihw.devices import InferenceRPUConfig
    >>> InferenceRPUConfig().backward.is_perfect
    True
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aihw.core.config import TileConfig
from aihw.core.device_model import DeviceModel
from aihw.core.inference import DriftCompensation, GlobalDriftCompensation, NoiseModel
from aihw.core.inference.clip import WeightClipParameter
from aihw.core.inference.modifiers import WeightModifierParameter
from aihw.core.inference.remap import WeightRemapParameter
from aihw.core.io_parameters import IOParameters
from aihw.core.io_parameters_irdrop import IOParametersIRDropT
from aihw.core.parameters import PulseType, UpdateParameters
from aihw.core.pre_post import PrePostProcessingParameter
from aihw.core.runtime import RuntimeParameters

from .constant_step import ConstantStepDevice
from .floating_point import FloatingPointDevice
from .noise_models import PCMLikeNoiseModel

__all__ = [
    "SingleRPUConfig",
    "FloatingPointRPUConfig",
    "InferenceRPUConfig",
    "TorchInferenceRPUConfig",
    "TorchInferenceRPUConfigIRDropT",
]


@dataclasses.dataclass
class SingleRPUConfig(TileConfig):
    """One pulsed device per cross-point (default: constant step) with the default
    periphery (docs/physics/periphery.md#io-parameters) forward and backward and the default update
    (docs/physics/pulsed-update.md#update-parameters)."""

    device: DeviceModel | None = dataclasses.field(default_factory=ConstantStepDevice)


@dataclasses.dataclass
class FloatingPointRPUConfig(TileConfig):
    """Exact weights, passes and update (a floating-point tile; no periphery)."""

    device: DeviceModel | None = dataclasses.field(default_factory=FloatingPointDevice)
    forward: IOParameters = dataclasses.field(default_factory=lambda: IOParameters(is_perfect=True))
    backward: IOParameters = dataclasses.field(
        default_factory=lambda: IOParameters(is_perfect=True)
    )


@dataclasses.dataclass
class InferenceRPUConfig(TileConfig):
    """The reference toolkit's inference configuration
    (docs/physics/periphery.md#defaults-by-configuration): forward periphery with the
    docs/physics/periphery.md#io-parameters defaults, exact backward (``is_perfect=True``), exact
    SGD update (``pulse_type=None``). The device is floating point (an ideal device would give the
    same tile).

    ``noise_model`` (default :class:`~aihw.devices.PCMLikeNoiseModel`) is what
    ``program_analog_weights()`` and ``drift_analog_weights(t)`` apply, and
    ``drift_compensation`` (default :class:`~aihw.devices.GlobalDriftCompensation`,
    ``None`` for none) scales the outputs after a drift in eval mode
    (docs/physics/inference.md).

    ``clip``, ``remap`` and ``modifier`` (default: none of them acts) are hardware-aware
    training: after every optimizer step the tile clips its weights, remaps them and draws
    a modified copy that the training passes use
    (docs/physics/inference.md#hardware-aware-training). ``pre_post``
    (:class:`~aihw.devices.PrePostProcessingParameter`) holds the learned input range of
    the layers built from it."""

    device: DeviceModel | None = dataclasses.field(default_factory=FloatingPointDevice)
    backward: IOParameters = dataclasses.field(
        default_factory=lambda: IOParameters(is_perfect=True)
    )
    update: UpdateParameters = dataclasses.field(
        default_factory=lambda: UpdateParameters(pulse_type=PulseType.NONE)
    )
    noise_model: NoiseModel | None = dataclasses.field(default_factory=PCMLikeNoiseModel)
    drift_compensation: DriftCompensation | None = dataclasses.field(
        default_factory=GlobalDriftCompensation
    )
    clip: WeightClipParameter = dataclasses.field(default_factory=WeightClipParameter)
    modifier: WeightModifierParameter = dataclasses.field(default_factory=WeightModifierParameter)
    remap: WeightRemapParameter = dataclasses.field(default_factory=WeightRemapParameter)
    pre_post: PrePostProcessingParameter = dataclasses.field(
        default_factory=PrePostProcessingParameter
    )

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A configuration pickled before programming existed gets the defaults.
        super().__setstate__(state)
        self.__dict__.setdefault("noise_model", PCMLikeNoiseModel())
        self.__dict__.setdefault("drift_compensation", GlobalDriftCompensation())
        self.__dict__.setdefault("clip", WeightClipParameter())
        self.__dict__.setdefault("modifier", WeightModifierParameter())
        self.__dict__.setdefault("remap", WeightRemapParameter())
        self.__dict__.setdefault("pre_post", PrePostProcessingParameter())

    def validate(self) -> None:
        """As :meth:`TileConfig.validate`, and the noise model and drift compensation."""
        super().validate()
        name = type(self).__name__
        for field, kind in (
            ("noise_model", NoiseModel),
            ("drift_compensation", DriftCompensation),
        ):
            value = getattr(self, field)
            if value is not None and not isinstance(value, kind):
                raise TypeError(
                    f"{name}.{field} must be None or a {kind.__name__} instance; "
                    f"got {type(value).__name__}"
                )
        if self.noise_model is not None:
            self.noise_model.validate()
        hwa: tuple[tuple[str, type[Any]], ...] = (
            ("clip", WeightClipParameter),
            ("modifier", WeightModifierParameter),
            ("remap", WeightRemapParameter),
        )
        for part, cls in hwa:
            param = getattr(self, part)
            if not isinstance(param, cls):
                raise TypeError(
                    f"{name}.{part} must be a {cls.__name__} instance; got {type(param).__name__}"
                )
            param.validate()
        if not isinstance(self.pre_post, PrePostProcessingParameter):
            raise TypeError(
                f"{name}.pre_post must be a PrePostProcessingParameter; "
                f"got {type(self.pre_post).__name__}"
            )
        self.pre_post.validate()


@dataclasses.dataclass
class TorchInferenceRPUConfig(InferenceRPUConfig):
    """:class:`InferenceRPUConfig` on the plain-torch path: its tiles start with
    ``backend="reference"`` (``runtime.backend``), so the periphery runs in the plain-torch
    reference (``aihw.core.reference``) and never in the compiled engine; the numbers are
    the engine's (the two are twins). The reference toolkit's pure-torch inference tile."""

    runtime: RuntimeParameters = dataclasses.field(
        default_factory=lambda: RuntimeParameters(backend="reference")
    )


@dataclasses.dataclass
class TorchInferenceRPUConfigIRDropT(TorchInferenceRPUConfig):
    """:class:`TorchInferenceRPUConfig` with the time-dependent IR drop, the reference
    toolkit's configuration of that name: the forward periphery is an
    :class:`~aihw.core.io_parameters_irdrop.IOParametersIRDropT` (pulse-width-modulated
    inputs; each column a chain of Thevenin sources joined by wire resistance,
    docs/physics/periphery.md#time-dependent-ir-drop), applied in eval mode; training
    passes use the exact product. A tile has ``mapping.max_input_size`` physical rows (its
    inputs padded symmetrically; the tile's own rows where the limit is 0), and the
    conductances of ``noise_model.g_converter``."""

    forward: IOParameters = dataclasses.field(default_factory=IOParametersIRDropT)

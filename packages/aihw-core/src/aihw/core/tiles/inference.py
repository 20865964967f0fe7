"""``InferenceTile``: exact weights and update, an analog periphery on the passes, and
programming onto noisy devices with drift (docs/physics/inference.md)."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from .. import dispatch, ir_drop_time
from .._checks import check_seed
from ..config import TileConfig
from ..inference import draws
from ..inference.clip import WeightClipParameter
from ..inference.compensation import DriftCompensation
from ..inference.hwa import HWAState, checked_hwa_parameter
from ..inference.modifiers import WeightModifierParameter
from ..inference.noise_model import NoiseModel
from ..inference.programming import InferenceState, check_t_inference
from ..inference.remap import WeightRemapParameter, remap_weights
from ..io_parameters import IOParameters
from ..io_parameters_irdrop import IOParametersIRDropT
from ..parameters import PulseType, UpdateParameters
from .base import check_config_alone
from .floating_point import FloatingPointTile

__all__ = ["InferenceTile"]


def _default_config() -> TileConfig:
    return TileConfig(
        device=None,
        forward=IOParameters(),
        backward=IOParameters(is_perfect=True),
        update=UpdateParameters(pulse_type=PulseType.NONE),
    )


class InferenceTile(FloatingPointTile):
    """A tile with floating-point weights whose forward and backward passes go through the
    periphery of ``rpu_config`` (docs/physics/periphery.md); the update is exact SGD
    (docs/physics/periphery.md#defaults-by-configuration, inference and hardware-aware training).

    Args:
        out_size: number of outputs, ``>= 1``.
        in_size: number of inputs, ``>= 1``.
        rpu_config: a :class:`~aihw.core.config.TileConfig` whose device is ``None`` or a
            floating-point device; ``None`` gives the inference defaults (forward periphery
            with the docs/physics/periphery.md#io-parameters defaults, exact backward).
        bias: add an analog bias column.
        seed: the tile seed, an int in ``[0, 2**64)``; ``None`` draws one.

    A configuration with a ``noise_model`` (``InferenceRPUConfig``) lets the tile program
    its weights onto noisy devices (:meth:`program_weights`) and read them after drift
    (:meth:`drift_weights`); its ``drift_compensation`` then scales the outputs in eval
    mode (:meth:`set_test_mode`).

    Its ``clip``, ``remap`` and ``modifier`` (hardware-aware training,
    docs/physics/inference.md#hardware-aware-training) act after every update: the weights
    are clipped, then remapped (the factor goes into digital output scales, :attr:`out_scales`),
    then a modified copy is drawn that the forward and backward passes use in training mode
    (and in eval mode with ``modifier.enable_during_test``); the update goes to the stored
    weights. Before the first update there is no modified copy.

    Example:
        >>> import torch
        >>> tile = InferenceTile(3, 4, seed=0)
        >>> tile.forward(torch.ones(2, 4)).shape
        torch.Size([2, 3])
    """

    #: Defaults for tiles pickled before programming existed.
    _inference: InferenceState | None = None
    _alpha: torch.Tensor | None = None  # the factor applied now (eval mode), or None
    _hwa: HWAState | None = None
    _own_pass = False  # the passes use the modified copy or output scales (no prepared pass)
    is_test = False

    def __init__(
        self,
        out_size: int,
        in_size: int,
        rpu_config: TileConfig | None = None,
        bias: bool = False,
        seed: int | None = None,
    ):
        if rpu_config is None:
            rpu_config = _default_config()
        check_config_alone(rpu_config, None, None)
        if not rpu_config.is_floating_point:
            raise ValueError(
                f"rpu_config.device={rpu_config.device!r} is a pulsed device; InferenceTile "
                "takes None or a floating-point device (use AnalogTile or create_tile)"
            )
        super().__init__(out_size, in_size, rpu_config.device, bias=bias, seed=seed)
        self.rpu_config = rpu_config
        self._apply_runtime(rpu_config)
        self._set_periphery(rpu_config.forward, rpu_config.backward)
        self._inference = InferenceState(
            _checked_noise_model(getattr(rpu_config, "noise_model", None)),
            _checked_compensation(getattr(rpu_config, "drift_compensation", None)),
            noise_seed=self.seed,
        )
        self.setup_ir_drop_t()
        self._hwa = HWAState(
            clip=checked_hwa_parameter("clip", getattr(rpu_config, "clip", None),
                                       WeightClipParameter),
            remap=checked_hwa_parameter("remap", getattr(rpu_config, "remap", None),
                                        WeightRemapParameter),
            modifier=checked_hwa_parameter("modifier", getattr(rpu_config, "modifier", None),
                                           WeightModifierParameter),
        )  # fmt: skip

    # -- hardware-aware training ----------------------------------------------------------
    @property
    def hwa_state(self) -> HWAState:
        """The clip, remap and modifier parameters, the modified copy and output scales."""
        if self._hwa is None:
            self._hwa = HWAState()
        return self._hwa

    @property
    def modified_weights(self) -> torch.Tensor | None:
        """The modified copy of the last update (``None`` before one, or after the weights
        were set, programmed or drifted)."""
        return self.hwa_state.modified

    @property
    def out_scales(self) -> torch.Tensor | None:
        """``[out]`` the digital output scales that remapping moved the weights' factor into
        (``None``: all 1). The tile computes ``out_scales * (W x)``."""
        return self.hwa_state.out_scales

    def _pass_weights(self) -> torch.Tensor:
        hwa = self._hwa
        if hwa is not None and hwa.modified is not None and hwa.uses_modified(self.is_test):
            return hwa.modified
        return self.weights

    def _refresh_pass(self) -> None:
        """Keep ``_own_pass`` in step; a change moves ``version`` (prepared passes)."""
        hwa = self._hwa
        own = hwa is not None and (hwa.uses_modified(self.is_test) or hwa.out_scales is not None)
        if own != self._own_pass:
            self._version += 1
        self._own_pass = own

    def _post_update(self) -> None:
        super()._post_update()
        hwa = self._hwa
        if hwa is not None and hwa.active:
            hwa.after_update(self.weights, self.seed, self._draw_engine())
            self._refresh_pass()

    def _draw_engine(self) -> dispatch.EngineName:
        """Which implementation draws the modified copy, programming and drift: the tile's
        (``backend='reference'`` keeps them in plain torch; the numbers are the same)."""
        return dispatch.engine_for(self.device, self.backend)

    def _drop_modified(self) -> None:
        if self._hwa is not None:
            self._hwa.modified = None
        self._refresh_pass()

    def remap_weights(self, remap: WeightRemapParameter | None = None) -> None:
        """Remap the weights now (``remap``, default the configuration's): their largest
        magnitude (per tile or per output) becomes ``remapped_wmax`` and the factor moves
        into :attr:`out_scales`; the tile computes the same function. Nothing happens
        without a remap type."""
        param = checked_hwa_parameter("remap", remap, WeightRemapParameter)
        hwa = self.hwa_state
        param = hwa.remap if param is None else param
        if param is None or not param.enabled:
            return
        hwa.out_scales = remap_weights(self.weights, hwa.out_scales, param)
        self._drop_modified()

    remap_analog_weights = remap_weights

    def get_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The logical weights and bias: the stored ones times :attr:`out_scales`."""
        w, b = super().get_weights()
        scales = self.out_scales
        if scales is not None:
            w = w * scales.unsqueeze(1)
            b = None if b is None else b * scales
        return w, b

    def _scaled_error(self, d: torch.Tensor) -> torch.Tensor:
        """``d`` (the error of the tile's output) times the output scales: the error of
        the stored weights' own product. Unchecked input passes through (checked later)."""
        scales = self.out_scales
        if (
            scales is None
            or not isinstance(d, torch.Tensor)
            or not d.is_floating_point()
            or d.dim() < 1
            or d.shape[-1] != self.out_size
            or d.device != scales.device
        ):
            return d
        return d * scales.to(d.dtype)

    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float | None = None) -> None:
        super().update(x, self._scaled_error(d), lr)

    def _record(
        self,
        x: torch.Tensor,
        d: torch.Tensor,
        *,
        x_finite: bool = False,
        x_owned: bool = False,
        d_owned: bool = False,
    ) -> None:
        scaled = self._scaled_error(d)
        super()._record(x, scaled, x_finite=x_finite, x_owned=x_owned,
                        d_owned=d_owned or scaled is not d)  # fmt: skip

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        return super().backward(self._scaled_error(d))

    # -- programming and drift ------------------------------------------------------------
    @property
    def inference_state(self) -> InferenceState:
        """The noise model, compensation, stream counters and programmed state."""
        if self._inference is None:
            self._inference = InferenceState(None, None, noise_seed=self.seed)
        return self._inference

    @property
    def noise_model(self) -> NoiseModel | None:
        """The noise model programming and drift use (``None``: the tile cannot program)."""
        return self.inference_state.noise_model

    @property
    def drift_compensation(self) -> DriftCompensation | None:
        """The drift compensation, or ``None``."""
        return self.inference_state.drift_compensation

    @property
    def is_programmed(self) -> bool:
        """Whether :meth:`program_weights` ran since the weights were last set."""
        return self.inference_state.programmed is not None

    @property
    def alpha(self) -> torch.Tensor | None:
        """The drift-compensation factor of the last drift (``None`` before one)."""
        programmed = self.inference_state.programmed
        return None if programmed is None else programmed.alpha

    def program_weights(self, seed: int | None = None) -> None:
        """Program the weights onto the noise model's devices: programming noise, and the
        drift exponents drawn once; the compensation's baseline is read out.

        The weights programmed are the reference: the current weights on the first call,
        the same reference again on later calls (until :meth:`set_weights`), with new
        noise each time.

        Args:
            seed: ``None`` continues the tile's own streams; an int in ``[0, 2**64)``
                restarts them from a noise seed made of it and the tile seed, so the same
                seed gives the same programming and drifts.

        Raises:
            RuntimeError: the tile has no noise model.
            ValueError: a bad ``seed``. Nothing changes on an error.
        """
        state = self.inference_state
        trial = state
        if seed is not None:  # the counters restart only if programming succeeds
            noise_seed = draws.mix_seed(self.seed, check_seed(seed))
            trial = dataclasses.replace(state, noise_seed=noise_seed, program_index=0,
                                        drift_index=0)  # fmt: skip
        reference = self.weights if state.programmed is None else state.programmed.reference
        new, programmed = trial.program(reference, self._draw_engine())
        state.noise_seed, state.program_index = trial.noise_seed, trial.program_index
        state.drift_index = trial.drift_index
        with torch.no_grad():
            self.weights.copy_(new)
        self._drop_modified()
        state.programmed = programmed
        state.program_index = (state.program_index + 1) & 0xFFFFFFFF
        compensation = state.drift_compensation
        if compensation is not None:
            # [x, out]: the exact read-out of the reference, or the noisy one of the tile
            readout = programmed.reference.t() if compensation.exact_reference else None
            programmed.baseline = compensation.baseline(
                self._read_out() if readout is None else readout
            )
        self._refresh_alpha()

    def drift_weights(self, t_inference: float = 0.0) -> None:
        """Set the weights to those read ``t_inference`` seconds after programming: each
        call applies drift (the exponents drawn at programming) and new read noise to the
        programmed conductances, and computes the compensation factor.

        Raises:
            ValueError: ``t_inference`` negative or not finite.
            RuntimeError: called before :meth:`program_weights`. Nothing changes on an
                error.
        """
        t = check_t_inference(t_inference)
        state = self.inference_state
        programmed = state.programmed
        if programmed is None:
            raise RuntimeError(
                "drift_weights needs programmed weights: call program_weights() (or "
                "program_analog_weights() on the layer or model) first"
            )
        new = state.drift(t, self._draw_engine())
        with torch.no_grad():
            self.weights.copy_(new)
        self._drop_modified()
        state.drift_index = (state.drift_index + 1) & 0xFFFFFFFF
        programmed.t_inference = t
        if state.drift_compensation is not None and programmed.baseline is not None:
            programmed.alpha = state.drift_compensation.factor(
                programmed.baseline, self._read_out()
            )
        self._refresh_alpha()

    program_analog_weights = program_weights
    drift_analog_weights = drift_weights

    def set_test_mode(self, is_test: bool) -> None:
        """Eval mode (``True``) applies the drift-compensation factor to the outputs (and
        the time-dependent IR drop of IOParametersIRDropT)."""
        self.is_test = bool(is_test)
        if self.forward_periphery is not None:
            self.forward_periphery.is_test = self.is_test
        self._refresh_alpha()
        self._refresh_pass()

    takes_ir_drop_t = True

    def _set_periphery(self, forward: IOParameters | None, backward: IOParameters | None) -> None:
        super()._set_periphery(forward, backward)
        self.setup_ir_drop_t(check=False)  # the layout is checked once the tile is complete

    def setup_ir_drop_t(self, rows: int | None = None, check: bool = True) -> None:
        """Give an IOParametersIRDropT forward periphery the tile's layout: ``rows``
        physical rows (default: ``mapping.max_input_size`` of the configuration, or the
        tile's rows where those are more or the limit is 0), the noise model's
        ``g_converter`` and the test mode. Refuses a layout whose rows
        ``ir_drop_segments`` does not divide (when ``ir_drop > 0``)."""
        periphery = self.forward_periphery
        if periphery is None or not isinstance(periphery.io, IOParametersIRDropT):
            return
        if rows is None:
            mapping = getattr(getattr(self, "rpu_config", None), "mapping", None)
            limit = int(getattr(mapping, "max_input_size", 0) or 0)
            rows = max(limit, self.x_size)
        if check and periphery.io.ir_drop > 0:
            ir_drop_time.check_geometry(periphery.io, self.x_size, rows)
        state = self._inference
        noise_model = None if state is None else state.noise_model
        periphery.ir_drop_rows = int(rows)
        periphery.ir_drop_converter = getattr(noise_model, "g_converter", None)
        periphery.is_test = bool(self.is_test)

    def _refresh_alpha(self) -> None:
        """Keep ``_alpha`` (what forward multiplies by) in step; a change of whether one
        applies moves ``version``, so prepared inference passes are rebuilt."""
        alpha = self.alpha if self.is_test else None
        if (alpha is None) != (self._alpha is None):
            self._version += 1
        self._alpha = alpha

    def _read_out(self) -> torch.Tensor:
        """``[x, out]``: the forward pass (periphery and noise) of each unit input, the
        bias column included, without the compensation factor."""
        eye = torch.eye(self.x_size, device=self.device)
        periphery = self.forward_periphery
        if periphery is None:
            return eye @ self.weights.T
        implementation = self._periphery_engine() if not periphery.io.exact else "reference"
        # Read out as in eval mode (the reference's is_test=True): with the time-dependent
        # IR drop, whatever the layer's mode when it programs or drifts.
        was_test, periphery.is_test = periphery.is_test, True
        try:
            return periphery.run(eye, self.weights.t(), implementation, self.num_threads)
        finally:
            periphery.is_test = was_test

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        if self._own_pass:
            scales = self.out_scales
            if scales is not None:
                y = y * scales.to(y.dtype)
        alpha = self._alpha
        return y if alpha is None else y * alpha.to(y.dtype)

    def set_weights(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().set_weights(weights, bias)
        # New weights are not programmed: the next programming starts from them; they are
        # the logical weights (output scales 1) and have no modified copy yet.
        self.inference_state.programmed = None
        hwa = self.hwa_state
        hwa.out_scales = None
        self._drop_modified()
        self._refresh_alpha()

    def to(self, device: torch.device | str | int) -> InferenceTile:
        super().to(device)
        state = self.inference_state
        if state.programmed is not None:
            state.programmed = state.programmed.to(torch.device(device))
        self.hwa_state.to(torch.device(device))
        self._refresh_alpha()
        return self


def _checked_noise_model(value: Any) -> NoiseModel | None:
    if value is not None and not isinstance(value, NoiseModel):
        raise TypeError(
            f"noise_model must be None or a NoiseModel instance; got {type(value).__name__}"
        )
    return value


def _checked_compensation(value: Any) -> DriftCompensation | None:
    if value is not None and not isinstance(value, DriftCompensation):
        raise TypeError(
            "drift_compensation must be None or a DriftCompensation instance; "
            f"got {type(value).__name__}"
        )
    return value

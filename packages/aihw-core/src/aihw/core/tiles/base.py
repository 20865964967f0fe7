"""What every tile shares: sizes, the analog bias column, exact forward and backward,
weights access, moving between devices, the learning rate and recorded updates.

Subclasses implement :meth:`TileBase._apply_update` (the update on validated float32
tensors) and may override :meth:`TileBase._clip_weights` (the device bounds).
"""

from __future__ import annotations

from typing import Any

import torch

from .. import dispatch
from .._checks import (
    check_finite,
    check_floating_tensor,
    check_last_dim,
    check_learning_rate,
    check_positive_int,
    check_same_rows,
    check_seed,
    check_tensor_device,
)
from ..io_parameters import IOParameters
from ..io_parameters_irdrop import IOParametersIRDropT
from ..periphery import Periphery
from ..runtime import BACKENDS

__all__ = ["TileBase", "draw_seed", "BACKENDS"]

#: ``update_index`` is a 32-bit counter (engine contract §2).
_INDEX_MASK = 0xFFFFFFFF


def check_config_alone(rpu_config: Any, resistive_device: Any, update: Any) -> None:
    """Raise unless ``rpu_config`` is a ``TileConfig`` given without the shorthand arguments."""
    from ..config import TileConfig

    if not isinstance(rpu_config, TileConfig):
        raise TypeError(f"rpu_config must be a TileConfig; got {type(rpu_config).__name__}")
    given = [
        n for n, v in (("resistive_device", resistive_device), ("update", update)) if v is not None
    ]
    if given:
        raise ValueError(
            f"give either rpu_config= or {'/'.join(given)}=, not both: rpu_config already "
            "holds the device and the update parameters"
        )
    rpu_config.validate()


def draw_seed() -> int:
    """A 64-bit seed from torch's global generator (``torch.manual_seed`` fixes it)."""
    halves: list[int] = torch.randint(0, 2**32, (2,), dtype=torch.int64).tolist()
    return (halves[0] << 32) | halves[1]


class TileBase:
    """State and checks common to all tiles.

    Args:
        out_size: number of outputs (rows of the weight matrix), ``>= 1``.
        in_size: number of inputs (columns, without the bias), ``>= 1``.
        bias: add an analog bias column (a constant input 1 appended to every input).
        seed: the tile seed, an int in ``[0, 2**64)``; ``None`` draws one from torch's
            global generator.

    Attributes:
        weights: float32 ``[out_size, in_size + bias]``; updated in place, so views of
            it stay valid across updates (not across :meth:`to`).
        update_index: number of accepted update calls (32-bit, wraps around).
        learning_rate: the default ``lr`` of :meth:`update`.
        forward_periphery, backward_periphery: the :class:`~aihw.core.periphery.Periphery`
            of each direction, or ``None`` for an exact pass (the default).
        num_threads: threads of the compiled engine; ``None`` uses
            ``torch.get_num_threads()`` (one for periphery passes of fewer than 2**13
            values on torch's OpenMP threads, 2**17 on the engine's own, where more
            threads cost more than they save). Results do not depend on it.
        backend: ``"auto"``, ``"native"`` (the compiled engine, an error if it cannot
            run) or ``"reference"`` (plain torch).
    """

    def __init__(self, out_size: int, in_size: int, bias: bool = False, seed: int | None = None):
        self.out_size = check_positive_int("out_size", out_size)
        self.in_size = check_positive_int("in_size", in_size)
        if not isinstance(bias, bool):
            raise TypeError(f"bias={bias!r} must be True or False")
        self.bias = bias
        self.seed = draw_seed() if seed is None else check_seed(seed)
        self.update_index = 0
        self.learning_rate = 0.01
        # an int, or a 0-dim int64 tensor on the GPU when the CUDA kernels ran (no sync)
        self.last_update_pulses: int | torch.Tensor = 0
        self.weights = torch.zeros(self.d_size, self.x_size, dtype=torch.float32)
        self._recorded: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._version = 0
        self._forward_periphery: Periphery | None = None
        self._backward_periphery: Periphery | None = None
        self._num_threads: int | None = None
        self._backend = "auto"

    # -- what prepared passes depend on ------------------------------------------------
    @property
    def version(self) -> int:
        """Moves on whenever ``backend``, ``num_threads`` or a periphery is set: what is
        worked out from those (a layer's prepared inference pass) is redone when it moved.
        A periphery's IO parameters count their own changes (``io.version``)."""
        return self._version

    @property
    def forward_periphery(self) -> Periphery | None:
        """The forward :class:`~aihw.core.periphery.Periphery`, or ``None`` (exact)."""
        return self._forward_periphery

    @forward_periphery.setter
    def forward_periphery(self, value: Periphery | None) -> None:
        self._forward_periphery = value
        self._version += 1

    @property
    def backward_periphery(self) -> Periphery | None:
        """The backward :class:`~aihw.core.periphery.Periphery`, or ``None`` (exact)."""
        return self._backward_periphery

    @backward_periphery.setter
    def backward_periphery(self, value: Periphery | None) -> None:
        self._backward_periphery = value
        self._version += 1

    @property
    def num_threads(self) -> int | None:
        """Threads of the compiled engine (``None``: torch's thread count)."""
        return self._num_threads

    @num_threads.setter
    def num_threads(self, value: int | None) -> None:
        self._num_threads = value
        self._version += 1

    @property
    def tile(self) -> TileBase:
        """The tile itself: the reference toolkit's tile modules hold their simulator tile
        in ``.tile``, and here one object is both, so ``layer.analog_tiles()`` serves
        scripts that read ``tile.tile``."""
        return self

    def _apply_runtime(self, rpu_config: Any) -> None:
        """Start with the back-end that ``rpu_config.runtime`` names."""
        if rpu_config is not None:
            self._backend = rpu_config.runtime.backend

    # -- backend and periphery ---------------------------------------------------------
    @property
    def backend(self) -> str:
        """Which engine runs the periphery and the pulsed update: ``"auto"``, ``"native"``
        or ``"reference"``."""
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        if value not in BACKENDS:
            raise ValueError(f"backend={value!r} is not allowed; allowed: {', '.join(BACKENDS)}")
        self._backend = value
        self._version += 1

    def _threads(self) -> int:
        return torch.get_num_threads() if self.num_threads is None else int(self.num_threads)

    #: Whether the forward periphery may hold the time-dependent IR drop
    #: (IOParametersIRDropT): it needs a test mode, which inference tiles have.
    takes_ir_drop_t = False

    def _set_periphery(self, forward: IOParameters | None, backward: IOParameters | None) -> None:
        """Build the forward and backward periphery (``None``: an exact pass)."""
        if isinstance(forward, IOParametersIRDropT) and not self.takes_ir_drop_t:
            raise ValueError(
                f"forward IO parameters are IOParametersIRDropT, which a "
                f"{type(self).__name__} does not take: the time-dependent IR drop acts in "
                "eval mode of inference tiles (allowed: InferenceRPUConfig or "
                "TorchInferenceRPUConfigIRDropT with a floating-point device)"
            )
        fwd = None if forward is None else Periphery(forward, "forward", self.d_size, self.seed)
        bwd = None if backward is None else Periphery(backward, "backward", self.x_size, self.seed)
        self.forward_periphery, self.backward_periphery = fwd, bwd

    def periphery_uses_native(self) -> bool:
        """Whether the periphery stages of the next pass run in the compiled CPU engine
        (not the CUDA kernels: the CPU-only compiled first passes ask this)."""
        return (
            self._backend != "reference" and dispatch.compiled_engine_for(self.device) == "native"
        )

    def _periphery_engine(self) -> dispatch.EngineName:
        """Which implementation runs the periphery stages of the next pass: the compiled CPU
        engine, the CUDA kernels or the reference (``aihw.core.dispatch.engine_for``);
        raises for ``backend='native'`` where no compiled one can run."""
        return dispatch.engine_for(self.device, self._backend)

    # -- which implementation runs (tiles/engine_report.py) -----------------------------
    @property
    def engines(self) -> dict[str, str]:
        """Which implementation runs each part of the next call, given the tile's device
        and ``backend``: ``"native"`` (compiled CPU engine), ``"cuda"`` (CUDA kernels) or
        ``"reference"`` (plain torch), for ``"periphery"``, ``"device_ops"`` and
        ``"update"`` where the tile has them (a step law written in Python updates in the
        reference while its periphery runs compiled). Raises ``RuntimeError`` for
        ``backend='native'`` where a part cannot run compiled, saying why."""
        from .engine_report import tile_engines

        return dict(tile_engines(self))

    @property
    def engine(self) -> str:
        """The one implementation of :attr:`engines` when every part agrees, else
        ``"reference"`` (some part runs in plain torch)."""
        from .engine_report import tile_engine

        return tile_engine(self)

    # -- sizes ------------------------------------------------------------------------
    @property
    def x_size(self) -> int:
        """Columns of the weight matrix: ``in_size`` plus the bias column."""
        return self.in_size + int(self.bias)

    @property
    def d_size(self) -> int:
        """Rows of the weight matrix: ``out_size``."""
        return self.out_size

    @property
    def device(self) -> torch.device:
        """The torch device holding the tile's tensors."""
        return self.weights.device

    # -- checks -------------------------------------------------------------------------
    def _as_input(self, name: str, value: Any, size: int) -> torch.Tensor:
        tensor = check_floating_tensor(name, value)
        check_last_dim(name, tensor, size)
        check_tensor_device(name, tensor, self.device)
        return tensor

    def _update_batch(self, x: Any, d: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate an update's inputs; return 2-D float32 ``x`` (bias appended) and ``d``."""
        x = self._as_input("x", x, self.in_size)
        d = self._as_input("d", d, self.out_size)
        x = x.reshape(-1, self.in_size)
        d = d.reshape(-1, self.out_size)
        check_same_rows("x", x, "d", d)
        check_finite("x", x)
        check_finite("d", d)
        return self._with_bias(x).contiguous(), d.contiguous()

    def _with_bias(self, x: torch.Tensor) -> torch.Tensor:
        if not self.bias:
            return x
        return torch.cat((x, x.new_ones(x.shape[:-1] + (1,))), dim=-1)

    # -- forward and backward ----------------------------------------------------------
    def _pass_weights(self) -> torch.Tensor:
        """The weights the forward and backward passes use: :attr:`weights` (an
        inference tile in hardware-aware training uses its modified copy)."""
        return self.weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``y = W x`` for every row of ``x``.

        Args:
            x: floating tensor ``[..., in_size]``.

        Returns:
            ``[..., out_size]`` in ``x``'s dtype (computed in float32).
        """
        dtype = x.dtype if isinstance(x, torch.Tensor) else None
        x32 = self._as_input("x", x, self.in_size)
        periphery = self.forward_periphery
        if periphery is None:
            y = self._with_bias(x32) @ self._pass_weights().T
            return y if y.dtype == dtype else y.to(dtype)
        # Reshape and copy only when needed: this is the hot path of every forward.
        flat = x32 if x32.dim() == 2 else x32.reshape(-1, self.in_size)
        xb = self._with_bias(flat)
        if not xb.is_contiguous():
            xb = xb.contiguous()
        implementation = self._periphery_engine() if not periphery.io.exact else "reference"
        y = periphery.run(xb, self._pass_weights().t(), implementation, self.num_threads)
        if x32.dim() != 2:
            y = y.reshape(*x32.shape[:-1], self.out_size)
        return y if y.dtype == dtype else y.to(dtype)

    def backward(self, d: torch.Tensor) -> torch.Tensor:
        """Exact ``z = W^T d`` for every row of ``d`` (the bias column is dropped).

        Args:
            d: floating tensor ``[..., out_size]``.

        Returns:
            ``[..., in_size]`` in ``d``'s dtype (computed in float32).
        """
        dtype = d.dtype if isinstance(d, torch.Tensor) else None
        d32 = self._as_input("d", d, self.out_size)
        periphery = self.backward_periphery
        weights = self._pass_weights()
        if periphery is None:
            z = d32 @ weights[:, : self.in_size]
            return z.to(dtype)
        lead = d32.shape[:-1]
        d2 = d32.reshape(-1, self.out_size).contiguous()
        if periphery.io.exact:
            z = periphery.run(d2, weights[:, : self.in_size], "reference")
        else:
            z = periphery.run(d2, weights, self._periphery_engine(), self.num_threads)
            z = z[:, : self.in_size]
        return z.reshape(*lead, self.in_size).to(dtype)

    # -- update ------------------------------------------------------------------------
    def update(self, x: torch.Tensor, d: torch.Tensor, lr: float | None = None) -> None:
        """Gradient descent on the tile: ``W -= lr * d^T x`` summed over the rows.

        Args:
            x: floating ``[N, in_size]`` (or ``[..., in_size]``; rows are samples).
            d: floating ``[N, out_size]``, the error dL/dy of each sample.
            lr: learning rate ``>= 0``; ``None`` uses :attr:`learning_rate`.
        """
        lr = check_learning_rate(self.learning_rate if lr is None else lr)
        x2, d2 = self._update_batch(x, d)
        self._update_rows(x2, d2, lr)

    def _update_rows(self, x2: torch.Tensor, d2: torch.Tensor, lr: float) -> None:
        """:meth:`update` on checked rows: ``x2`` with the bias column, both contiguous."""
        self._check_update(x2, d2, lr)
        self.last_update_pulses = self._apply_update(x2, d2, lr)
        self._post_update()
        self.update_index = (self.update_index + 1) & _INDEX_MASK

    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        """Raise before any state changes if the tile cannot do this update (subclass hook)."""

    def _apply_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        raise NotImplementedError

    def _post_update(self) -> None:
        """Once per accepted update, after the pulses: the device's decay and diffusion
        (subclass hook; nothing for an exact tile)."""

    def set_learning_rate(self, lr: float) -> None:
        """Set the default learning rate of :meth:`update` (a finite number ``>= 0``)."""
        self.learning_rate = check_learning_rate(lr)

    def get_learning_rate(self) -> float:
        """The default learning rate of :meth:`update`."""
        return self.learning_rate

    # -- recorded updates (for optimizers) ---------------------------------------------
    def record_update_inputs(self, x: torch.Tensor, d: torch.Tensor) -> None:
        """Remember a batch seen by a backward pass, for :meth:`apply_recorded_update`.

        Args:
            x: floating ``[N, in_size]`` (rows are samples).
            d: floating ``[N, out_size]``.
        """
        x = self._as_input("x", x, self.in_size).reshape(-1, self.in_size)
        d = self._as_input("d", d, self.out_size).reshape(-1, self.out_size)
        check_same_rows("x", x, "d", d)
        self._record(x, d)

    def _record(
        self,
        x: torch.Tensor,
        d: torch.Tensor,
        *,
        x_finite: bool = False,
        x_owned: bool = False,
        d_owned: bool = False,
    ) -> None:
        """:meth:`record_update_inputs` on checked 2-D float32 rows (the backward pass's
        hot path): ``x_finite`` when ``x`` is known to be finite (checked by the forward
        pass); ``x_owned``/``d_owned`` when nobody else holds the tensor (a temporary of
        the caller's), which is then kept without a copy."""
        if not x_finite:
            check_finite("x", x)
        check_finite("d", d)
        # Detached copies: later in-place changes of the caller's tensors do not leak in.
        x = x.detach() if x_owned else x.detach().clone()
        d = d.detach() if d_owned else d.detach().clone()
        self._recorded.append((x, d))

    def apply_recorded_update(self, lr: float | None = None) -> None:
        """Apply one update with every batch recorded since the last one, then forget them.

        Does nothing when nothing was recorded. A rejected call keeps the records.

        Args:
            lr: learning rate ``>= 0``; ``None`` uses :attr:`learning_rate`.
        """
        if not self._recorded:
            if lr is not None:
                check_learning_rate(lr)
            return
        lr = check_learning_rate(self.learning_rate if lr is None else lr)
        # The records are checked (finite, float32 rows of the right sizes) and ours.
        if len(self._recorded) == 1:
            x, d = self._recorded[0]
        else:
            x = torch.cat([r[0] for r in self._recorded])
            d = torch.cat([r[1] for r in self._recorded])
        x = self._with_bias(x)
        self._update_rows(
            x if x.is_contiguous() else x.contiguous(),
            d if d.is_contiguous() else d.contiguous(),
            lr,
        )
        self._recorded.clear()

    def clear_recorded(self) -> None:
        """Forget the recorded update inputs."""
        self._recorded.clear()

    @property
    def num_recorded(self) -> int:
        """Number of samples recorded for the next :meth:`apply_recorded_update`."""
        return sum(r[0].shape[0] for r in self._recorded)

    # -- weights -----------------------------------------------------------------------
    def get_weights(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Copies of the weights ``[out_size, in_size]`` and bias ``[out_size]`` (or ``None``)."""
        w = self.weights[:, : self.in_size].clone()
        b = self.weights[:, self.in_size].clone() if self.bias else None
        return w, b

    def set_weights(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        """Set the weights (and the bias column when the tile has one), in place.

        Args:
            weights: floating ``[out_size, in_size]``, finite.
            bias: floating ``[out_size]``; required if and only if the tile has ``bias=True``.
        """
        w = check_floating_tensor("weights", weights)
        if tuple(w.shape) != (self.out_size, self.in_size):
            raise ValueError(
                f"weights has shape {tuple(w.shape)}; expected ({self.out_size}, {self.in_size})"
            )
        check_finite("weights", w, "weights must be finite")
        new = w.to(self.device)
        if self.bias:
            if bias is None:
                raise ValueError(
                    "bias is required: this tile has an analog bias column (bias=True)"
                )
            b = check_floating_tensor("bias", bias)
            if tuple(b.shape) != (self.out_size,):
                raise ValueError(f"bias has shape {tuple(b.shape)}; expected ({self.out_size},)")
            check_finite("bias", b, "bias must be finite")
            new = torch.cat((new, b.to(self.device).unsqueeze(1)), dim=1)
        elif bias is not None:
            raise ValueError("bias must be None: this tile has no bias column (bias=False)")
        self.weights.copy_(self._clip_weights(new))

    def _clip_weights(self, w: torch.Tensor) -> torch.Tensor:
        """Clip ``w`` to the device bounds (none for an exact tile)."""
        return w

    # -- devices -----------------------------------------------------------------------
    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"weights": self.weights}

    def _set_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.weights = tensors["weights"]

    def to(self, device: torch.device | str | int) -> TileBase:
        """Move every tensor of the tile to ``device``; returns the tile."""
        device = torch.device(device)
        self._set_tensors({k: v.to(device) for k, v in self._tensors().items()})
        for periphery in (self.forward_periphery, self.backward_periphery):
            if periphery is not None:
                periphery.to(device)
        self._recorded = [(x.to(device), d.to(device)) for x, d in self._recorded]
        return self

    def cpu(self) -> TileBase:
        """Move the tile to the CPU; returns the tile."""
        return self.to("cpu")

    def cuda(self, device: torch.device | str | int | None = None) -> TileBase:
        """Move the tile to a CUDA device (the current one by default); returns the tile."""
        if device is None:
            device = torch.device("cuda", torch.cuda.current_device())
        elif isinstance(device, int):
            device = torch.device("cuda", device)
        return self.to(device)

    # -- repr --------------------------------------------------------------------------
    def _device_repr(self) -> str:
        return "None"

    def extra_repr(self) -> str:
        return (
            f"out_size={self.out_size}, in_size={self.in_size}, bias={self.bias}, "
            f"resistive_device={self._device_repr()}, seed={self.seed}, device={self.device}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

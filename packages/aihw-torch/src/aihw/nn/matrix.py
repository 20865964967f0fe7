"""``AnalogMatrix``: an analog tile used as a linear operator (the reference toolkit's
``aihwkit.linalg.AnalogMatrix``).

The matrix ``A`` (``[out, in]``) is programmed onto one tile built from a tile
configuration. ``A @ x`` is the tile's forward pass, ``x @ A`` and ``A.T @ y`` its
backward pass (each through the configuration's periphery), and :meth:`AnalogMatrix.ger`
its update (pulsed on a pulsed device). Products follow the mathematical convention:
a 2-D right operand holds its vectors in columns (see docs/migrating.md for how this
differs from the reference toolkit).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from aihw.core.config import TileConfig
from aihw.core.mapping import MappingParameters
from aihw.core.tiles import create_tile

__all__ = ["AnalogMatrix"]


def _as_tensor(value: Any, name: str) -> tuple[Tensor, bool]:
    """``value`` as a tensor, and whether it was a NumPy array (the result is one too)."""
    if isinstance(value, Tensor):
        return value, False
    if type(value).__module__ == "numpy" and hasattr(value, "shape"):
        return torch.from_numpy(value), True
    raise TypeError(f"AnalogMatrix: {name} must be a torch.Tensor or a NumPy array; got "
                    f"{type(value).__name__}")  # fmt: skip


def _check_mapping(mapping: MappingParameters, out_size: int, in_size: int) -> None:
    """Refuse what one tile cannot honour: splitting, and weight scaling."""
    too_big = (mapping.max_input_size and in_size > mapping.max_input_size) or (
        mapping.max_output_size and out_size > mapping.max_output_size
    )
    if too_big:
        raise ValueError(
            f"AnalogMatrix holds one tile: a {out_size} x {in_size} matrix exceeds "
            f"rpu_config.mapping's tile size {mapping.max_output_size} x "
            f"{mapping.max_input_size} (outputs x inputs); set max_input_size and "
            "max_output_size to 0 (no limit) or large enough"
        )
    if mapping.weight_scaling_omega > 0:
        raise ValueError(
            "AnalogMatrix stores the matrix as it is: rpu_config.mapping.weight_scaling_omega "
            f"= {mapping.weight_scaling_omega} is not supported; set it to 0"
        )


class AnalogMatrix:
    """A matrix ``A`` of shape ``[out, in]`` stored on an analog tile.

    Args:
        matrix: the matrix, a float tensor or NumPy array ``[out, in]``; a pulsed
            device clips it to its bounds.
        rpu_config: the tile configuration (device, periphery, update, runtime). Its
            mapping must not split the matrix or scale its weights (one tile holds it);
            the mapping's bias and output-scaling options concern layers and do not
            apply. ``runtime.data_type`` HALF or BFLOAT16 rounds the operands to that
            dtype and returns the products in it, as for a layer.
        realistic: the reference toolkit's "realistic" programming by pulses; not
            simulated here, so ``True`` is refused.
        seed: the tile seed (``None``: drawn from torch's global generator).

    Attributes:
        tile: the tile (:func:`aihw.core.tiles.create_tile` picks it from ``rpu_config``).

    Examples:
        >>> import torch
        >>> from aihw.devices import FloatingPointRPUConfig
        >>> from aihw.nn.matrix import AnalogMatrix
        >>> A = AnalogMatrix(torch.eye(3), FloatingPointRPUConfig())
        >>> A @ torch.tensor([1.0, 2.0, 3.0])
        tensor([1., 2., 3.])
    """

    def __init__(
        self,
        matrix: Any,
        rpu_config: TileConfig,
        realistic: bool = False,
        *,
        seed: int | None = None,
    ) -> None:
        weights, _ = _as_tensor(matrix, "matrix")
        if weights.dim() != 2 or not weights.dtype.is_floating_point:
            raise ValueError(
                "AnalogMatrix: matrix must be a 2-D floating-point [out, in] tensor; got "
                f"shape {tuple(weights.shape)} and dtype {weights.dtype}"
            )
        if not isinstance(rpu_config, TileConfig):
            raise TypeError(
                "AnalogMatrix: rpu_config must be a TileConfig such as "
                f"aihw.devices.SingleRPUConfig(); got {type(rpu_config).__name__}"
            )
        if realistic is not False:
            raise ValueError(
                "AnalogMatrix: realistic=True (programming by pulses) is not simulated; "
                "the matrix is programmed directly (clipped to a pulsed device's bounds)"
            )
        rpu_config.validate()
        out_size, in_size = weights.shape
        _check_mapping(rpu_config.mapping, out_size, in_size)
        self.rpu_config = rpu_config
        self.tile = create_tile(rpu_config, out_size, in_size, seed=seed)
        self.tile.to(weights.device)
        self.tile.set_weights(weights.detach().to(torch.float32))
        self._boundary = rpu_config.runtime.boundary_dtype

    # -- what it is ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(out, in)``."""
        return self.tile.out_size, self.tile.in_size

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the products: the runtime's HALF or BFLOAT16, else float32 (the
        products of a float32 operand; any other operand keeps its dtype)."""
        return torch.float32 if self._boundary is None else self._boundary

    @property
    def T(self) -> _TransposedMatrix:
        """``A`` transposed, sharing the tile: ``A.T @ y`` is the backward pass."""
        return _TransposedMatrix(self)

    def get_weights(self) -> Tensor:
        """A copy of the matrix as the tile holds it (float32 ``[out, in]``)."""
        return self.tile.get_weights()[0]

    def to(self, device: torch.device | str | int) -> AnalogMatrix:
        """Move the tile to ``device``; returns ``self``."""
        self.tile.to(device)
        return self

    def __repr__(self) -> str:
        return f"AnalogMatrix(shape={self.shape}, tile={type(self.tile).__name__})"

    # -- products --------------------------------------------------------------------
    def _run(self, value: Any, name: str, transposed: bool, columns: bool) -> Any:
        """``A x`` (or ``A^T x`` when ``transposed``) for ``x`` a vector or, with
        ``columns``, a matrix of column vectors, else of row vectors."""
        x, numpy = _as_tensor(value, name)
        if numpy:
            x = x.to(self.tile.device)
        if x.dim() not in (1, 2):
            raise ValueError(
                f"AnalogMatrix: {name} must be a vector or a matrix; got shape {tuple(x.shape)}"
            )
        rows = x.T if columns and x.dim() == 2 else x
        if self._boundary is not None:
            rows = rows.to(self._boundary)
        with torch.no_grad():
            y = self.tile.backward(rows) if transposed else self.tile.forward(rows)
        if self._boundary is not None:
            y = y.to(self._boundary)
        y = y.T if columns and x.dim() == 2 else y
        return y.cpu().numpy() if numpy else y

    def __matmul__(self, x: Any) -> Any:
        """``A @ x``: ``x`` is ``[in]`` or ``[in, k]``; the forward pass."""
        return self._run(x, "x", transposed=False, columns=True)

    def __rmatmul__(self, y: Any) -> Any:
        """``y @ A``: ``y`` is ``[out]`` or ``[k, out]``; the backward pass."""
        return self._run(y, "y", transposed=True, columns=False)

    def matvec(self, x: Any) -> Any:
        """``A @ x`` (SciPy's ``LinearOperator`` name)."""
        return self @ x

    def rmatvec(self, y: Any) -> Any:
        """``A.T @ y`` (SciPy's ``LinearOperator`` name)."""
        return self.T @ y

    # -- rank-one updates --------------------------------------------------------------
    def ger(self, x: Any, d: Any, alpha: float = 1.0) -> None:
        """``A += alpha * d x^T`` through the tile's update (pulsed on a pulsed device).

        The reference toolkit's argument order: ``x`` on the input side (``[in]``, or
        ``[N, in]`` for a sum of ``N`` rank-one updates), ``d`` on the output side
        (``[out]`` or ``[N, out]``).
        """
        xt, _ = _as_tensor(x, "x")
        dt, _ = _as_tensor(d, "d")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
            raise TypeError(f"AnalogMatrix.ger: alpha must be a number; got {alpha!r}")
        # The tile descends (W -= lr d^T x, lr >= 0): the sign of alpha goes into d.
        sign = -1.0 if alpha >= 0 else 1.0
        xt = xt.reshape(-1, self.tile.in_size) if xt.dim() == 1 else xt
        dt = dt.reshape(-1, self.tile.out_size) if dt.dim() == 1 else dt
        device = self.tile.device
        self.tile.update(xt.to(device), sign * dt.to(device), abs(float(alpha)))


class _TransposedMatrix:
    """``A.T``: the same tile, the passes swapped."""

    def __init__(self, matrix: AnalogMatrix) -> None:
        self.T = matrix

    @property
    def shape(self) -> tuple[int, int]:
        out_size, in_size = self.T.shape
        return in_size, out_size

    def __matmul__(self, y: Any) -> Any:
        """``A.T @ y``: ``y`` is ``[out]`` or ``[out, k]``; the backward pass."""
        return self.T._run(y, "y", transposed=True, columns=True)

    def __rmatmul__(self, x: Any) -> Any:
        """``x @ A.T``: ``x`` is ``[in]`` or ``[k, in]``; the forward pass."""
        return self.T._run(x, "x", transposed=False, columns=False)

    def __repr__(self) -> str:
        return f"{self.T!r}.T"

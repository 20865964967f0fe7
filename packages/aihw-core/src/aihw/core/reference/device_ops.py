"""Plain-torch device operations (engine contract §9, §10): the twins of
:func:`aihw.core.engine.decay`, :func:`~aihw.core.engine.diffuse`,
:func:`~aihw.core.engine.reset_columns` and :func:`~aihw.core.engine.write_noise`.

Each changes its weights in place, in the same float32 operations and with the same
random numbers as the compiled kernels; the tiles use them where the engine cannot run
(CUDA, no engine). ``num_threads`` is accepted for the same signature as the compiled
twins; the results never depend on it.
"""

from __future__ import annotations

import torch

from .philox import key_from_seed, periphery_normals_from_words, philox_words, uniform_from_words

__all__ = [
    "DEVICE_OP_STREAM",
    "OP_DIFFUSION_NORMAL",
    "OP_RESET_NORMAL",
    "OP_RESET_CHOICE",
    "OP_WRITE_NOISE_NORMAL",
    "device_op_words",
    "decay",
    "diffuse",
    "reset_columns",
    "write_noise",
]

#: Stream 0 (top 4 bits of c3); the operation is in c1, its call counter in c2.
DEVICE_OP_STREAM = 0
OP_DIFFUSION_NORMAL = 1
OP_RESET_NORMAL = 2
OP_RESET_CHOICE = 3
OP_WRITE_NOISE_NORMAL = 4

_F32 = torch.float32


def device_op_words(seed: int, op: int, call_index: int, elements: torch.Tensor) -> torch.Tensor:
    """The Philox block ``[..., 4]`` of each element ``e`` (int64): counter
    ``(e // 4, op, call_index, 0)``; element ``e`` uses number ``e % 4`` of it."""
    k0, k1 = key_from_seed(seed)
    blocks = elements.to(torch.int64) // 4
    words = philox_words(blocks, op, call_index & 0xFFFFFFFF, DEVICE_OP_STREAM << 28, k0, k1)
    return torch.stack(words, dim=-1)


def _pick(numbers: torch.Tensor, elements: torch.Tensor) -> torch.Tensor:
    return numbers.gather(-1, (elements % 4).unsqueeze(-1)).squeeze(-1)


def _normals(seed: int, op: int, call_index: int, elements: torch.Tensor) -> torch.Tensor:
    words = device_op_words(seed, op, call_index, elements)
    return _pick(periphery_normals_from_words(words), elements)


def _clip(w: torch.Tensor, w_min: torch.Tensor | None, w_max: torch.Tensor | None) -> torch.Tensor:
    if w_min is None or w_max is None:
        return w
    return torch.minimum(torch.maximum(w, w_min), w_max)


def _bias_or_zero(reset_bias: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if reset_bias is None else reset_bias


def decay(
    weights: torch.Tensor,
    decay_scale: torch.Tensor,
    reset_bias: torch.Tensor | None,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    alpha: float,
    num_threads: int = 0,
) -> None:
    """``w <- clip((w - r0) * (1 + alpha * (kappa - 1)) + r0)`` in float32."""
    r0 = _bias_or_zero(reset_bias, weights)
    a = torch.tensor(alpha, dtype=_F32, device=weights.device)
    scale = (decay_scale - 1.0) * a + 1.0
    weights.copy_(_clip((weights - r0) * scale + r0, w_min, w_max))


def diffuse(
    weights: torch.Tensor,
    rate: torch.Tensor,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``w <- clip(w + rho * xi)``, ``xi`` the float32 normal of element ``e``."""
    elements = torch.arange(weights.numel(), dtype=torch.int64, device=weights.device)
    z = _normals(seed, OP_DIFFUSION_NORMAL, call_index, elements).reshape(weights.shape)
    weights.copy_(_clip(weights + rate * z, w_min, w_max))


def reset_columns(
    weights: torch.Tensor,
    first_column: int,
    n_columns: int,
    reset_bias: torch.Tensor | None,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    reset_std: float,
    reset_prob: float,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """Reset columns ``[first_column, first_column + n_columns)`` of ``weights``."""
    d_size, x_size = weights.shape
    cols = slice(first_column, first_column + n_columns)
    rows = torch.arange(d_size, dtype=torch.int64, device=weights.device).unsqueeze(1)
    elements = rows * x_size + torch.arange(x_size, device=weights.device)[cols]
    r0 = _bias_or_zero(reset_bias, weights)[:, cols]
    target = r0
    if reset_std > 0:
        z = _normals(seed, OP_RESET_NORMAL, call_index, elements)
        target = r0 + torch.tensor(reset_std, dtype=_F32, device=weights.device) * z
    bounds = (None, None) if w_min is None or w_max is None else (w_min[:, cols], w_max[:, cols])
    target = _clip(target, *bounds)
    if reset_prob >= 1:
        weights[:, cols] = target
        return
    words = device_op_words(seed, OP_RESET_CHOICE, call_index, elements)
    chosen = uniform_from_words(_pick(words, elements)) < reset_prob
    weights[:, cols] = torch.where(chosen, target, weights[:, cols])


def write_noise(
    visible: torch.Tensor,
    hidden: torch.Tensor,
    mask: torch.Tensor | None,
    std: float,
    seed: int,
    call_index: int,
    num_threads: int = 0,
) -> None:
    """``visible <- hidden + std * xi`` where ``mask`` is true (``None``: everywhere); the
    other visible weights stay. ``xi`` is the float32 normal of element ``e``."""
    elements = torch.arange(hidden.numel(), dtype=torch.int64, device=hidden.device)
    z = _normals(seed, OP_WRITE_NOISE_NORMAL, call_index, elements).reshape(hidden.shape)
    noisy = hidden + torch.tensor(std, dtype=_F32, device=hidden.device) * z
    visible.copy_(noisy if mask is None else torch.where(mask.bool(), noisy, visible))

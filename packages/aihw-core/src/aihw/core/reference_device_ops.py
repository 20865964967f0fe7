"""Plain-torch reference of the device operations (engine contract §9).

Each function computes, in the same float32 operations and with the same random numbers,
what the compiled ``decay_weights_cpu``, ``diffuse_weights_cpu``, ``reset_columns_cpu`` and
``write_noise_cpu`` compute (contract §9, §10); the tiles also use them where the engine cannot run (CUDA, no engine).
"""

from __future__ import annotations

import torch

from .reference import _philox, key_from_seed, uniform_from_words
from .reference_periphery import periphery_normals_from_words

__all__ = [
    "DEVICE_OP_STREAM",
    "OP_DIFFUSION_NORMAL",
    "OP_RESET_NORMAL",
    "OP_RESET_CHOICE",
    "OP_WRITE_NOISE_NORMAL",
    "device_op_words",
    "decay_reference",
    "diffuse_reference",
    "reset_columns_reference",
    "write_noise_reference",
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
    words = _philox(blocks, op, call_index & 0xFFFFFFFF, DEVICE_OP_STREAM << 28, k0, k1)
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


def decay_reference(
    weights: torch.Tensor,
    decay_scale: torch.Tensor,
    reset_bias: torch.Tensor | None,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    alpha: float,
) -> torch.Tensor:
    """``clip((w - r0) * (1 + alpha * (kappa - 1)) + r0)`` in float32 (a new tensor)."""
    r0 = _bias_or_zero(reset_bias, weights)
    a = torch.tensor(alpha, dtype=_F32, device=weights.device)
    scale = (decay_scale - 1.0) * a + 1.0
    return _clip((weights - r0) * scale + r0, w_min, w_max)


def diffuse_reference(
    weights: torch.Tensor,
    rate: torch.Tensor,
    w_min: torch.Tensor | None,
    w_max: torch.Tensor | None,
    seed: int,
    call_index: int,
) -> torch.Tensor:
    """``clip(w + rho * xi)``, ``xi`` the float32 normal of element ``e`` (a new tensor)."""
    elements = torch.arange(weights.numel(), dtype=torch.int64, device=weights.device)
    z = _normals(seed, OP_DIFFUSION_NORMAL, call_index, elements).reshape(weights.shape)
    return _clip(weights + rate * z, w_min, w_max)


def reset_columns_reference(
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
) -> torch.Tensor:
    """Reset columns ``[first_column, first_column + n_columns)`` (a new tensor)."""
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
    out = weights.clone()
    if reset_prob >= 1:
        out[:, cols] = target
        return out
    words = device_op_words(seed, OP_RESET_CHOICE, call_index, elements)
    chosen = uniform_from_words(_pick(words, elements)) < reset_prob
    out[:, cols] = torch.where(chosen, target, weights[:, cols])
    return out


def write_noise_reference(
    visible: torch.Tensor,
    hidden: torch.Tensor,
    mask: torch.Tensor | None,
    std: float,
    seed: int,
    call_index: int,
) -> torch.Tensor:
    """``hidden + std * xi`` where ``mask`` is true (``None``: everywhere), ``visible``
    elsewhere; ``xi`` the float32 normal of element ``e`` (a new tensor)."""
    elements = torch.arange(hidden.numel(), dtype=torch.int64, device=hidden.device)
    z = _normals(seed, OP_WRITE_NOISE_NORMAL, call_index, elements).reshape(hidden.shape)
    noisy = hidden + torch.tensor(std, dtype=_F32, device=hidden.device) * z
    return noisy if mask is None else torch.where(mask.bool(), noisy, visible)

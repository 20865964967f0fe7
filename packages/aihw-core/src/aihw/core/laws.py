"""Step laws: the per-pulse rules the engine executes (docs/architecture/engine-contract.md §4).

A law is named once here with the per-cross-point arrays and the scalars it reads, and
has a plain-torch step used by :mod:`aihw.core.reference`. The native engine knows each
law by its ``engine_id``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import torch

__all__ = ["StepLaw", "get_law", "LAWS"]

#: A reference step: ``(w, up, arrays, scalars, xi) -> new w`` on the selected cross-points.
#: ``up`` is a bool tensor (True: UP pulse); ``xi`` the float32 normals, or ``None`` when
#: the law draws no noise for these scalars. Scalars are floats or tuples of floats.
ReferenceStep = Callable[
    [torch.Tensor, torch.Tensor, Mapping[str, torch.Tensor], Mapping[str, object], "torch.Tensor | None"],
    torch.Tensor,
]


@dataclasses.dataclass(frozen=True)
class StepLaw:
    """A step law: its name, its engine id and what it reads."""

    name: str
    engine_id: int
    arrays: tuple[str, ...]
    scalars: tuple[str, ...]
    reference_step: ReferenceStep
    noise_scalar: str
    """The scalar whose value 0 means the law draws no normal per pulse."""
    sequence_scalars: tuple[str, ...] = ()
    """The scalars that are sequences of numbers (the others are single numbers)."""

    def flat_scalars(self, scalars: Mapping[str, object]) -> list[float]:
        """The scalars as the engine receives them (contract §4): in the law's order, each
        sequence preceded by its length."""
        out: list[float] = []
        for name in self.scalars:
            value = scalars[name]
            if name in self.sequence_scalars:
                seq = [float(v) for v in value]  # type: ignore[union-attr]
                out.append(float(len(seq)))
                out.extend(seq)
            else:
                out.append(float(value))  # type: ignore[arg-type]
        return out


def _f32(value: float) -> torch.Tensor:
    """A double scalar rounded to float32 (every law computes in float32)."""
    return torch.tensor(value, dtype=torch.float32)


def _clip(w, arrays):
    return torch.minimum(torch.maximum(w, arrays["w_min"]), arrays["w_max"])


def _constant_step(w, up, arrays, scalars, xi):
    sigma = scalars["dw_min_std"]
    step = torch.where(up, arrays["dw_up"], -arrays["dw_down"])
    if xi is not None:
        factor = 1.0 + torch.tensor(sigma, dtype=torch.float32) * xi
        step = step * factor
    w = w + step
    return torch.minimum(torch.maximum(w, arrays["w_min"]), arrays["w_max"])


def _linear_step(w, up, arrays, scalars, xi):
    # step = dw + slope * w (UP); -(dw + slope * w) (DOWN); rounded to float32 each operation.
    dw = torch.where(up, arrays["dw_up"], arrays["dw_down"])
    slope = torch.where(up, arrays["slope_up"], arrays["slope_down"])
    sign = torch.where(up, _f32(1.0), _f32(-1.0))
    linear = slope * w
    if float(scalars["mult_noise"]) != 0.0:
        step = dw + linear
        if xi is not None:
            step = step * (1.0 + _f32(scalars["dw_min_std"]) * xi)
        w = w + sign * step
    else:
        noisy = dw if xi is None else dw * (1.0 + _f32(scalars["dw_min_std"]) * xi)
        w = w + sign * (linear + noisy)
    return _clip(w, arrays)


def _exp_step(w, up, arrays, scalars, xi):
    w_min, w_max = arrays["w_min"], arrays["w_max"]
    span = w_max - w_min
    alive = span > 0
    z = (2.0 * _f32(scalars["a"])) * w / torch.where(alive, span, _f32(1.0)) + _f32(scalars["b"])
    y_up = torch.clamp(1.0 - _f32(scalars["A_up"]) * torch.exp(_f32(scalars["gamma_up"]) * z), min=0.0)
    y_down = torch.clamp(
        1.0 - _f32(scalars["A_down"]) * torch.exp(-_f32(scalars["gamma_down"]) * z), min=0.0
    )
    dw = torch.where(up, y_up * arrays["dw_up"], -(y_down * arrays["dw_down"]))
    if xi is not None:
        sigma = _f32(scalars["dw_min_std"])
        add, slope = float(scalars["dw_min_std_add"]), float(scalars["dw_min_std_slope"])
        if add != 0.0 or slope != 0.0:
            spread = dw.abs() + _f32(add) + _f32(slope) * w.abs()
            dw = dw + sigma * spread * xi
        else:
            dw = dw * (1.0 + sigma * xi)
    new = _clip(w + dw, arrays)
    return torch.where(alive, new, w)


def _pow_step(w, up, arrays, scalars, xi):
    w_min, w_max = arrays["w_min"], arrays["w_max"]
    span = w_max - w_min
    alive = span > 0
    safe = torch.where(alive, span, _f32(1.0))
    base = torch.where(up, w_max - w, w - w_min) / safe
    gamma = torch.where(up, arrays["gamma_up"], arrays["gamma_down"])
    dw = torch.where(up, arrays["dw_up"], arrays["dw_down"]) * torch.pow(base, gamma)
    if xi is not None:
        dw = dw * (1.0 + _f32(scalars["dw_min_std"]) * xi)
    new = _clip(w + torch.where(up, dw, -dw), arrays)
    return torch.where(alive, new, w)


def _piecewise_step(w, up, arrays, scalars, xi):
    table_up = torch.tensor([float(v) for v in scalars["piecewise_up"]], dtype=torch.float32)
    table_down = torch.tensor([float(v) for v in scalars["piecewise_down"]], dtype=torch.float32)
    table_up, table_down = table_up.to(w.device), table_down.to(w.device)
    n = table_up.numel() - 1
    w_min, w_max = arrays["w_min"], arrays["w_max"]
    dw = torch.where(up, arrays["dw_up"], arrays["dw_down"])
    if n <= 0:
        factor = torch.where(up, table_up[0], table_down[0])
    else:
        span = w_max - w_min
        alive = span > 0
        s = torch.clamp((w - w_min) / torch.where(alive, span, _f32(1.0)) * float(n), min=0.0)
        k = torch.clamp(torch.floor(s), max=float(n - 1))
        t = torch.clamp(s - k, max=1.0)
        idx = k.to(torch.int64)
        lo = torch.where(up, table_up[idx], table_down[idx])
        hi = torch.where(up, table_up[idx + 1], table_down[idx + 1])
        interp = (1.0 - t) * lo + t * hi
        factor = torch.where(alive, interp, torch.where(up, table_up[0], table_down[0]))
    dw = dw * factor
    if xi is not None:
        dw = dw * (1.0 + _f32(scalars["dw_min_std"]) * xi)
    return _clip(w + torch.where(up, dw, -dw), arrays)


_BASE_ARRAYS = ("dw_up", "dw_down", "w_min", "w_max")

LAWS: dict[str, StepLaw] = {
    law.name: law
    for law in (
        StepLaw(
            name="constant_step",
            engine_id=1,
            arrays=("dw_up", "dw_down", "w_min", "w_max"),
            scalars=("dw_min_std",),
            reference_step=_constant_step,
            noise_scalar="dw_min_std",
        ),
        StepLaw(
            name="linear_step",
            engine_id=2,
            arrays=_BASE_ARRAYS + ("slope_up", "slope_down"),
            scalars=("dw_min_std", "mult_noise"),
            reference_step=_linear_step,
            noise_scalar="dw_min_std",
        ),
        StepLaw(
            name="exp_step",
            engine_id=3,
            arrays=_BASE_ARRAYS,
            scalars=(
                "dw_min_std",
                "A_up",
                "A_down",
                "gamma_up",
                "gamma_down",
                "a",
                "b",
                "dw_min_std_add",
                "dw_min_std_slope",
            ),
            reference_step=_exp_step,
            noise_scalar="dw_min_std",
        ),
        StepLaw(
            name="pow_step",
            engine_id=4,
            arrays=_BASE_ARRAYS + ("gamma_up", "gamma_down"),
            scalars=("dw_min_std",),
            reference_step=_pow_step,
            noise_scalar="dw_min_std",
        ),
        StepLaw(
            name="piecewise_step",
            engine_id=5,
            arrays=_BASE_ARRAYS,
            scalars=("dw_min_std", "piecewise_up", "piecewise_down"),
            reference_step=_piecewise_step,
            noise_scalar="dw_min_std",
            sequence_scalars=("piecewise_up", "piecewise_down"),
        ),
    )
}


def get_law(name: str) -> StepLaw:
    """Return the step law called ``name``; ``ValueError`` lists the known laws otherwise."""
    try:
        return LAWS[name]
    except KeyError:
        known = ", ".join(sorted(LAWS))
        raise ValueError(f"step law {name!r} is unknown; known laws: {known}") from None

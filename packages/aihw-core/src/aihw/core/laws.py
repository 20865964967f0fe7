"""Step laws: the per-pulse rules the engine executes (docs/architecture/engine-contract.md §4).

A law is named once here with the per-cross-point arrays and the scalars it reads, and
has a plain-torch step used by :mod:`aihw.core.reference`. The native engine knows each
law by its ``engine_id``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import torch

__all__ = [
    "LAWS",
    "PYTHON_ENGINE_ID",
    "StepLaw",
    "get_law",
    "law_runs_natively",
    "register_python_law",
    "unregister_python_law",
]

#: A reference step: ``(w, up, arrays, scalars, xi) -> new w`` on the selected cross-points.
#: ``up`` is a bool tensor (True: UP pulse); ``xi`` the float32 normals, or ``None`` when
#: the law draws no noise for these scalars. Scalars are floats or tuples of floats.
ReferenceStep = Callable[
    [
        torch.Tensor,
        torch.Tensor,
        Mapping[str, torch.Tensor],
        Mapping[str, object],
        "torch.Tensor | None",
    ],
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
    python_step: ReferenceStep | None = None
    """For a law defined in Python (:func:`register_python_law`): the author's step
    function, which returns the new weight *before* the clip to the device bounds."""

    @property
    def is_python(self) -> bool:
        """Whether the law exists only in Python (it runs on the reference path)."""
        return self.engine_id == PYTHON_ENGINE_ID

    def flat_scalars(self, scalars: Mapping[str, Any]) -> list[float]:
        """The scalars as the engine receives them (contract §4): in the law's order, each
        sequence preceded by its length."""
        out: list[float] = []
        for name in self.scalars:
            value = scalars[name]
            if name in self.sequence_scalars:
                seq = [float(v) for v in value]
                out.append(float(len(seq)))
                out.extend(seq)
            else:
                out.append(float(value))
        return out


def _f32(value: float) -> torch.Tensor:
    """A double scalar rounded to float32 (every law computes in float32)."""
    return torch.tensor(value, dtype=torch.float32)


def _clip(w: torch.Tensor, arrays: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.minimum(torch.maximum(w, arrays["w_min"]), arrays["w_max"])


def _constant_step(
    w: torch.Tensor,
    up: torch.Tensor,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    xi: torch.Tensor | None,
) -> torch.Tensor:
    sigma = scalars["dw_min_std"]
    step = torch.where(up, arrays["dw_up"], -arrays["dw_down"])
    if xi is not None:
        factor = 1.0 + torch.tensor(sigma, dtype=torch.float32) * xi
        step = step * factor
    w = w + step
    return torch.minimum(torch.maximum(w, arrays["w_min"]), arrays["w_max"])


def _linear_step(
    w: torch.Tensor,
    up: torch.Tensor,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    xi: torch.Tensor | None,
    slope_at: torch.Tensor | None = None,
) -> torch.Tensor:
    # step = dw + slope * w (UP); -(dw + slope * w) (DOWN); rounded to float32 each operation.
    # slope_at: where the slope term is evaluated, if not at w (soft_bounds_reference).
    dw = torch.where(up, arrays["dw_up"], arrays["dw_down"])
    slope = torch.where(up, arrays["slope_up"], arrays["slope_down"])
    sign = torch.where(up, _f32(1.0), _f32(-1.0))
    linear = slope * (w if slope_at is None else slope_at)
    if float(scalars["mult_noise"]) != 0.0:
        step = dw + linear
        if xi is not None:
            step = step * (1.0 + _f32(scalars["dw_min_std"]) * xi)
        w = w + sign * step
    else:
        noisy = dw if xi is None else dw * (1.0 + _f32(scalars["dw_min_std"]) * xi)
        w = w + sign * (linear + noisy)
    return _clip(w, arrays)


def _soft_bounds_reference(
    w: torch.Tensor,
    up: torch.Tensor,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    xi: torch.Tensor | None,
) -> torch.Tensor:
    # linear_step of the device weight v = w + reference, applied to the read weight w,
    # whose bounds w_min, w_max are the device's minus the reference (contract §7).
    return _linear_step(w, up, arrays, scalars, xi, slope_at=w + arrays["reference"])


def _exp_step(
    w: torch.Tensor,
    up: torch.Tensor,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    xi: torch.Tensor | None,
) -> torch.Tensor:
    from .reference.f32_math import exp_f32  # (aihw.core.reference imports this module)

    w_min, w_max = arrays["w_min"], arrays["w_max"]
    span = w_max - w_min
    alive = span > 0
    z = (2.0 * _f32(scalars["a"])) * w / torch.where(alive, span, _f32(1.0)) + _f32(scalars["b"])
    y_up = torch.clamp(
        1.0 - _f32(scalars["A_up"]) * exp_f32(_f32(scalars["gamma_up"]) * z), min=0.0
    )
    y_down = torch.clamp(
        1.0 - _f32(scalars["A_down"]) * exp_f32(-_f32(scalars["gamma_down"]) * z), min=0.0
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


def _pow_step(
    w: torch.Tensor,
    up: torch.Tensor,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    xi: torch.Tensor | None,
) -> torch.Tensor:
    from .reference.f32_math import pow_f32  # (aihw.core.reference imports this module)

    w_min, w_max = arrays["w_min"], arrays["w_max"]
    span = w_max - w_min
    alive = span > 0
    safe = torch.where(alive, span, _f32(1.0))
    # a weight beyond the bound it moves toward does not step (base floored at 0)
    base = torch.clamp(torch.where(up, w_max - w, w - w_min) / safe, min=0.0)
    gamma = torch.where(up, arrays["gamma_up"], arrays["gamma_down"])
    dw = torch.where(up, arrays["dw_up"], arrays["dw_down"]) * pow_f32(base, gamma)
    if xi is not None:
        dw = dw * (1.0 + _f32(scalars["dw_min_std"]) * xi)
    new = _clip(w + torch.where(up, dw, -dw), arrays)
    return torch.where(alive, new, w)


def _piecewise_step(
    w: torch.Tensor,
    up: torch.Tensor,
    arrays: Mapping[str, torch.Tensor],
    scalars: Mapping[str, Any],
    xi: torch.Tensor | None,
) -> torch.Tensor:
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
        StepLaw(
            name="soft_bounds_reference",
            engine_id=6,
            arrays=_BASE_ARRAYS + ("slope_up", "slope_down", "reference"),
            scalars=("dw_min_std", "mult_noise"),
            reference_step=_soft_bounds_reference,
            noise_scalar="dw_min_std",
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


# -- laws defined in Python by plugins --------------------------------------------------

#: The engine id of a law that exists only in Python: tiles run it on the reference path.
PYTHON_ENGINE_ID = 0

#: The arrays and scalars every single-device law reads first (engine contract §4).
_COMMON_ARRAYS = ("dw_up", "dw_down", "w_min", "w_max")
_COMMON_SCALARS = ("dw_min_std",)


def register_python_law(
    name: str,
    step: ReferenceStep,
    *,
    arrays: tuple[str, ...] | list[str] = (),
    scalars: tuple[str, ...] | list[str] = (),
    sequence_scalars: tuple[str, ...] | list[str] = (),
) -> StepLaw:
    """Define a step law in Python/torch, e.g. in a device plugin.

    The law reads the arrays ``dw_up``, ``dw_down``, ``w_min``, ``w_max`` and the scalar
    ``dw_min_std`` (engine contract §4), then its own ``arrays`` and ``scalars``. Tiles run
    it on the plain-torch reference path, on the CPU or on CUDA; the same seed gives the
    same pulses as any other law.

    Args:
        name: the law name that device classes put in their ``law`` attribute (a Python
            identifier, not the name of a built-in law).
        step: ``step(w, up, arrays, scalars, xi) -> new w`` on the selected cross-points:
            ``w`` float32 weights (1-D), ``up`` a bool tensor (True: an UP pulse, the
            weight grows), ``arrays`` the per-device tensors of those cross-points (by
            name), ``scalars`` the law scalars (floats), ``xi`` the float32 standard
            normals of the pulses, or ``None`` when ``dw_min_std == 0``. It returns the new
            weights *before* the clip: the clip to ``[w_min, w_max]`` is applied for it.
            It must be elementwise (a cross-point's result depends only on its own
            inputs).
        arrays: further per-device arrays the law reads.
        scalars: further scalars the law reads.
        sequence_scalars: those of ``scalars`` that are sequences of numbers (the step
            receives them as tuples of floats).

    Returns:
        The registered :class:`StepLaw` (engine id :data:`PYTHON_ENGINE_ID`).

    Raises:
        ValueError: an invalid name, the name of a built-in law or of another Python law.
        TypeError: ``step`` is not callable.

    Registering the same function again under the same name (a module imported twice)
    replaces the old registration.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"register_python_law: name={name!r} is invalid; allowed: a Python identifier"
        )
    if not callable(step):
        raise TypeError(f"register_python_law({name!r}): step must be callable; got {step!r}")
    old = LAWS.get(name)
    if old is not None:
        if not old.is_python:
            raise ValueError(
                f"register_python_law: {name!r} is a built-in step law; choose another name"
            )
        if _identity(old.python_step) != _identity(step):
            raise ValueError(
                f"register_python_law: step law {name!r} is already defined by "
                f"{_identity(old.python_step)}; choose another name"
            )
    extra_arrays = tuple(arrays)
    extra_scalars = tuple(scalars)
    for kind, names, common in (
        ("arrays", extra_arrays, _COMMON_ARRAYS),
        ("scalars", extra_scalars, _COMMON_SCALARS),
    ):
        bad = [n for n in names if not isinstance(n, str) or not n.isidentifier() or n in common]
        if bad or len(set(names)) != len(names):
            raise ValueError(
                f"register_python_law({name!r}): {kind}={names!r} must be distinct identifiers "
                f"other than {', '.join(common)} (always read first)"
            )

    sequences = tuple(sequence_scalars)
    if not set(sequences) <= set(extra_scalars):
        raise ValueError(
            f"register_python_law({name!r}): sequence_scalars={sequences!r} must be among "
            f"scalars={extra_scalars!r}"
        )

    def reference_step(
        w: torch.Tensor,
        up: torch.Tensor,
        arrays: Mapping[str, torch.Tensor],
        scalars: Mapping[str, Any],
        xi: torch.Tensor | None,
    ) -> torch.Tensor:
        new = step(w, up, arrays, scalars, xi)
        return torch.minimum(torch.maximum(new, arrays["w_min"]), arrays["w_max"])

    law = StepLaw(
        name=name,
        engine_id=PYTHON_ENGINE_ID,
        arrays=_COMMON_ARRAYS + extra_arrays,
        scalars=_COMMON_SCALARS + extra_scalars,
        reference_step=reference_step,
        noise_scalar="dw_min_std",
        sequence_scalars=sequences,
        python_step=step,
    )
    LAWS[name] = law
    return law


def unregister_python_law(name: str) -> None:
    """Remove a law registered by :func:`register_python_law` (tests, notebooks)."""
    law = get_law(name)
    if not law.is_python:
        raise ValueError(f"{name!r} is a built-in step law and cannot be removed")
    del LAWS[name]


def _identity(fn: object) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def law_runs_natively(name: str) -> bool:
    """Whether tiles on the CPU run step law ``name`` in the compiled engine.

    ``False`` for a law defined in Python, an unknown law, a law the installed engine does
    not execute yet, or when the compiled engine is missing: those run on the reference.
    """
    from . import engine  # lazy: importing the laws never loads the engine

    law = LAWS.get(name)
    return law is not None and law.engine_id > 0 and engine.law_known(law.engine_id)

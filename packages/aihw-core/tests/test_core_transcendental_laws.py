"""exp_step and pow_step compute exp and pow by the float32 polynomials of aihw/f32_math.hpp,
whose plain-torch twins (aihw.core.reference.f32_math) give the same bits (engine contract
§7): pow_f32's accuracy and exact cases, and single pulses of both laws, native against the
twins, over every exponent of the base and the whole range of exp's argument.
"""

from __future__ import annotations

import math

import pytest
import torch

from aihw.core import UpdateParameters, engine
from aihw.core.laws import LAWS
from aihw.core.reference import f32_math, pulsed_update_reference

INF, NAN = math.inf, math.nan
# One pulse per cross-point: BL 1 and x, d, lr with a firing probability of 1.
ONE_PULSE = UpdateParameters(
    desired_bl=1, fixed_bl=True, update_management=False, update_bl_management=False
)


def ulps(got: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """|got - exact| in units in the last place of the float32 nearest to exact."""
    near = exact.abs().to(torch.float32)
    ulp = torch.nextafter(near, torch.tensor(INF)).double() - near.double()
    return (got.double() - exact).abs() / ulp


def bases(top_exponent: int = 127) -> torch.Tensor:
    """Floats in [2^-149, 2^(top_exponent - 127)): 1024 mantissas of every exponent, the
    subnormals included."""
    mantissas = torch.arange(0, 1 << 23, 8191, dtype=torch.int64)
    exponents = torch.arange(0, top_exponent, dtype=torch.int64)
    bits = (exponents[:, None] << 23 | mantissas[None, :]).reshape(-1)
    x = bits.to(torch.int32).view(torch.float32)
    return x[x > 0]


@pytest.mark.parametrize("gamma", [0.05, 0.5, 0.8, 1.0, 1.5, 2.0, 3.7, -0.5, -1.3])
def test_pow_f32_is_accurate_for_every_exponent(gamma):
    """Within 2 + 1.5 |gamma log2 x| units in the last place (the product's rounding, which
    2^ magnifies), where the result is a normal float."""
    x = torch.cat([bases(), bases(160)[-5000:]])  # [2^-149, 1) and up to 2^33
    g = torch.full_like(x, gamma)
    got = f32_math.pow_f32(x, g)
    exact = torch.pow(x.double(), g.double())
    normal = (exact >= 2.0**-126) & (exact < 2.0**127)
    assert int(normal.sum()) > 20_000
    size = (g.double() * torch.log2(x.double())).abs()[normal]
    assert bool((ulps(got[normal], exact[normal]) <= 2 + 1.5 * size).all())
    # below 2^-126 the result is 0, from 2^127 +inf
    assert bool((got[exact < 2.0**-127] == 0).all())
    assert bool((got[exact >= 2.0**128] == INF).all())


def test_pow_f32_exact_cases():
    cases = [  # (x, g, C's pow)
        (0.0, 1.5, 0.0),
        (0.0, 0.3, 0.0),
        (0.0, 0.0, 1.0),
        (0.0, -0.7, INF),
        (-0.0, 2.5, 0.0),
        (1.0, 123.4, 1.0),
        (1.0, -9.0, 1.0),
        (1.0, NAN, 1.0),
        (0.3, 0.0, 1.0),
        (NAN, 0.0, 1.0),
        (INF, 0.0, 1.0),
        (INF, 0.5, INF),
        (INF, -0.5, 0.0),
        (0.5, INF, 0.0),
        (0.5, -INF, INF),
        (2.0, INF, INF),
        (0.25, 0.5, 0.5),
        (0.5, 3.0, 0.125),
        (2.0**-100, 2.0, 0.0),  # 2^-200: below 2^-126
        (2.0**-100, -1.5, INF),  # 2^150
        (1e-45, 0.5, math.sqrt(2.0**-149)),  # the smallest subnormal
    ]
    x = torch.tensor([c[0] for c in cases])
    g = torch.tensor([c[1] for c in cases])
    want = torch.tensor([c[2] for c in cases])
    got = f32_math.pow_f32(x, g)
    assert torch.equal(got[:-1], want[:-1]), (got, want)
    assert float(ulps(got[-1:], want[-1:].double())) <= 2
    # a negative base or a NaN: NaN (a weight of pow_step never gives one, contract §7)
    odd = f32_math.pow_f32(torch.tensor([-0.5, -2.0, NAN, 0.5]), torch.tensor([2.0, 0.5, 1.0, NAN]))
    assert bool(odd.isnan().all())
    # broadcast like torch.pow: float32 out for a float64 exponent too
    assert f32_math.pow_f32(
        torch.tensor([0.25, 4.0]), torch.tensor(0.5, dtype=torch.float64)
    ).tolist() == [0.5, 2.0]


def _one_pulse(law_name: str, weights, arrays, scalars, d=None):
    """Native and reference weights after one pulse on every cross-point of a [1, n] tile
    (DOWN unless ``d`` is negative)."""
    law = LAWS[law_name]
    n = weights.numel()
    x = torch.ones(1, n)
    d = torch.ones(1, 1) if d is None else d.reshape(1, 1)
    out = []
    for run in (engine.pulsed_update, pulsed_update_reference):
        w = weights.reshape(1, n).clone()
        flat = {k: v.reshape(1, n).contiguous() for k, v in arrays.items()}
        pulses = run(w, x, d, law, flat, scalars, 1.0, 1.0, ONE_PULSE, 3, 0)
        assert pulses == n
        out.append(w.reshape(-1))
    return out


def test_pow_step_native_pow_is_the_twin_bit_for_bit(core):
    """A DOWN pulse from w = b with w_min = 0, w_max = 1 computes pow_f32(b, gamma); with
    dw the power of 2 that puts dw * b^gamma within (b/2, b) by a margin (wider than pow's
    error), the new weight b - dw * pow is exact, so equal weights are equal pow bits
    (every exponent of b, several gammas)."""
    b = bases()
    b = b[b < 1]
    cases = []
    for gamma in (0.05, 0.5, 0.8, 1.1, 1.5, 2.0, 3.7, -0.5, -1.3):
        u = (1 - gamma) * torch.log2(b.double())  # log2 of b / b^gamma
        k = torch.floor(u)
        keep = (u - k > 0.1) & (u - k < 0.9) & (k >= -126) & (k <= 127)
        keep &= (gamma * torch.log2(b.double())).abs() < 126
        g = torch.full_like(b[keep], gamma)
        cases.append((b[keep], g, torch.pow(2.0, k[keep]).float()))
    w, g, dw = (torch.cat(c) for c in zip(*cases, strict=True))
    assert w.numel() > 400_000
    n = w.numel()
    arrays = {
        "dw_up": torch.ones(n),
        "dw_down": dw,
        "w_min": torch.zeros(n),
        "w_max": torch.ones(n),
        "gamma_up": torch.ones(n),
        "gamma_down": g,
    }
    native, reference = _one_pulse("pow_step", w, arrays, {"dw_min_std": 0.0})
    expected = w - dw * f32_math.pow_f32(w, g)
    assert torch.equal(native, expected)
    assert torch.equal(reference, expected)
    assert bool(((native > 0) & (native < w / 2)).all())  # in the exact window


def test_exp_step_native_exp_is_the_twin_bit_for_bit(core):
    """An UP pulse from w = 2^-60 with w_min = -1, w_max = R - 1 gives w + y,
    y = 1 - A exp(z), z = (2 a) w / R + b = 2.77 / R + b. For R in [2, 4] and A = 2^-k,
    b such that A exp(z) is in (1/2, 1], y is exact (in [0, 1/2)) and w + y rounds to y:
    equal weights are equal exp bits. k over [-124, 125] covers exp's range."""
    n = 400
    r = torch.linspace(2.0, 4.0, n)
    w_max = r - 1.0
    arrays = {
        "dw_up": torch.ones(n),
        "dw_down": torch.ones(n),
        "w_min": torch.full((n,), -1.0),
        "w_max": w_max,
    }
    w = torch.full((n,), 2.0**-60)
    span = w_max - -1.0
    natives, expected = [], []
    for k in range(-124, 126):
        b = float(torch.tensor((k - 0.5) * math.log(2) - 2.77 * 3 / 8, dtype=torch.float32))
        scalars = {
            "dw_min_std": 0.0,
            "A_up": 2.0**-k,
            "A_down": 1.0,
            "gamma_up": 1.0,
            "gamma_down": 1.0,
            "a": 2.77 * 2.0**59,
            "b": b,
            "dw_min_std_add": 0.0,
            "dw_min_std_slope": 0.0,
        }
        up = torch.tensor([-1.0])  # d < 0: UP pulses
        native, reference = _one_pulse("exp_step", w, arrays, scalars, d=up)
        assert torch.equal(native, reference)
        z = torch.tensor(2 * 2.77 * 2.0**59, dtype=torch.float32) * w / span + b
        y = torch.clamp(1.0 - torch.tensor(2.0**-k) * f32_math.exp_f32(z), min=0.0)
        natives.append(native)
        expected.append(y)
    native, y = torch.cat(natives), torch.cat(expected)
    assert torch.equal(native, y + 2.0**-60)
    assert float((y > 2.0**-30).float().mean()) > 0.9  # most steps: all their bits seen

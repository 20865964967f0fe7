"""The pulses' cycle-to-cycle normals (update contract 3, engine-contract.md §2) are
standard normal: 10^7 draws of one pulse-noise sequence, by the float32 Box-Muller of the
periphery (§8), against the normal distribution.

The reference computes them here (it equals the engine bit for bit:
test_periphery_native_vs_reference, test_core_native_laws)."""

from __future__ import annotations

import math

import torch

from aihw.core.reference.philox import key_from_seed, periphery_normals_from_words, philox_words
from aihw.core.reference.update import STREAM_C2C

DRAWS = 10_000_000
#: The largest |z| the generator gives: the radius of the smallest uniform, 2^-24.
TRUNCATION = math.sqrt(48 * math.log(2))


def _sequence_normals(n: int) -> torch.Tensor:
    """Normals 0..n-1 of the sequence with key 12345 in sample 3 of update 7."""
    key = key_from_seed(0x5EED_0F_A1_4EE)
    blocks = torch.arange((n + 3) // 4, dtype=torch.int64)
    words = torch.stack(philox_words(12345, 3, 7, (STREAM_C2C << 28) | blocks, *key), dim=-1)
    return periphery_normals_from_words(words).flatten()[:n].double()


def _expected_beyond(t: float) -> float:
    return DRAWS * math.erfc(t / math.sqrt(2))


def test_pulse_normals_are_standard_normal() -> None:
    z = _sequence_normals(DRAWS)
    # Moments: standard errors are 3e-4 (mean), 2.2e-4 (std), 7.7e-3 (fourth moment).
    assert abs(z.mean().item()) < 2e-3
    assert abs(z.std().item() - 1.0) < 1.5e-3
    assert abs((z**3).mean().item()) < 6e-3
    assert abs((z**4).mean().item() - 3.0) < 0.04
    # Tails to 5 sigma: counts beyond t within 5 Poisson standard deviations (plus one).
    for t in (3.0, 4.0, 4.5, 5.0):
        expected = _expected_beyond(t)
        count = int((z.abs() > t).sum())
        assert abs(count - expected) <= 5 * math.sqrt(expected) + 1, (t, count, expected)
    # The documented truncation (docs/physics/pulsed-update.md): nothing beyond 5.77 sigma,
    # where the normal puts 8e-9 of its mass.
    assert z.abs().max().item() <= TRUNCATION + 1e-5
    # Kolmogorov-Smirnov over all draws: the 0.1 % critical value is 1.95 / sqrt(n).
    ordered, _ = torch.sort(z)
    cdf = torch.special.ndtr(ordered)
    steps = torch.arange(1, DRAWS + 1, dtype=torch.float64) / DRAWS
    statistic = max((steps - cdf).max().item(), (cdf - (steps - 1.0 / DRAWS)).max().item())
    assert statistic < 1.95 / math.sqrt(DRAWS), statistic

"""Philox4x32-10 and the words-to-numbers rules of the engine contract §1."""

from __future__ import annotations

import math
import random

import pytest
import torch

from aihw.core.reference.philox import (
    _mulhilo,
    key_from_seed,
    normals_from_words,
    philox4x32_10,
    uniform_from_words,
)

# Random123's known answers (engine contract §1).
KATS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KATS)
def test_known_answers(counter, key, expected):
    assert tuple(philox4x32_10(counter, key).tolist()) == expected


def test_known_answers_batched():
    counters = torch.tensor([c for c, _, _ in KATS], dtype=torch.int64)
    # One key per call: check that a batch of counters gives each counter's own block.
    out = philox4x32_10(counters, KATS[0][1])
    assert tuple(out[0].tolist()) == KATS[0][2]
    for i, (counter, _, _) in enumerate(KATS):
        assert out[i].tolist() == philox4x32_10(counter, KATS[0][1]).tolist()


def test_mulhilo_matches_python_integers():
    rng = random.Random(1)
    values = [0, 1, 0xFFFFFFFF] + [rng.getrandbits(32) for _ in range(2000)]
    c = torch.tensor(values, dtype=torch.int64)
    for m in (0xD2511F53, 0xCD9E8D57):
        hi, lo = _mulhilo(m, c)
        for v, high, low in zip(values, hi.tolist(), lo.tolist(), strict=True):
            assert (high << 32) | low == m * v


def test_key_from_seed():
    assert key_from_seed(0) == (0, 0)
    assert key_from_seed(0x0123456789ABCDEF) == (0x89ABCDEF, 0x01234567)
    assert key_from_seed(2**64 - 1) == (0xFFFFFFFF, 0xFFFFFFFF)


def test_uniform_from_words():
    words = torch.tensor([0, 1, 2**31, 2**32 - 1], dtype=torch.int64)
    u = uniform_from_words(words)
    assert u.dtype == torch.float64
    assert u.tolist() == [0.0, 2.0**-32, 0.5, 1.0 - 2.0**-32]


def test_normals_box_muller_formula():
    words = torch.tensor([[0, 2**30, 2**32 - 1, 2**31]], dtype=torch.int64)
    z = normals_from_words(words)[0].tolist()
    rho0 = math.sqrt(-2 * math.log(2.0**-32))
    theta0 = 2 * math.pi * 2**30 * 2.0**-32
    assert z[0] == pytest.approx(rho0 * math.cos(theta0), abs=1e-12)
    assert z[1] == pytest.approx(rho0 * math.sin(theta0), abs=1e-12)
    # u1 = 1 gives rho = 0 exactly.
    assert z[2] == 0.0 and z[3] == 0.0


def test_normal_and_uniform_statistics():
    n = 1 << 18
    counters = torch.zeros(n, 4, dtype=torch.int64)
    counters[:, 0] = torch.arange(n)
    counters[:, 3] = 3 << 28
    words = philox4x32_10(counters, key_from_seed(12345))
    u = uniform_from_words(words).flatten()
    assert abs(u.mean().item() - 0.5) < 0.002
    assert abs(u.var().item() - 1 / 12) < 0.001
    z = normals_from_words(words).flatten()
    assert z.numel() == 4 * n
    assert abs(z.mean().item()) < 0.005
    assert abs(z.std().item() - 1.0) < 0.005
    assert abs(((z**3).mean()).item()) < 0.02  # no skew
    assert abs(((z**4).mean()).item() - 3.0) < 0.05  # normal kurtosis
    # Tails: P(|z| > 3) = 0.0027
    assert abs((z.abs() > 3).double().mean().item() - 0.0027) < 0.0004


def test_native_philox_matches_reference(core):
    rng = random.Random(7)
    for _ in range(200):
        counter = [rng.getrandbits(32) for _ in range(4)]
        key = [rng.getrandbits(32) for _ in range(2)]
        native = [int(v) for v in core.philox4x32_10(tuple(counter), tuple(key))]
        assert native == philox4x32_10(counter, key).tolist(), (counter, key)
    for counter, key, expected in KATS:
        assert tuple(int(v) for v in core.philox4x32_10(tuple(counter), tuple(key))) == expected


def test_native_normals_match_reference(core):
    rng = random.Random(8)
    blocks = [[rng.getrandbits(32) for _ in range(4)] for _ in range(500)]
    blocks += [[0, 0, 2**32 - 1, 2**32 - 1], [2**31, 2**30, 1, 3]]
    ref = normals_from_words(torch.tensor(blocks, dtype=torch.int64))
    native = torch.tensor(
        [[float(v) for v in core.normals_from_block(tuple(b))] for b in blocks], dtype=torch.float64
    )
    # libm and torch may differ in the last bit of log/cos; as float32 they agree.
    torch.testing.assert_close(native, ref, rtol=1e-13, atol=1e-13)
    mismatches = (native.float() != ref.float()).sum().item()
    assert mismatches <= 1

"""aihw.core.inference: the normals of programming and drift (native and reference draw the
same bits; purposes, matrices and calls do not share numbers), converters and
compensation state round trips."""

from __future__ import annotations

import pytest
import torch

from aihw.core.inference import (
    DualPairConductanceConverter,
    GlobalDriftCompensation,
    PerColumnDriftCompensation,
    SinglePairConductanceConverter,
    draws,
)
from aihw.core.inference.compensation import compensation_from_state, compensation_state
from aihw.core.inference.converters import converter_from_state, converter_state
from aihw.core.reference import device_ops

CPU = torch.device("cpu")


def test_native_and_reference_normals_are_the_same_bits():
    z = draws.normals(123, draws.PROGRAMMING, 4, 1, (7, 9), CPU)
    expected = torch.zeros(7, 9)
    seed = draws.stream_seed(123, draws.PROGRAMMING, 1)
    device_ops.diffuse(expected, torch.ones(7, 9), None, None, seed, 4)
    assert torch.equal(z, expected)


def test_purposes_matrices_and_calls_draw_other_numbers():
    base = draws.normals(5, draws.PROGRAMMING, 0, 0, (64,), CPU)
    for other in (
        draws.normals(5, draws.DRIFT_COEFFICIENTS, 0, 0, (64,), CPU),
        draws.normals(5, draws.PROGRAMMING, 1, 0, (64,), CPU),
        draws.normals(5, draws.PROGRAMMING, 0, 1, (64,), CPU),
        draws.normals(6, draws.PROGRAMMING, 0, 0, (64,), CPU),
    ):
        assert not torch.equal(base, other)
    assert torch.equal(base, draws.normals(5, draws.PROGRAMMING, 0, 0, (64,), CPU))


@pytest.mark.parametrize(
    "converter",
    [
        SinglePairConductanceConverter(g_max=20.0, g_min=1.0),
        DualPairConductanceConverter(f_lst=(1.0, 3.0)),
    ],  # fmt: skip
)
def test_converters_invert_and_round_trip_their_state(converter):
    weights = torch.tensor([[0.3, -1.2, 0.0], [0.7, 0.1, -0.05]])
    conductances, scale = converter.to_conductances(weights)
    assert all(bool((g >= converter.g_min).all()) for g in conductances)
    assert all(bool((g <= converter.g_max).all()) for g in conductances)
    torch.testing.assert_close(converter.to_weights(conductances, scale), weights)
    assert converter_from_state(converter_state(converter)) == converter
    with pytest.raises(ValueError, match="unknown conductance converter 'Nope'"):
        converter_from_state({"name": "Nope", "params": {}})


def test_compensation_state_round_trips():
    for compensation in (GlobalDriftCompensation(), PerColumnDriftCompensation()):
        assert compensation_from_state(compensation_state(compensation)) == compensation
    with pytest.raises(ValueError, match="unknown drift compensation 'Nope'"):
        compensation_from_state({"name": "Nope", "params": {}})
    readout = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    assert GlobalDriftCompensation().baseline(readout).item() == pytest.approx(1.5)
    torch.testing.assert_close(
        PerColumnDriftCompensation().baseline(readout), torch.tensor([2.0, 1.0])
    )
    # the floor of 1e-4 keeps an all-zero read-out finite
    assert GlobalDriftCompensation().factor(torch.tensor(1.0), torch.zeros(2, 2)).item() == 1e4

"""Global drift compensation with an exact reference: the baseline is the exact read-out
of the reference weights; the factor is applied in eval mode and stored in checkpoints."""

from __future__ import annotations

import io

import pytest
import torch

from aihw.core.inference.compensation import compensation_from_state, compensation_state
from aihw.core.io_parameters import IOParameters
from aihw.devices import (
    GlobalDriftCompensation,
    GlobalDriftCompensationWithExactReference,
    InferenceRPUConfig,
)
from aihw.nn import AnalogLinear

EXACT = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.0, bound_management="None",
                     out_bound=0.0)  # fmt: skip


def layer(compensation, forward: IOParameters = EXACT, seed: int = 2) -> AnalogLinear:
    config = InferenceRPUConfig(forward=forward, drift_compensation=compensation)
    torch.manual_seed(seed)  # the initial weights
    return AnalogLinear(8, 5, rpu_config=config, seed=seed)


def test_the_baseline_is_the_mean_absolute_reference_weight():
    m = layer(GlobalDriftCompensationWithExactReference())
    reference = m.analog_tile.weights.clone()
    m.program_analog_weights(seed=0)
    programmed = m.analog_tile.inference_state.programmed
    assert programmed.baseline.item() == pytest.approx(reference.abs().mean().item(), rel=1e-6)
    m.drift_analog_weights(86400.0)
    drifted = m.analog_tile.weights
    # with a forward without noise the read-out of the drifted tile is its weights
    expected = reference.abs().mean() / drifted.abs().mean()
    assert m.analog_tile.alpha.item() == pytest.approx(expected.item(), rel=1e-5)
    assert m.analog_tile.alpha.item() > 1.05  # a day of PCM drift lowers the weights


def test_it_differs_from_the_global_compensation_by_the_programming_error_of_the_mean():
    exact = layer(GlobalDriftCompensationWithExactReference())
    plain = layer(GlobalDriftCompensation())
    for m in (exact, plain):
        m.program_analog_weights(seed=1)
        m.drift_analog_weights(3600.0)
    assert torch.equal(exact.analog_tile.weights, plain.analog_tile.weights)  # same streams
    reference = exact.analog_tile.inference_state.programmed.reference
    programmed = plain.analog_tile.inference_state.programmed.baseline
    ratio = reference.abs().mean() / programmed
    assert exact.analog_tile.alpha.item() == pytest.approx(
        (plain.analog_tile.alpha * ratio).item(), rel=1e-5
    )


def test_the_factor_applies_in_eval_mode_and_survives_a_checkpoint():
    m = layer(GlobalDriftCompensationWithExactReference(), forward=IOParameters())
    m.program_analog_weights(seed=3)
    m.drift_analog_weights(1e6)
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    buffer = io.BytesIO()
    torch.save(m.state_dict(), buffer)
    fresh = layer(GlobalDriftCompensationWithExactReference(), forward=IOParameters())
    fresh.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    compensation = fresh.analog_tile.drift_compensation
    assert isinstance(compensation, GlobalDriftCompensationWithExactReference)
    assert torch.equal(fresh.analog_tile.alpha, m.analog_tile.alpha)
    m.eval()
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(m(x), fresh(x))
    state = compensation_state(GlobalDriftCompensationWithExactReference())
    assert state == {"name": "GlobalDriftCompensationWithExactReference", "params": {}}
    assert isinstance(compensation_from_state(state), GlobalDriftCompensationWithExactReference)

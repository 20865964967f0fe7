"""Checkpoints written by earlier ``main``s still load, infer and resume training: each
fixture holds what that code computed.

``main-v4.pt`` was written under update contract version 4 (docs/architecture/
engine-contract.md §2, the current one) and resumes identically: bit for bit on the
processor that wrote it, and within float32 rounding (``CLOSE``) on others, since torch's
CPU matrix products round differently on Intel and AMD processors (the engine's own results
do not depend on the processor). One pulse more or less moves a weight by about 1e-3,
far beyond that tolerance. The older ones load
and infer bit-identically and resume with other random numbers of the same distributions
(other cycle-to-cycle normals; other pulse trains before version 4), so their losses and
weights after resuming are close, not equal: ``main-02ebb8e.pt`` (before the core's
reshaping) predates version 2 (normals addressed by ordinal within a row group),
``main-v2.pt`` predates version 3 (normals by the periphery's float32 Box-Muller),
``main-v3.pt`` predates version 4 (train words addressed by slot position)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent / "checkpoint"
FIXTURE = HERE / "fixtures" / "main-v4.pt"
#: Fixtures of earlier update contracts, with the contract they were saved under.
OLDER_FIXTURES = {
    1: HERE / "fixtures" / "main-02ebb8e.pt",
    2: HERE / "fixtures" / "main-v2.pt",
    3: HERE / "fixtures" / "main-v3.pt",
}


#: torch's matrix products on another processor: float32 rounding, not another pulse.
CLOSE = {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the fixture was written
    yield
    torch.set_num_threads(threads)


def test_checkpoint_of_earlier_main_loads_and_resumes_identically(
    one_thread, tensors_by_path
) -> None:
    script = runpy.run_path(str(HERE / "main_fixture.py"))
    checkpoint = torch.load(FIXTURE, weights_only=True)
    expected = checkpoint["expected"]
    model, optimizer = script["build"]()
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.testing.assert_close(
        script["evaluate"](model), expected["inference_at_checkpoint"], **CLOSE
    )
    start = script["STEPS_BEFORE"]
    losses = script["train"](model, optimizer, range(start, start + script["STEPS_AFTER"]))
    assert losses == pytest.approx(expected["losses_after"].tolist(), rel=CLOSE["rtol"])
    got = tensors_by_path(model.state_dict())
    want = tensors_by_path(expected["model_after"])
    assert got.keys() == want.keys()
    for key, value in want.items():
        if value.is_floating_point():
            torch.testing.assert_close(got[key], value, **CLOSE, msg=key)
        else:  # counters, seeds: exact
            assert torch.equal(got[key], value), key
    torch.testing.assert_close(script["evaluate"](model), expected["inference_after"], **CLOSE)


@pytest.mark.parametrize("contract", sorted(OLDER_FIXTURES))
def test_checkpoint_of_an_older_update_contract_loads_and_resumes_closely(
    one_thread, tensors_by_path, contract
) -> None:
    script = runpy.run_path(str(HERE / "main_fixture.py"))
    checkpoint = torch.load(OLDER_FIXTURES[contract], weights_only=True)
    expected = checkpoint["expected"]
    model, optimizer = script["build"]()
    with pytest.warns(UserWarning, match=f"saved under update contract {contract}, before"):
        model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.testing.assert_close(
        script["evaluate"](model), expected["inference_at_checkpoint"], **CLOSE
    )
    at_checkpoint = {k: v.clone() for k, v in tensors_by_path(model.state_dict()).items()}
    start = script["STEPS_BEFORE"]
    losses = script["train"](model, optimizer, range(start, start + script["STEPS_AFTER"]))
    # Other random numbers of the same distributions: a few per cent at most.
    assert losses == pytest.approx(expected["losses_after"].tolist(), rel=0.02)
    got = tensors_by_path(model.state_dict())
    want = tensors_by_path(expected["model_after"])
    assert got.keys() == want.keys()
    for key, value in want.items():
        if value.is_floating_point():
            # Two draws of the same stochastic steps: each weight ends within a few pulses of
            # the older code's, and the steps move the weights as much (within a factor 2).
            assert (got[key] - value).abs().max() <= 0.04, key
            moved = (got[key] - at_checkpoint[key]).abs().mean()
            moved_then = (value - at_checkpoint[key]).abs().mean()
            assert moved_then / 2 - 1e-6 <= moved <= 2 * moved_then + 1e-6, key
        else:
            assert torch.equal(got[key], value), key

"""A checkpoint written by ``main`` at 02ebb8e (before the core's reshaping) still loads,
infers and resumes training bit-identically: the fixture holds what that code computed."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent / "checkpoint"
FIXTURE = HERE / "fixtures" / "main-02ebb8e.pt"


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the fixture was written
    yield
    torch.set_num_threads(threads)


def test_checkpoint_of_earlier_main_loads_and_resumes_bit_identically(
    one_thread, tensors_by_path
) -> None:
    script = runpy.run_path(str(HERE / "main_fixture.py"))
    checkpoint = torch.load(FIXTURE, weights_only=True)
    expected = checkpoint["expected"]
    model, optimizer = script["build"]()
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    assert torch.equal(script["evaluate"](model), expected["inference_at_checkpoint"])
    start = script["STEPS_BEFORE"]
    losses = script["train"](model, optimizer, range(start, start + script["STEPS_AFTER"]))
    assert losses == expected["losses_after"].tolist()
    got = tensors_by_path(model.state_dict())
    want = tensors_by_path(expected["model_after"])
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert torch.equal(got[key], value), key
    assert torch.equal(script["evaluate"](model), expected["inference_after"])

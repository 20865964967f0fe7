"""Train, checkpoint, resume in a fresh process with weights_only=True: bit-identical."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).parent / "checkpoint" / "resnet_resume.py"


def _run(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path: Path, tensors_by_path) -> None:
    checkpoint = tmp_path / "two_steps.pt"
    resumed = tmp_path / "resumed.pt"
    full = tmp_path / "full.pt"
    _run("first", str(checkpoint))
    _run("resume", str(checkpoint), str(resumed))
    _run("full", str(full))
    a = torch.load(resumed, weights_only=True)
    b = torch.load(full, weights_only=True)
    assert a.keys() == b.keys()
    tensors_a = tensors_by_path(a)
    tensors_b = tensors_by_path(b)
    assert tensors_a.keys() == tensors_b.keys()
    # Weights, device arrays, BatchNorm statistics: every tensor equal, bit for bit.
    for key, value in tensors_a.items():
        assert torch.equal(value, tensors_b[key]), key
    # The random-number counters moved on: 4 updates in every tile.
    stem = a["stem._extra_state"]["tiles"][0]
    assert stem["update_index"] == 4 and stem["device"]["name"] == "ConstantStep"
    # The checkpoint differs from a fresh model (training happened).
    assert not torch.equal(
        torch.load(checkpoint, weights_only=True)["model"]["head.bias"], a["head.bias"]
    )

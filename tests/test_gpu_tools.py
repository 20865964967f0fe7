"""tools/gpu_check.sh and the benchmarks' --device cuda on a machine without a GPU: the
script checks its prerequisites and says what it would run, refuses to run without a GPU,
and the benchmarks say why they cannot run instead of failing with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aihw.core import engine

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "gpu_check.sh"
NO_GPU = not engine.cuda_available()


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("OUT", None)  # logs to build/gpu-check/
    return subprocess.run(
        list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_script_is_valid_bash_and_its_dry_run_states_the_plan():
    assert run("bash", "-n", str(SCRIPT)).returncode == 0
    result = run("bash", str(SCRIPT), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "prerequisites missing: " in result.stdout  # (a test environment may lack pybind11)
    assert "pytest -m cuda" in result.stdout and "benchmarks" in result.stdout


def test_unknown_options_are_refused():
    result = run("bash", str(SCRIPT), "--fast")
    assert result.returncode == 2
    assert "unknown option --fast (allowed: --dry-run, --skip-cpp, --skip-bench)" in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_the_check_refuses_to_run():
    result = run("bash", str(SCRIPT))
    assert result.returncode == 3
    assert "torch sees no GPU here; this check needs one" in result.stderr


@pytest.mark.skipif(not NO_GPU, reason="the CUDA kernels can run here")
@pytest.mark.parametrize("script", ["update.py", "forward.py"])
def test_benchmarks_on_cuda_say_why_they_cannot_run(script):
    result = run(sys.executable, str(ROOT / "benchmarks" / script), "--device", "cuda")
    assert result.returncode == 1  # sys.exit(message)
    assert result.stderr.startswith("--device cuda: "), result.stderr
    assert "Traceback" not in result.stderr

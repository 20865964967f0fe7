"""tools/gpu_check.sh parses, shows its steps in a dry run and says clearly when there is no
GPU; the benchmarks' --device cuda refuses clearly without one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "tools" / "gpu_check.sh"

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@needs_bash
def test_the_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@needs_bash
def test_a_dry_run_lists_the_steps_in_order_and_runs_nothing(tmp_path):
    result = _run("--dry-run", env={"OUT": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    steps = [
        line.split(":")[0].strip() for line in result.stdout.splitlines() if line.startswith("  ")
    ]
    steps = [s for s in steps if s in {"build", "install", "info", "pytest_cuda", "bench_goals",
                                       "ctest", "bench_update", "lenet"}]  # fmt: skip
    assert steps == ["build", "install", "info", "pytest_cuda", "bench_goals", "ctest",
                     "bench_update", "lenet"]  # fmt: skip
    assert "AIHW_CUDA=ON AIHW_CUDA_ARCHITECTURES=native" in result.stdout
    assert "--no-build-isolation --no-deps" in result.stdout
    assert "-m cuda" in result.stdout
    assert (tmp_path / "gpu_check").is_dir()  # logs go under $OUT
    assert list((tmp_path / "gpu_check").iterdir()) == []


@needs_bash
@pytest.mark.parametrize("budget", ["x", "10"])
def test_a_bad_budget_is_refused(budget):
    result = _run("--budget", budget)
    assert result.returncode == 64
    assert f"--budget {budget} must be a whole number of seconds >= 60" in result.stderr


@needs_bash
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so_and_fails():
    result = _run(env={"PATH": "/usr/bin:/bin:" + os.path.dirname(sys.executable),
                       "PYTHON": sys.executable})  # fmt: skip
    assert result.returncode == 2
    assert "no GPU here" in result.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("script", ["update.py", "forward.py"])
def test_benchmarks_device_cuda_refuses_clearly_without_a_gpu(script):
    result = subprocess.run(
        [sys.executable, script, "--device", "cuda"],
        cwd=ROOT / "benchmarks",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "--device cuda: torch sees no GPU here" in result.stderr


class _FakeEvent:
    """A CUDA event stand-in on the host clock, so the GPU rows' code runs on the CPU."""

    def __init__(self, enable_timing: bool = False) -> None:
        self.t = 0.0

    def record(self) -> None:
        import time

        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, other: _FakeEvent) -> float:
        return max((other.t - self.t) * 1e3, 1e-6)


@pytest.fixture
def gpu_rows_on_the_cpu(monkeypatch):
    """Import the benchmark scripts with the GPU calls pointed at the CPU."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import _cuda

    monkeypatch.setattr(_cuda, "cuda_device_or_exit", lambda: torch.device("cpu"))
    monkeypatch.setattr(torch.cuda, "Event", _FakeEvent)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "fake GPU")


def test_the_update_gpu_rows_run_and_print_their_table(gpu_rows_on_the_cpu, capsys):
    import argparse

    import update

    args = argparse.Namespace(sizes=[16], batches=[4, 8], scales=[1e-2, 1.0], lr=0.1, repeats=2)
    update.cuda_table(args)
    out = capsys.readouterr().out
    assert "pulsed update on fake GPU" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("16 ")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("4", "0.01", "native"),
        ("4", "1", "native"),
        ("8", "0.01", "native"),
        ("8", "1", "native"),
    ]
    assert int(rows[-1][4]) > 0  # pulses at d scale 1


def test_the_forward_gpu_rows_run_and_print_their_table(gpu_rows_on_the_cpu, capsys):
    import forward

    forward.cuda_rows([600], batch=4, repeats=2)
    out = capsys.readouterr().out
    assert "inference forward on fake GPU" in out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("600 ")]
    assert [(r[2], r[3]) for r in rows] == [("4", "native"), ("1", "native")]  # split, one tile

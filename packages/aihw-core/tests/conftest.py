"""Shared fixtures: small device models, so aihw-core tests without aihw-devices."""

from __future__ import annotations

import dataclasses
import importlib
import os

import pytest
import torch

from aihw.core.device_model import DeviceModel


@dataclasses.dataclass
class StepParameters:
    """A ConstantStep-like parameter set (docs/physics/devices.md#base-parameters, the fields the
    tests need)."""

    dw_min: float = 0.001
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    w_min: float = -0.6
    w_min_dtod: float = 0.3
    w_max: float = 0.6
    w_max_dtod: float = 0.3


class StepDevice(DeviceModel):
    """Constant step with device-to-device spread of the step and the bounds."""

    name = "TestConstantStep"
    law = "constant_step"
    parameters_class = StepParameters

    def validate(self) -> None:
        if not self.params.dw_min > 0:
            raise ValueError(f"dw_min={self.params.dw_min} must be > 0")

    def granularity(self) -> float:
        return self.params.dw_min

    def sample(self, d_size, x_size, generator):
        p = self.params

        def normal():
            return torch.randn(d_size, x_size, generator=generator, dtype=torch.float32)

        step = (p.dw_min * (1 + p.dw_min_dtod * normal())).abs()
        w_max = (p.w_max * (1 + p.w_max_dtod * normal())).abs()
        w_min = -(p.w_min * (1 + p.w_min_dtod * normal())).abs()
        return {"dw_up": step.clone(), "dw_down": step, "w_min": w_min, "w_max": w_max}

    def law_scalars(self):
        return {"dw_min_std": self.params.dw_min_std}


@dataclasses.dataclass
class NoParameters:
    pass


class ExactDevice(DeviceModel):
    """A floating-point device (``law = None``)."""

    name = "TestFloatingPoint"
    law = None
    parameters_class = NoParameters


def _native_importable() -> bool:
    try:
        importlib.import_module("aihw.core._core")
    except ImportError:
        return False
    return True


HAVE_NATIVE = _native_importable()
REQUIRE_NATIVE = bool(os.environ.get("AIHW_REQUIRE_NATIVE"))


@pytest.fixture
def core():
    """The compiled module.

    Skips only when the engine is missing and ``AIHW_REQUIRE_NATIVE`` is unset; CI sets
    it, so there a missing or broken engine fails the test.
    """
    if not HAVE_NATIVE and not REQUIRE_NATIVE:
        pytest.skip("aihw.core._core is not built (set AIHW_REQUIRE_NATIVE=1 to fail instead)")
    return importlib.import_module("aihw.core._core")


@pytest.fixture
def make_device():
    """Build a :class:`StepDevice`; keyword arguments override its parameters."""
    return StepDevice


@pytest.fixture
def step_device():
    return StepDevice()


@pytest.fixture
def noiseless_device():
    return StepDevice(dw_min_std=0.0)


@pytest.fixture
def exact_device():
    return ExactDevice()


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``cuda`` run only where the CUDA kernels and a GPU are (tools/gpu_check.sh)."""
    from aihw.core.engine import cuda_available

    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs the CUDA kernels and a GPU (cuda_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)

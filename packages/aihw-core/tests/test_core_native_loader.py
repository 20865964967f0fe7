"""The lazy loader of the compiled engine and the fallback to the reference."""

from __future__ import annotations

import types

import pytest
import torch

from aihw.core import AnalogTile, engine


def _fake_engine(monkeypatch, fake):
    """Make the engine functions call ``fake`` instead of the compiled module."""
    monkeypatch.setattr(engine, "_module", fake)
    monkeypatch.setattr(engine, "_compiled", fake)


@pytest.fixture
def broken_engine(monkeypatch):
    """Make the next import of aihw.core._core fail as a broken build would."""
    monkeypatch.setattr(engine, "_module", None)
    monkeypatch.setattr(engine, "_failure", None)
    monkeypatch.setattr(engine, "_MODULE_NAME", "aihw.core._core_not_built_for_this_test")


def test_import_error_explains(broken_engine):
    with pytest.raises(ImportError) as info:
        engine.load()
    message = str(info.value)
    assert "could not import aihw.core._core" in message
    assert "No module named 'aihw.core._core_not_built_for_this_test'" in message  # what failed
    assert "compiled engine of aihw-core is missing or broken" in message
    assert "pip install --force-reinstall" in message  # how to repair
    assert isinstance(info.value.__cause__, ImportError)
    # The failure is remembered; a second call says the same.
    with pytest.raises(ImportError, match="_core_not_built_for_this_test"):
        engine.load()
    assert engine.native_available() is False
    assert engine.cuda_available() is False


def test_tiles_fall_back_to_reference(broken_engine, step_device):
    tile = AnalogTile(3, 4, step_device, seed=2)
    assert not tile.uses_native()
    tile.update(torch.ones(2, 4), torch.ones(2, 3), 0.1)
    assert tile.last_update_pulses > 0 and tile.update_index == 1
    tile.backend = "native"
    w = tile.weights.clone()
    with pytest.raises(ImportError, match="could not import aihw.core._core"):
        tile.update(torch.ones(2, 4), torch.ones(2, 3), 0.1)
    assert torch.equal(tile.weights, w) and tile.update_index == 1


def test_cuda_available_needs_both(monkeypatch):
    fake = types.SimpleNamespace(cuda_compiled=lambda: True)
    _fake_engine(monkeypatch, fake)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert engine.cuda_available() is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert engine.cuda_available() is True
    fake.cuda_compiled = lambda: False
    assert engine.cuda_available() is False


def test_law_known(monkeypatch):
    fake = types.SimpleNamespace(law_info=lambda law: ("constant_step", 4, 1) if law == 1 else None)
    _fake_engine(monkeypatch, fake)
    assert engine.law_known(1) and not engine.law_known(7)


def test_native_law_missing_from_engine(monkeypatch, step_device):
    """An engine that lacks the law: auto falls back, native says why."""
    tile = AnalogTile(3, 4, step_device, seed=2)
    fake = types.SimpleNamespace(law_info=lambda law: None, cuda_compiled=lambda: False)
    _fake_engine(monkeypatch, fake)
    assert not tile.uses_native()
    tile.backend = "native"
    with pytest.raises(RuntimeError, match="does not know step law 'constant_step'"):
        tile.update(torch.ones(1, 4), torch.ones(1, 3), 0.1)
    assert tile.update_index == 0


def test_native_backend_on_python_only_law(monkeypatch, make_device):
    from aihw.core import laws

    law = laws.StepLaw("py_only", 0, ("w_min", "w_max"), (), lambda w, up, a, s, xi: w, "")
    monkeypatch.setitem(laws.LAWS, "py_only", law)

    class PyOnly(make_device):
        law = "py_only"

    tile = AnalogTile(2, 2, PyOnly(), seed=0)
    tile.backend = "native"
    with pytest.raises(RuntimeError, match="'py_only' exists only in Python"):
        tile.update(torch.ones(1, 2), torch.ones(1, 2), 0.1)


def test_engine_reports(core):
    assert engine.native_available()
    assert isinstance(engine.cuda_available(), bool)
    assert core.hardware_threads() >= 1

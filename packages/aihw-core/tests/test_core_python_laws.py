"""Step laws defined in Python (register_python_law): validation and the reference path."""

from __future__ import annotations

import pytest
import torch

from aihw.core.laws import (
    LAWS,
    PYTHON_ENGINE_ID,
    get_law,
    law_runs_natively,
    register_python_law,
    unregister_python_law,
)
from aihw.core.tiles import AnalogTile


def _python_constant(w, up, arrays, scalars, xi):
    """The constant-step law written as a plugin would write it (unclipped)."""
    step = torch.where(up, arrays["dw_up"], -arrays["dw_down"])
    if xi is not None:
        step = step * (1.0 + torch.tensor(scalars["dw_min_std"], dtype=torch.float32) * xi)
    return w + step


def _soft(w, up, arrays, scalars, xi):
    up_step = arrays["dw_up"] * (1 - w / arrays["w_max"]) * scalars["gain"]
    down_step = arrays["dw_down"] * (1 - w / arrays["w_min"]) * scalars["gain"]
    return w + torch.where(up, up_step, -down_step)


@pytest.fixture
def python_constant():
    law = register_python_law("test_python_constant", _python_constant)
    yield law
    unregister_python_law("test_python_constant")


def test_a_python_law_reads_the_common_arrays_and_scalars_first():
    law = register_python_law("test_soft", _soft, arrays=("extra",), scalars=("gain",))
    try:
        assert get_law("test_soft") is law
        assert law.arrays == ("dw_up", "dw_down", "w_min", "w_max", "extra")
        assert law.scalars == ("dw_min_std", "gain")
        assert law.engine_id == PYTHON_ENGINE_ID and law.is_python
        assert law.python_step is _soft
        assert not law_runs_natively("test_soft")
        # The same function again (a module imported twice) replaces it.
        assert register_python_law("test_soft", _soft, scalars=("gain",)).scalars[-1] == "gain"
    finally:
        unregister_python_law("test_soft")
    assert "test_soft" not in LAWS


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("constant_step", _soft), {}, ValueError, "is a built-in step law"),
        (("not a name", _soft), {}, ValueError, "is invalid"),
        (("test_x", 3), {}, TypeError, "must be callable"),
        (("test_x", _soft), {"arrays": ("w_max",)}, ValueError, "always read first"),
        (("test_x", _soft), {"scalars": ("a", "a")}, ValueError, "distinct identifiers"),
    ],
)
def test_bad_python_laws_are_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        register_python_law(*args, **kwargs)
    assert "test_x" not in LAWS


def test_another_function_under_a_used_name_is_refused(python_constant):
    with pytest.raises(ValueError, match="already defined by .*_python_constant"):
        register_python_law("test_python_constant", _soft)


def test_the_python_law_clips_and_runs_on_the_reference(python_constant, make_device):
    class PyDevice(make_device):
        law = "test_python_constant"

    tile = AnalogTile(6, 5, PyDevice(dw_min=0.05), seed=3)
    assert not tile.uses_native()
    gen = torch.Generator().manual_seed(1)
    for _ in range(30):
        tile.update(torch.randn(8, 5, generator=gen), torch.randn(8, 6, generator=gen), lr=1.0)
    arrays = tile.device_arrays
    assert bool(((tile.weights >= arrays["w_min"]) & (tile.weights <= arrays["w_max"])).all())


@pytest.mark.parametrize("dw_min_std", [0.0, 0.3])
def test_a_python_law_equals_the_built_in_law_it_reimplements(
    python_constant, make_device, dw_min_std
):
    class PyDevice(make_device):
        law = "test_python_constant"

    tiles = [
        AnalogTile(7, 9, cls(dw_min_std=dw_min_std, dw_min=0.01), seed=11)
        for cls in (make_device, PyDevice)
    ]
    tiles[0].backend = "reference"
    gen = torch.Generator().manual_seed(2)
    for _ in range(5):
        x, d = torch.randn(4, 9, generator=gen), torch.randn(4, 7, generator=gen)
        for tile in tiles:
            tile.update(x, d, lr=0.1)
    assert torch.equal(tiles[0].weights, tiles[1].weights)

"""Bad arguments: each error names the parameter, the value and what is allowed, and a
rejected call changes nothing (weights, device arrays, update index, records)."""

from __future__ import annotations

import math

import pytest
import torch

from aihw.core import AnalogTile, FloatingPointTile, UpdateParameters
from aihw.core._checks import (
    check_finite,
    check_floating_tensor,
    check_last_dim,
    check_learning_rate,
    check_positive_int,
    check_seed,
)


# -- the helpers -----------------------------------------------------------------------------
def test_floating_tensor_conversion():
    for dtype in (torch.float16, torch.bfloat16, torch.float64, torch.float32):
        out = check_floating_tensor("x", torch.ones(2, dtype=dtype))
        assert out.dtype == torch.float32
    for dtype in (torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64):
        with pytest.raises(
            TypeError, match=f"x must be a floating-point tensor; got dtype {dtype}"
        ):
            check_floating_tensor("x", torch.zeros(2, dtype=dtype))
    with pytest.raises(TypeError, match="x must be a torch.Tensor; got list"):
        check_floating_tensor("x", [1.0, 2.0])


def test_shape_messages():
    with pytest.raises(ValueError, match=r"x has shape \(3, 5\); expected \(\.\.\., 4\)"):
        check_last_dim("x", torch.zeros(3, 5), 4)
    with pytest.raises(ValueError, match=r"x has shape \(3, 5\); expected \(N, 4\)"):
        check_last_dim("x", torch.zeros(3, 5), 4, matrix=True)
    with pytest.raises(ValueError, match=r"has shape \(\)"):
        check_last_dim("x", torch.tensor(1.0), 1)


def test_finite_and_numbers():
    with pytest.raises(ValueError, match="x contains NaN or Inf; update inputs must be finite"):
        check_finite("x", torch.tensor([1.0, math.nan]))
    check_finite("x", torch.zeros(0))
    assert check_learning_rate(0) == 0.0
    assert check_learning_rate(torch.tensor(0.5)) == 0.5
    with pytest.raises(ValueError, match=r"lr=-0.1 must be >= 0"):
        check_learning_rate(-0.1)
    with pytest.raises(ValueError, match=r"lr=inf must be a finite number >= 0"):
        check_learning_rate(math.inf)
    with pytest.raises(TypeError, match=r"lr='0.1' must be a number >= 0; got str"):
        check_learning_rate("0.1")
    with pytest.raises(TypeError, match="lr=True"):
        check_learning_rate(True)
    assert check_seed(2**64 - 1) == 2**64 - 1
    with pytest.raises(
        ValueError, match=r"seed=-1 is out of range; allowed: an integer in \[0, 2\*\*64\)"
    ):
        check_seed(-1)
    assert check_positive_int("out_size", 3) == 3
    with pytest.raises(ValueError, match="out_size=0 must be a positive integer"):
        check_positive_int("out_size", 0)
    with pytest.raises(TypeError, match="in_size=True must be a positive integer"):
        check_positive_int("in_size", True)


# -- rejected tile calls change nothing ------------------------------------------------------
def _snapshot(tile):
    arrays = getattr(tile, "device_arrays", {})
    return (
        tile.weights.clone(),
        {k: v.clone() for k, v in arrays.items()},
        tile.update_index,
        tile.num_recorded,
        tile.learning_rate,
    )


def _assert_unchanged(tile, snap):
    weights, arrays, index, recorded, lr = snap
    assert torch.equal(tile.weights, weights)
    for k, v in arrays.items():
        assert torch.equal(tile.device_arrays[k], v)
    assert tile.update_index == index
    assert tile.num_recorded == recorded
    assert tile.learning_rate == lr


@pytest.fixture(params=["analog", "analog_none", "floating_point"])
def tile(request, step_device):
    if request.param == "floating_point":
        tile = FloatingPointTile(3, 4, bias=True, seed=1)
    else:
        pulse = "None" if request.param == "analog_none" else "StochasticCompressed"
        tile = AnalogTile(
            3, 4, step_device, bias=True, seed=1, update=UpdateParameters(pulse_type=pulse)
        )
        tile.update(torch.randn(5, 4), torch.randn(5, 3), 0.1)  # some nonzero weights
    tile.record_update_inputs(torch.ones(2, 4), torch.ones(2, 3))
    return tile


X, D = torch.randn(6, 4), torch.randn(6, 3)
BAD_UPDATES = [
    ((torch.zeros(6, 5), D, 0.1), ValueError, r"x has shape \(6, 5\); expected \(\.\.\., 4\)"),
    ((X, torch.zeros(6, 2), 0.1), ValueError, r"d has shape \(6, 2\); expected \(\.\.\., 3\)"),
    ((X[:5], D, 0.1), ValueError, "x has 5 rows but d has 6"),
    ((X.long(), D, 0.1), TypeError, "x must be a floating-point tensor; got dtype torch.int64"),
    ((X, D.to(torch.complex64), 0.1), TypeError, "d must be a floating-point tensor"),
    ((X, D > 0, 0.1), TypeError, "got dtype torch.bool"),
    ((X.numpy(), D, 0.1), TypeError, "x must be a torch.Tensor; got ndarray"),
    (
        (torch.full((6, 4), math.nan), D, 0.1),
        ValueError,
        "x contains NaN or Inf; update inputs must be finite",
    ),
    ((X, torch.full((6, 3), math.inf), 0.1), ValueError, "d contains NaN or Inf"),
    ((X, D, -0.1), ValueError, r"lr=-0.1 must be >= 0"),
    ((X, D, math.nan), ValueError, "lr=nan must be a finite number"),
    ((X, D, "fast"), TypeError, "lr='fast'"),
]


@pytest.mark.parametrize(("args", "error", "match"), BAD_UPDATES)
def test_bad_update_changes_nothing(tile, args, error, match):
    snap = _snapshot(tile)
    with pytest.raises(error, match=match):
        tile.update(*args)
    _assert_unchanged(tile, snap)


@pytest.mark.parametrize(("args", "error", "match"), BAD_UPDATES[:9])
def test_bad_record_changes_nothing(tile, args, error, match):
    snap = _snapshot(tile)
    with pytest.raises(error, match=match):
        tile.record_update_inputs(*args[:2])
    _assert_unchanged(tile, snap)


def test_bad_forward_backward(tile):
    with pytest.raises(ValueError, match=r"x has shape \(2, 3\); expected \(\.\.\., 4\)"):
        tile.forward(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="x must be a floating-point tensor; got dtype torch.int32"):
        tile.forward(torch.zeros(2, 4, dtype=torch.int32))
    with pytest.raises(ValueError, match=r"d has shape \(2, 4\); expected \(\.\.\., 3\)"):
        tile.backward(torch.zeros(2, 4))


def test_bad_set_weights_changes_nothing(tile):
    snap = _snapshot(tile)
    with pytest.raises(ValueError, match=r"weights has shape \(4, 3\); expected \(3, 4\)"):
        tile.set_weights(torch.zeros(4, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="weights contains NaN or Inf; weights must be finite"):
        tile.set_weights(torch.full((3, 4), math.nan), torch.zeros(3))
    with pytest.raises(ValueError, match="bias contains NaN or Inf"):
        tile.set_weights(torch.zeros(3, 4), torch.full((3,), math.inf))
    with pytest.raises(TypeError, match="weights must be a floating-point tensor"):
        tile.set_weights(torch.zeros(3, 4, dtype=torch.int64), torch.zeros(3))
    _assert_unchanged(tile, snap)


def test_bad_learning_rate_changes_nothing(tile):
    snap = _snapshot(tile)
    with pytest.raises(ValueError, match=r"lr=-1.0 must be >= 0"):
        tile.set_learning_rate(-1.0)
    with pytest.raises(ValueError, match=r"lr=-1.0 must be >= 0"):
        tile.apply_recorded_update(-1.0)
    _assert_unchanged(tile, snap)


def test_invalid_update_parameters_change_nothing(step_device):
    tile = AnalogTile(3, 4, step_device, seed=1)
    tile.update_parameters.desired_bl = 0
    snap = _snapshot(tile)
    with pytest.raises(ValueError, match="desired_bl=0 is out of range"):
        tile.update(X, D, 0.1)
    _assert_unchanged(tile, snap)


def test_too_long_variable_pulse_train(step_device):
    up = UpdateParameters(fixed_bl=False, update_bl_management=False, update_management=False)
    tile = AnalogTile(3, 4, step_device, seed=1, update=up)
    snap = _snapshot(tile)
    with pytest.raises(ValueError, match=r"lr=5000.0 needs pulse trains of .* slots"):
        tile.update(X, D, 5000.0)
    _assert_unchanged(tile, snap)


def test_empty_batch_is_accepted(tile):
    w = tile.weights.clone()
    tile.update(torch.zeros(0, 4), torch.zeros(0, 3), 0.1)
    assert torch.equal(tile.weights, w)


def test_inputs_on_another_device(tile):
    with pytest.raises(ValueError, match="x is on meta but the tile is on cpu"):
        tile.forward(torch.zeros(2, 4, device="meta"))
    snap = _snapshot(tile)
    with pytest.raises(ValueError, match="d is on meta but the tile is on cpu"):
        tile.update(torch.zeros(2, 4), torch.zeros(2, 3, device="meta"), 0.1)
    _assert_unchanged(tile, snap)


def test_numpy_scalars_are_numbers():
    import numpy as np

    assert check_learning_rate(np.float32(0.25)) == 0.25
    assert check_seed(np.uint64(2**63)) == 2**63
    assert check_positive_int("out_size", np.int64(3)) == 3


def test_replaced_weights_are_refused_by_the_engine(core, step_device):
    tile = AnalogTile(3, 4, step_device, seed=1)
    tile.weights = torch.zeros(4, 3).T  # right shape, column-major
    with pytest.raises(
        ValueError, match=r"tile.weights must be a contiguous float32 tensor .* \(not contiguous\)"
    ):
        tile.update(X, D, 0.1)
    assert tile.update_index == 0

"""``AnalogMatrix``: a tile as a linear operator (products, transposed products and
rank-one updates through the tile's periphery and update)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aihw.core import IOParameters, RPUDataType
from aihw.core.tiles import AnalogTile, InferenceTile, create_tile
from aihw.devices import FloatingPointRPUConfig, InferenceRPUConfig, SingleRPUConfig
from aihw.nn import AnalogMatrix
from aihw.nn.matrix import AnalogMatrix as AnalogMatrixFromModule


@pytest.fixture
def weights() -> torch.Tensor:
    return torch.randn(3, 5, generator=torch.Generator().manual_seed(0)) * 0.2


def test_exact_products_are_the_matrix_products(weights):
    A = AnalogMatrixFromModule(weights, FloatingPointRPUConfig())
    assert A.shape == (3, 5) and A.T.shape == (5, 3)
    g = torch.Generator().manual_seed(1)
    x, X = torch.randn(5, generator=g), torch.randn(5, 4, generator=g)
    y, Y = torch.randn(3, generator=g), torch.randn(2, 3, generator=g)
    close = torch.testing.assert_close
    close(A @ x, weights @ x)
    close(A @ X, weights @ X)
    close(y @ A, y @ weights)
    close(Y @ A, Y @ weights)
    close(A.T @ y, weights.T @ y)
    close(A.T @ Y.T, weights.T @ Y.T)
    close(X.T @ A.T, X.T @ weights.T)
    close(A.matvec(x), weights @ x)
    close(A.rmatvec(y), weights.T @ y)
    result = A @ x.numpy()
    assert isinstance(result, np.ndarray)
    np.testing.assert_allclose(result, (weights @ x).numpy(), rtol=1e-6)


def test_products_run_through_the_periphery(weights):
    config = InferenceRPUConfig()
    A = AnalogMatrix(weights, config, seed=7)
    assert isinstance(A.tile, InferenceTile)
    twin = create_tile(config, 3, 5, seed=7)
    twin.set_weights(weights)
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(2))
    assert torch.equal(A @ x.T, twin.forward(x).T)  # the same noisy forward pass
    assert torch.equal(x[:, :3] @ A, twin.backward(x[:, :3]))  # exact backward
    assert not torch.equal(A @ x.T, weights @ x.T)  # output noise


def test_ger_is_a_rank_one_update(weights):
    A = AnalogMatrix(weights, FloatingPointRPUConfig())
    x, d = torch.randn(5), torch.randn(3)
    A.ger(x, d, alpha=0.5)
    torch.testing.assert_close(A.get_weights(), weights + 0.5 * torch.outer(d, x))
    A.ger(x, d, alpha=-0.5)
    torch.testing.assert_close(A.get_weights(), weights, atol=1e-6, rtol=0)
    X, D = torch.randn(4, 5), torch.randn(4, 3)
    A.ger(X, D)
    torch.testing.assert_close(A.get_weights(), weights + D.T @ X, atol=1e-5, rtol=0)


def test_ger_on_a_pulsed_device_sends_pulses(weights):
    A = AnalogMatrix(weights, SingleRPUConfig(), seed=1)
    assert isinstance(A.tile, AnalogTile)
    start = A.get_weights()
    x, d = torch.ones(5), torch.tensor([1.0, -1.0, 0.0])
    A.ger(x, d, alpha=0.05)
    change = A.get_weights() - start
    assert A.tile.last_update_pulses > 0
    assert (change[0] > 0).all() and (change[1] < 0).all() and (change[2] == 0).all()


def test_runtime_precision_rounds_the_operands(weights):
    config = FloatingPointRPUConfig()
    config.runtime.data_type = RPUDataType.BFLOAT16
    A = AnalogMatrix(weights, config)
    x = torch.randn(5)
    assert A.dtype is torch.bfloat16
    y = A @ x
    assert y.dtype is torch.bfloat16
    torch.testing.assert_close(y.float(), weights @ x.to(torch.bfloat16).float(), atol=2e-2, rtol=0)


def test_what_one_tile_cannot_honour_is_refused(weights):
    small = InferenceRPUConfig()
    small.mapping.max_input_size = 4
    with pytest.raises(ValueError) as info:
        AnalogMatrix(weights, small)
    assert str(info.value) == (
        "AnalogMatrix holds one tile: a 3 x 5 matrix exceeds rpu_config.mapping's tile size "
        "512 x 4 (outputs x inputs); set max_input_size and max_output_size to 0 (no limit) "
        "or large enough"
    )
    scaled = InferenceRPUConfig()
    scaled.mapping.weight_scaling_omega = 1.0
    with pytest.raises(ValueError, match="weight_scaling_omega = 1.0 is not supported"):
        AnalogMatrix(weights, scaled)
    with pytest.raises(ValueError, match="realistic=True"):
        AnalogMatrix(weights, InferenceRPUConfig(), True)
    with pytest.raises(TypeError, match="rpu_config must be a TileConfig"):
        AnalogMatrix(weights, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2-D floating-point"):
        AnalogMatrix(torch.ones(3), InferenceRPUConfig(forward=IOParameters(out_noise=0.0)))
    with pytest.raises(TypeError, match="x must be a torch.Tensor or a NumPy array"):
        AnalogMatrix(weights, FloatingPointRPUConfig()) @ [1.0] * 5

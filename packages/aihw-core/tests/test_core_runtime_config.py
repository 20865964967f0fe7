"""The reference toolkit's spellings in aihw-core: ``MappingParameter``, the ``mapping``
and ``runtime`` fields of every configuration, ``RPUDataType``, and ``tile.tile``."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import aihw.core
import aihw.core.mapping
from aihw.core import TileConfig
from aihw.core.mapping import MappingParameter, MappingParameters
from aihw.core.runtime import RPUDataType, RuntimeParameter, RuntimeParameters
from aihw.core.tiles import create_tile


def test_mapping_parameter_is_the_same_class():
    assert MappingParameter is MappingParameters
    assert aihw.core.mapping.MappingParameter is MappingParameters
    assert MappingParameter(max_input_size=3) == MappingParameters(max_input_size=3)


def test_every_configuration_has_a_mapping_and_a_runtime():
    config = TileConfig()
    assert config.mapping == MappingParameters()
    assert config.runtime == RuntimeParameters()
    assert config.runtime.data_type is RPUDataType.FLOAT
    config.mapping.max_input_size = 256  # how the reference toolkit's scripts set it
    assert TileConfig().mapping.max_input_size == 512  # no shared default


def test_configuration_fields_are_checked():
    with pytest.raises(TypeError, match=r"TileConfig\.mapping must be MappingParameters; got dict"):
        TileConfig(mapping={"max_input_size": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"TileConfig\.runtime must be RuntimeParameters"):
        TileConfig(runtime=RPUDataType.HALF)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data_type", "dtype"),
    [
        (RPUDataType.FLOAT, torch.float32),
        (RPUDataType.HALF, torch.float16),
        (RPUDataType.BFLOAT16, torch.bfloat16),
    ],
)
def test_rpu_data_type_as_torch(data_type, dtype):
    assert data_type.as_torch() is dtype
    runtime = RuntimeParameter(data_type=data_type)
    assert runtime.boundary_dtype == (None if data_type is RPUDataType.FLOAT else dtype)


def test_double_precision_is_refused_with_the_reason():
    with pytest.raises(ValueError) as info:
        RuntimeParameters(data_type=RPUDataType.DOUBLE)
    assert str(info.value) == (
        "RuntimeParameters.data_type=RPUDataType.DOUBLE cannot be honoured: aihw's tiles "
        "store and compute in float32; allowed: RPUDataType.FLOAT, RPUDataType.HALF, "
        "RPUDataType.BFLOAT16"
    )
    with pytest.raises(TypeError, match="must be an RPUDataType"):
        RuntimeParameters(data_type=torch.float16)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend='torch' is not allowed"):
        RuntimeParameters(backend="torch")


def test_a_mutated_runtime_is_validated_when_a_tile_is_built():
    config = TileConfig(forward=aihw.core.IOParameters(out_noise=0.0))
    config.runtime.data_type = RPUDataType.DOUBLE
    with pytest.raises(ValueError, match="RPUDataType.DOUBLE cannot be honoured"):
        create_tile(config, 2, 3)


@pytest.mark.parametrize("backend", ["auto", "native", "reference"])
def test_tiles_start_with_the_runtime_backend(backend, step_device):
    pulsed = dataclasses.replace(
        TileConfig(device=step_device), runtime=RuntimeParameters(backend=backend)
    )
    inference = TileConfig(runtime=RuntimeParameters(backend=backend))
    exact = TileConfig(
        forward=aihw.core.IOParameters(is_perfect=True),
        backward=aihw.core.IOParameters(is_perfect=True),
        runtime=RuntimeParameters(backend=backend),
    )
    for config in (pulsed, inference, exact):
        assert create_tile(config, 2, 3, seed=0).backend == backend


def test_a_tile_is_its_own_tile_attribute():
    """The reference toolkit's tile modules hold their simulator tile in ``.tile``."""
    tile = create_tile(None, 2, 3, seed=0)
    assert tile.tile is tile
    assert torch.equal(tile.tile.get_weights()[0], tile.get_weights()[0])


def test_a_tile_grid_takes_the_mapping_of_its_configuration():
    from aihw.core.grid import TileGrid

    config = TileConfig(mapping=MappingParameters(max_input_size=4, weight_scaling_omega=1.0))
    grid = TileGrid((3, 10), rpu_config=config, seed=0)
    assert grid.shape == (1, 1, 3) and grid.scales is not None
    given = TileGrid((3, 10), rpu_config=config, mapping=MappingParameters(), seed=0)
    assert given.shape == (1, 1, 1) and given.scales is None


def test_a_configuration_pickled_before_the_new_fields_loads_with_their_defaults():
    import copyreg

    config = TileConfig()
    old_state = {k: v for k, v in vars(config).items() if k not in ("mapping", "runtime")}
    restored = copyreg.__newobj__(TileConfig)  # what unpickling does, then __setstate__
    restored.__setstate__(old_state)
    assert restored.mapping == MappingParameters() and restored.runtime == RuntimeParameters()
    assert restored == config

"""TileGrid: the layout, the shared storage, weights, products, its state, and links."""

from __future__ import annotations

import pytest
import torch

from aihw.core.grid import SEED_STEP, TileGrid
from aihw.core.grid_state import LayerStateError, check_grid_state, grid_state, load_grid_state
from aihw.core.links import (
    apply_recorded_updates,
    clear_recorded_updates,
    link_parameter,
    shares_storage,
    tiles_of,
)
from aihw.core.mapping import MappingParameters


def _grid(**kwargs) -> TileGrid:
    mapping = MappingParameters(max_input_size=4, max_output_size=2)
    return TileGrid((5, 7), mapping=mapping, seed=3, **kwargs)


def test_layout_seeds_and_shared_storage() -> None:
    grid = _grid()
    assert grid.shape == (1, 3, 2) and len(grid.tiles) == 6
    assert grid.in_size == 7 and grid.out_size == 5
    assert [t.seed for t in grid.tiles] == [(3 + k * SEED_STEP) % 2**64 for k in range(6)]
    assert [grid.position(i) for i in (0, 1, 2)] == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]
    views = grid.weight_views()
    assert [tuple(v.shape) for v in views] == [(5, 4), (5, 3)]
    for c, view in enumerate(views):
        assert all(shares_storage(view, tile) for tile in grid.column_tiles(c))


def test_weights_round_trip_and_products_equal_the_matrix() -> None:
    grid = _grid()
    weight = torch.randn(5, 7)
    grid.set_weights(weight)
    assert torch.equal(grid.get_weights()[0], weight)
    x = torch.randn(3, 7)
    torch.testing.assert_close(grid.matmul(x), x @ weight.T)
    with pytest.raises(ValueError, match=r"TileGrid.set_weights: weight has shape \(7, 5\)"):
        grid.set_weights(torch.zeros(7, 5))


def test_state_round_trip_replaces_the_tiles_and_keeps_the_storage() -> None:
    source, target = _grid(), _grid()
    source.set_weights(torch.randn(5, 7))
    views, old = target.weight_views(), list(target.tiles)
    load_grid_state(target, grid_state(source))
    assert all(a is not b for a, b in zip(old, target.tiles, strict=True))
    assert torch.equal(views[0], source.weight_views()[0])  # written into the old storage
    assert torch.equal(target.get_weights()[0], source.get_weights()[0])
    with pytest.raises(LayerStateError, match="TileGrid: the checkpoint's tile layout"):
        check_grid_state(TileGrid((5, 7)), grid_state(source))
    with pytest.raises(ValueError, match=r"tiles has 1 tiles; allowed: exactly \d+"):
        target.replace_tiles(target.tiles[:1])


def test_links_find_apply_and_clear_the_recorded_updates() -> None:
    grid = _grid()
    param = torch.nn.Parameter(grid.weight_views()[1])
    assert tiles_of(param) == []
    link_parameter(param, grid.column_tiles(1))
    tiles = tiles_of(param)
    assert tiles == grid.column_tiles(1) and param.analog_tile is tiles[0]
    for tile in tiles:
        tile.record_update_inputs(torch.ones(1, 3), torch.ones(1, tile.out_size))
    before = param.detach().clone()
    apply_recorded_updates(tiles, 0.5)
    torch.testing.assert_close(param.detach(), before - 0.5)
    tiles[0].record_update_inputs(torch.ones(1, 3), torch.ones(1, 2))
    clear_recorded_updates(tiles)
    assert tiles[0].num_recorded == 0
    with pytest.raises(ValueError, match="tiles is empty; allowed: at least one tile"):
        link_parameter(param, [])


def test_lr_compensation_without_update_management_is_refused(step_device) -> None:
    from aihw.core.parameters import UpdateParameters

    mapping = MappingParameters(weight_scaling_omega=0.6, weight_scaling_lr_compensation=True)
    state = torch.random.get_rng_state()
    with pytest.raises(ValueError, match="weight_scaling_lr_compensation=True is not simulated"):
        TileGrid(
            (4, 3),
            mapping=mapping,
            resistive_device=step_device,
            update=UpdateParameters(update_management=False),
        )
    # Refused before any tile drew its seed from torch's generator.
    assert torch.equal(torch.random.get_rng_state(), state)
    # With update management (the default) the compensation is folded away: accepted.
    grid = TileGrid((4, 3), mapping=mapping, resistive_device=step_device, seed=1)
    assert len(grid.tiles) == 1
    # A floating-point grid has no pulses to change.
    TileGrid((4, 3), mapping=mapping, update=None, seed=1)

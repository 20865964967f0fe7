"""Optimizers keep training the live tiles after a checkpoint load replaced them."""

from __future__ import annotations

import torch
from torch import nn

from aihw.core.links import tiles_of
from aihw.core.tiles import AnalogTile, FloatingPointTile
from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear, adopt_checkpoint_devices
from aihw.optim import AnalogSGD


def _step(model: nn.Module, optimizer: AnalogSGD, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    optimizer.zero_grad()
    model(torch.rand(4, 6, generator=generator)).square().mean().backward()
    optimizer.step()


def test_a_load_that_changes_the_tile_class_keeps_the_optimizer_working() -> None:
    layer = AnalogLinear(6, 3, max_input_size=4, seed=1)  # floating point, 1 x 2 tiles
    optimizer = AnalogSGD(layer.parameters(), lr=0.1, momentum=0.5)
    optimizer.regroup_param_groups(layer)
    _step(layer, optimizer, seed=0)
    pulsed = AnalogLinear(6, 3, resistive_device=ConstantStepResistiveDevice(), max_input_size=4,
                          seed=2)  # fmt: skip
    params = list(layer.parameters())
    old_tiles = list(layer.analog_tiles())
    with adopt_checkpoint_devices():  # another device is adopted only when asked
        layer.load_state_dict(pulsed.state_dict())
    # New tile objects of the checkpoint's class; the parameters are the same objects,
    # linked to the new tiles; the old tiles kept their class.
    assert all(isinstance(t, AnalogTile) for t in layer.analog_tiles())
    assert all(type(t) is FloatingPointTile for t in old_tiles)
    assert list(layer.parameters()) == params
    assert [t for p in params for t in tiles_of(p)] == list(layer.analog_tiles())
    _step(layer, optimizer, seed=1)
    _step(pulsed, AnalogSGD(pulsed.parameters(), lr=0.1), seed=1)
    assert [t.update_index for t in layer.analog_tiles()] == [1, 1]
    assert torch.equal(layer.get_weights()[0], pulsed.get_weights()[0])
    analog = [g for g in optimizer.param_groups if g.get("analog_tile") is not None]
    assert [g["analog_tile"] for g in analog] == [layer.analog_tile, layer.grid.tiles[1]]

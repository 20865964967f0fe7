"""AnalogSGD: exactly torch.optim.SGD on digital parameters; tiles update in place."""

from __future__ import annotations

import copy
import io

import pytest
import torch
from torch import nn

from aihw.optim import AnalogSGD
from aihw.optim.analog_sgd import AnalogSGD as DeepAnalogSGD

SGD_OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.3},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "nesterov": True},
    {"lr": 0.1, "maximize": True, "momentum": 0.2},
    {"lr": 0.1, "momentum": 0.9, "foreach": True},
    {"lr": 0.1, "momentum": 0.9, "foreach": False},
    {"lr": torch.tensor(0.1), "momentum": 0.9, "foreach": False},
]


def _digital_model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int = 5) -> None:
    torch.manual_seed(0)
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.randn(8, 3)).pow(2).mean().backward()
        optimizer.step()


def test_deep_import_path_is_the_same_class():
    assert DeepAnalogSGD is AnalogSGD
    assert issubclass(AnalogSGD, torch.optim.SGD)


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_digital_parameters_are_bit_identical_to_torch_sgd(options):
    model = _digital_model()
    reference = copy.deepcopy(model)
    _train(model, AnalogSGD(model.parameters(), **options))
    _train(reference, torch.optim.SGD(reference.parameters(), **options))
    for p, p_ref in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, p_ref)


@pytest.mark.parametrize("regroup", [True, False])
def test_digital_parameters_next_to_an_analog_weight_are_bit_identical(regroup, make_tile_weight):
    options = {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01, "nesterov": True}
    model = _digital_model()
    reference = copy.deepcopy(model)
    analog = make_tile_weight()
    optimizer = AnalogSGD([*model.parameters(), analog.weight], **options)
    if regroup:
        optimizer.regroup_param_groups()
    _train(model, optimizer)
    _train(reference, torch.optim.SGD(reference.parameters(), **options))
    for p, p_ref in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, p_ref)
    # No SGD state was created for the analog weight.
    assert analog.weight not in optimizer.state


@pytest.mark.parametrize("regroup", [True, False])
def test_analog_update_is_applied_once_per_step_with_the_group_lr(tile_weight, regroup):
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1, momentum=0.9, weight_decay=0.5)
    if regroup:
        optimizer.regroup_param_groups(tile_weight)
    tile = tile_weight.analog_tile
    x1, d1 = torch.randn(4, 3), torch.randn(4, 2)
    x2, d2 = torch.randn(2, 3), torch.randn(2, 2)
    tile_weight.record(x1, d1)
    tile_weight.record(x2, d2)
    before = tile_weight.weight.detach().clone()
    optimizer.step()
    assert tile.update_index == 1
    # Plain SGD on the tile: no momentum, no weight decay.
    expected = before - 0.1 * (d1.T @ x1 + d2.T @ x2)
    torch.testing.assert_close(tile_weight.weight.detach(), expected)
    optimizer.step()  # nothing recorded since: no update
    assert tile.update_index == 1
    torch.testing.assert_close(tile_weight.weight.detach(), expected)


def test_regroup_puts_each_analog_weight_in_its_own_group(make_tile_weight):
    first, second = make_tile_weight(), make_tile_weight(3, 2)
    model = nn.ModuleList([first, second])
    optimizer = AnalogSGD(model.parameters(), lr=0.1, momentum=0.5)
    optimizer.regroup_param_groups(model)
    groups = optimizer.param_groups
    assert [len(g["params"]) for g in groups] == [2, 1, 1]
    assert groups[0]["params"] == [first.bias, second.bias]
    assert "analog_tile" not in groups[0]
    assert groups[1]["params"][0] is first.weight and groups[1]["analog_tile"] is first.analog_tile
    assert (
        groups[2]["params"][0] is second.weight and groups[2]["analog_tile"] is second.analog_tile
    )
    assert all(g["lr"] == 0.1 and g["momentum"] == 0.5 for g in groups)
    snapshot = [dict(g) for g in groups]
    optimizer.regroup_param_groups(model)  # idempotent
    assert [dict(g) for g in optimizer.param_groups] == snapshot


def test_regroup_keeps_the_lr_of_the_group_a_weight_came_from(make_tile_weight):
    layer = make_tile_weight()
    optimizer = AnalogSGD([{"params": [layer.weight], "lr": 0.5}, {"params": [layer.bias]}], lr=0.1)
    optimizer.regroup_param_groups()
    assert [g.get("analog_tile") is layer.analog_tile for g in optimizer.param_groups] == [
        True,
        False,
    ]
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_regroup_with_a_model_finds_untagged_weights_by_shared_storage(make_tile_weight):
    layer = make_tile_weight(tag=False)
    optimizer = AnalogSGD(layer.parameters(), lr=0.1)
    optimizer.regroup_param_groups(layer)
    analog = [g for g in optimizer.param_groups if "analog_tile" in g]
    assert len(analog) == 1 and analog[0]["params"] == [layer.weight]
    layer.record(torch.ones(1, 3), torch.ones(1, 2))
    before = layer.weight.detach().clone()
    optimizer.step()
    torch.testing.assert_close(layer.weight.detach(), before - 0.1)


def test_regroup_rejects_a_non_module(make_tile_weight):
    optimizer = AnalogSGD(make_tile_weight().parameters(), lr=0.1)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        optimizer.regroup_param_groups([1, 2])


def test_regroup_keeps_momentum_state(tile_weight):
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1, momentum=0.9)
    tile_weight.bias.grad = torch.ones(2)
    optimizer.step()
    buffer = optimizer.state[tile_weight.bias]["momentum_buffer"]
    optimizer.regroup_param_groups(tile_weight)
    assert optimizer.state[tile_weight.bias]["momentum_buffer"] is buffer


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": -0.5}, ValueError, r"lr.*-0\.5"),
        ({"lr": float("nan")}, ValueError, "lr must be a finite number"),
        ({"lr": "0.1"}, TypeError, "lr must be a number"),
        ({"lr": torch.tensor([0.1, 0.2])}, ValueError, "lr must be a number or a 1-element tensor"),
        ({"momentum": -0.1}, ValueError, r"momentum.*-0\.1"),
        ({"weight_decay": -1e-4}, ValueError, "weight_decay"),
        ({"dampening": None}, TypeError, "dampening"),
        ({"nesterov": True}, ValueError, r"Nesterov momentum requires a momentum.*momentum=0"),
        (
            {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
            ValueError,
            r"zero dampening.*dampening=0\.1",
        ),
        ({"nesterov": 1}, TypeError, "nesterov must be True or False"),
        ({"maximize": "no"}, TypeError, "maximize must be True or False"),
    ],
)
def test_invalid_hyperparameters_name_them(kwargs, error, match, make_tile_weight):
    with pytest.raises(error, match=match):
        AnalogSGD(make_tile_weight().parameters(), **{"lr": 0.1, **kwargs})


def test_maximize_is_rejected_for_analog_weights_and_changes_nothing(tile_weight):
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1, maximize=True)
    tile_weight.record(torch.ones(1, 3), torch.ones(1, 2))
    tile_weight.bias.grad = torch.ones(2)
    before = [p.detach().clone() for p in tile_weight.parameters()]
    with pytest.raises(ValueError, match="maximize=True.*not supported for analog weights"):
        optimizer.step()
    for p, b in zip(tile_weight.parameters(), before, strict=True):
        assert torch.equal(p, b)


def test_step_hooks_run_once_per_step(tile_weight):
    torch.optim.SGD([nn.Parameter(torch.zeros(1))])  # hooks torch's SGD.step too
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1)
    calls = []
    optimizer.register_step_pre_hook(lambda *args: calls.append("pre"))
    optimizer.register_step_post_hook(lambda *args: calls.append("post"))
    optimizer.step()
    assert calls == ["pre", "post"]


def test_closure_is_evaluated_with_grad_and_its_loss_returned(tile_weight):
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = tile_weight.bias.pow(2).sum() + 1
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 1.0


def test_state_dict_holds_no_tile_and_loading_keeps_the_live_tiles(tile_weight):
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1, momentum=0.9)
    optimizer.regroup_param_groups(tile_weight)
    tile_weight.bias.grad = torch.ones(2)
    optimizer.step()
    state = optimizer.state_dict()
    assert all(g.get("analog_tile", None) is None for g in state["param_groups"])
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    fresh = AnalogSGD(tile_weight.parameters(), lr=0.1, momentum=0.9)
    fresh.regroup_param_groups(tile_weight)
    fresh.load_state_dict(torch.load(buffer))
    assert fresh.param_groups[1]["analog_tile"] is tile_weight.analog_tile
    assert torch.equal(fresh.state[tile_weight.bias]["momentum_buffer"], torch.ones(2))
    # The live tile is still the one updated.
    tile_weight.record(torch.ones(1, 3), torch.ones(1, 2))
    fresh.step()
    assert tile_weight.analog_tile.update_index == 1


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_discards_recorded_updates(tile_weight, set_to_none):
    optimizer = AnalogSGD(tile_weight.parameters(), lr=0.1)
    tile_weight.bias.grad = torch.ones(2)
    tile_weight.record(torch.ones(3, 3), torch.ones(3, 2))
    optimizer.zero_grad(set_to_none=set_to_none)
    assert tile_weight.analog_tile.num_recorded == 0
    assert (tile_weight.bias.grad is None) if set_to_none else not tile_weight.bias.grad.any()
    before = tile_weight.weight.detach().clone()
    optimizer.step()
    assert torch.equal(tile_weight.weight, before)


@pytest.mark.parametrize("regroup", [False, True])
def test_a_parameter_linked_to_several_tiles_updates_all_of_them(regroup: bool) -> None:
    from aihw.core.tiles import FloatingPointTile

    tiles = [FloatingPointTile(2, 3, seed=1), FloatingPointTile(2, 3, seed=2)]
    master = torch.cat([t.weights for t in tiles])
    for i, tile in enumerate(tiles):
        tile.weights = master[2 * i : 2 * i + 2]
    weight = nn.Parameter(master)
    weight.analog_tiles = tiles
    weight.analog_tile = tiles[0]
    optimizer = AnalogSGD([weight], lr=0.5)
    if regroup:
        optimizer.regroup_param_groups()
    before = master.clone()
    for tile in tiles:
        tile.record_update_inputs(torch.ones(1, 3), torch.ones(1, 2))
    optimizer.step()
    assert [t.update_index for t in tiles] == [1, 1]
    torch.testing.assert_close(master, before - 0.5)
    for tile in tiles:
        tile.record_update_inputs(torch.ones(1, 3), torch.ones(1, 2))
    optimizer.zero_grad()
    assert [t.num_recorded for t in tiles] == [0, 0]

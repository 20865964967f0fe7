"""AnalogOptimizer: any torch optimizer for digital parameters, pulsed updates for tiles;
LR schedulers change the analog learning rate too (of AnalogSGD as well)."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch import nn

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear, AnalogSequential
from aihw.optim import AnalogOptimizer, AnalogSGD


def _model(pulsed: bool = False) -> nn.Module:
    torch.manual_seed(0)
    device = ConstantStepResistiveDevice if pulsed else (lambda: None)
    return AnalogSequential(
        AnalogLinear(6, 5, resistive_device=device()),
        nn.ReLU(),
        nn.Linear(5, 4),  # a digital layer beside the analog ones
        nn.Tanh(),
        AnalogLinear(4, 3, resistive_device=device()),
    )


def _split(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(analog weights, digital parameters)."""
    analog = [p for p in model.parameters() if getattr(p, "analog_tiles", None)]
    digital = [p for p in model.parameters() if not getattr(p, "analog_tiles", None)]
    return analog, digital


def _batches(steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(7)
    return [
        (torch.randn(8, 6, generator=gen), torch.randn(8, 3, generator=gen)) for _ in range(steps)
    ]


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (model(x) - y).pow(2).mean()


def _state(model: nn.Module) -> list[torch.Tensor]:
    tiles = [t.weights.clone() for t in model.analog_tiles()]
    return tiles + [p.detach().clone() for p in _split(model)[1]]


def _assert_same(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("pulsed", [False, True], ids=["floating-point", "constant-step"])
@pytest.mark.parametrize(
    ("optimizer_cls", "options"),
    [
        (torch.optim.Adam, {"lr": 0.01}),
        (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
        (torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.5}),
        (torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_digital_parameters_get_the_torch_optimizer_and_tiles_their_pulsed_update(
    optimizer_cls, options, pulsed
):
    """Bit for bit: the tiles as AnalogSGD with the analog group's lr, the rest as the
    torch optimizer alone."""
    model = _model(pulsed)
    twin = copy.deepcopy(model)
    analog, digital = _split(model)
    optimizer = AnalogOptimizer(
        optimizer_cls, [{"params": analog, "lr": 0.1}, {"params": digital}], **options
    )
    assert isinstance(optimizer, optimizer_cls) and isinstance(optimizer, AnalogOptimizer)
    assert type(optimizer).__name__ == f"Analog{optimizer_cls.__name__}"
    twin_analog, twin_digital = _split(twin)
    reference_analog = AnalogSGD(twin_analog, lr=0.1)
    reference_digital = optimizer_cls(twin_digital, **options)
    for x, y in _batches(4):
        optimizer.zero_grad()
        _loss(model, x, y).backward()
        optimizer.step()
        reference_analog.zero_grad()
        reference_digital.zero_grad()
        _loss(twin, x, y).backward()
        reference_analog.step()
        reference_digital.step()
    _assert_same(_state(model), _state(twin))
    assert not torch.equal(_state(model)[0], _state(_model(pulsed))[0])  # it trained


def _optimizer(kind: str, model: nn.Module) -> torch.optim.Optimizer:
    if kind == "AnalogSGD":
        return AnalogSGD(model.parameters(), lr=0.2)
    return AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=0.2)


@pytest.mark.parametrize("kind", ["AnalogOptimizer", "AnalogSGD"])
def test_lr_schedulers_change_the_analog_learning_rate(kind):
    """StepLR halves the lr at each step: the tiles' updates follow it, bit for bit equal
    to setting the rate by hand, and differ from a constant rate."""
    model, twin, constant = _model(), _model(), _model()
    optimizer = _optimizer(kind, model)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    by_hand, unscheduled = _optimizer(kind, twin), _optimizer(kind, constant)
    rates = []
    for x, y in _batches(3):
        rates.append(optimizer.param_groups[0]["lr"])
        for group in by_hand.param_groups:
            group["lr"] = rates[-1]
        for m, o in ((model, optimizer), (twin, by_hand), (constant, unscheduled)):
            o.zero_grad()
            _loss(m, x, y).backward()
            o.step()
        scheduler.step()
    assert rates == [0.2, 0.1, 0.05]
    _assert_same(_state(model), _state(twin))
    pairs = zip(model.analog_tiles(), constant.analog_tiles(), strict=True)
    assert not any(torch.equal(a.weights, b.weights) for a, b in pairs)


def test_a_tensor_learning_rate_reaches_the_tiles():
    model, twin = _model(), _model()
    optimizer = AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=torch.tensor(0.05))
    reference = AnalogSGD(_split(twin)[0], lr=0.05)
    x, y = _batches(1)[0]
    _loss(model, x, y).backward()
    optimizer.step()
    _loss(twin, x, y).backward()
    reference.step()
    _assert_same(
        [t.weights for t in model.analog_tiles()], [t.weights for t in twin.analog_tiles()]
    )


def test_no_warning_about_analog_weights_and_records_are_consumed():
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer = AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=0.01)
        x, y = _batches(1)[0]
        _loss(model, x, y).backward()
        optimizer.step()
    assert all(t.num_recorded == 0 for t in model.analog_tiles())
    assert model[0].bias.grad is None  # consumed, as AnalogSGD does
    _loss(model, x, y).backward()
    optimizer.zero_grad()
    assert all(t.num_recorded == 0 for t in model.analog_tiles())


def test_state_dict_resumes_bit_identically():
    model = _model()
    optimizer = AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=0.05)
    batches = _batches(4)
    for x, y in batches[:2]:
        optimizer.zero_grad()
        _loss(model, x, y).backward()
        optimizer.step()
    resumed_model = copy.deepcopy(model)
    resumed = AnalogOptimizer(torch.optim.Adam, resumed_model.parameters(), lr=0.05)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    for x, y in batches[2:]:
        for m, o in ((model, optimizer), (resumed_model, resumed)):
            o.zero_grad()
            _loss(m, x, y).backward()
            o.step()
    _assert_same(_state(model), _state(resumed_model))


def test_regrouped_param_groups_train_alike_and_save_without_tiles():
    """The reference toolkit's ``optimizer.regroup_param_groups(model)``."""
    model, twin = _model(), _model()
    optimizer = AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=0.05)
    optimizer.regroup_param_groups(model)
    tiles = [g.get("analog_tile") for g in optimizer.param_groups]
    assert tiles[0] is None and all(t is not None for t in tiles[1:]) and len(tiles) == 3
    reference = AnalogOptimizer(torch.optim.Adam, twin.parameters(), lr=0.05)
    for x, y in _batches(2):
        for m, o in ((model, optimizer), (twin, reference)):
            o.zero_grad()
            _loss(m, x, y).backward()
            o.step()
    _assert_same(_state(model), _state(twin))
    saved = optimizer.state_dict()
    assert [g.get("analog_tile", "absent") for g in saved["param_groups"]][1:] == [None, None]
    optimizer.load_state_dict(copy.deepcopy(saved))
    assert [g.get("analog_tile") for g in optimizer.param_groups] == tiles


def test_bad_arguments_are_refused():
    params = _model().parameters()
    with pytest.raises(TypeError, match=r"optimizer_cls must be a torch.optim.Optimizer subclass"):
        AnalogOptimizer(nn.Linear, params, lr=0.1)
    with pytest.raises(TypeError, match=r"got 'adam'"):
        AnalogOptimizer("adam", params, lr=0.1)
    with pytest.raises(TypeError, match=r"optimizer_cls=AnalogSGD applies the analog updates"):
        AnalogOptimizer(AnalogSGD, params, lr=0.1)
    model = _model()
    optimizer = AnalogOptimizer(torch.optim.Adam, model.parameters(), lr=0.1, maximize=True)
    x, y = _batches(1)[0]
    _loss(model, x, y).backward()
    with pytest.raises(ValueError, match=r"maximize=True \(param group 0\) is not supported"):
        optimizer.step()

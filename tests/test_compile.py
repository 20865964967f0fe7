"""``torch.compile`` of models with analog layers: it runs, with a graph break at each
analog layer's tiles (which run eagerly), and gives the results of eager execution.

``aot_eager`` (no compiler toolchain needed) must give the same bits as eager, training
included; the default ``inductor`` backend compiles the digital layers into C++ kernels
whose rounding may differ in the last bits, so it is compared with a tolerance (skipped
without a C++ compiler).
"""

from __future__ import annotations

import copy
import os
import shutil

import pytest
import torch
from torch import nn

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogLSTM, AnalogSequential
from aihw.optim import AnalogSGD

pytestmark = [
    pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch.compile is not available"),
    # What torch's compiler stack warns about itself, on import and while it inspects
    # tensors (silent outside pytest's warnings-as-errors; not about aihw).
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning"
    ),
]


@pytest.fixture(autouse=True)
def _fresh_compiler():
    import torch._dynamo

    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _model(pulsed: bool = True) -> nn.Module:
    torch.manual_seed(0)
    device = ConstantStepResistiveDevice if pulsed else (lambda: None)
    return AnalogSequential(
        AnalogConv2d(1, 4, 3, resistive_device=device()),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 16),
        nn.Tanh(),
        AnalogLinear(16, 3, resistive_device=device()),
    )


def _train(model: nn.Module, run: nn.Module, steps: int = 3) -> list[torch.Tensor]:
    optimizer = AnalogSGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(5, 1, 8, 8, generator=gen), torch.randn(5, 3, generator=gen)
        optimizer.zero_grad()
        (run(x) - y).pow(2).mean().backward()
        optimizer.step()
    with torch.no_grad():
        out = run(torch.randn(5, 1, 8, 8, generator=gen))
    tiles = [t.weights.clone() for t in model.analog_tiles()]
    return [out, *tiles, *(p.detach().clone() for p in model.parameters())]


def test_compiled_training_gives_the_bits_of_eager_training():
    eager = _model()
    compiled_model = copy.deepcopy(eager)
    compiled = torch.compile(compiled_model, backend="aot_eager")
    want = _train(eager, eager)
    got = _train(compiled_model, compiled)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a, b)
    assert compiled_model[0].analog_tile.update_index == 3


def test_compiled_recurrent_layer_gives_the_eager_outputs():
    torch.manual_seed(0)
    lstm = AnalogLSTM(6, 5, num_layers=2, batch_first=True)
    x = torch.randn(3, 4, 6, requires_grad=True)
    want, (h, c) = lstm(x)
    want.sum().backward()
    grad = x.grad.clone()
    x.grad = None
    got, (h2, c2) = torch.compile(lstm, backend="aot_eager")(x)
    got.sum().backward()
    for a, b in ((got, want), (h2, h), (c2, c), (x.grad, grad)):
        assert torch.equal(a, b)


def _has_cxx() -> bool:
    return any(shutil.which(name) for name in (os.environ.get("CXX", "g++"), "c++", "clang++"))


@pytest.mark.skipif(not _has_cxx(), reason="inductor needs a C++ compiler")
def test_inductor_runs_and_matches_eager():
    eager = _model(pulsed=False)  # exact tiles: the update follows the digital rounding
    compiled_model = copy.deepcopy(eager)
    compiled = torch.compile(compiled_model)
    want = _train(eager, eager, steps=2)
    got = _train(compiled_model, compiled, steps=2)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)

"""What used to pass silently now says so: an optimizer that cannot reach the tiles, a
``torch.nn`` state dict clipped by a pulsed device, a NaN input, a half-precision input
with a bias, and ``torch.compile`` over analog layers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

from aihw.devices import ConstantStepResistiveDevice, InferenceRPUConfig
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD

# -- an optimizer that cannot reach the tiles ---------------------------------------------


@pytest.mark.parametrize("make", [torch.optim.SGD, torch.optim.Adam])
def test_a_torch_optimizer_over_analog_weights_warns_once(make):
    model = AnalogSequential(AnalogLinear(4, 3), torch.nn.Linear(3, 2), AnalogLinear(2, 2))
    optimizer = make(model.parameters(), lr=0.1)
    x = torch.rand(2, 4)
    before = model[0].weight.detach().clone()
    with pytest.warns(UserWarning) as record:
        for _ in range(3):
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
    assert len(record) == 1
    assert str(record[0].message) == (
        f"{make.__name__} cannot update analog weights: AnalogLinear.weight (3, 4) (param "
        "group 0) and 1 more analog weight(s) get no .grad and stay unchanged; their updates "
        "are applied inside the analog tiles. Use aihw.optim.AnalogSGD."
    )
    assert torch.equal(model[0].weight, before)  # what the warning says


def test_analog_sgd_and_digital_models_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = AnalogSequential(AnalogLinear(4, 2))
        optimizer = AnalogSGD(model.parameters(), lr=0.1)
        model(torch.rand(2, 4)).sum().backward()
        optimizer.step()
        digital = torch.nn.Linear(4, 2)
        sgd = torch.optim.SGD(digital.parameters(), lr=0.1)
        digital(torch.rand(2, 4)).sum().backward()
        sgd.step()


# -- a torch.nn state dict clipped by the device bounds -------------------------------------


def test_loading_a_torch_state_dict_into_a_pulsed_layer_warns_with_the_number_clipped():
    layer = AnalogLinear(3, 2, resistive_device=ConstantStepResistiveDevice())
    weight = torch.tensor([[0.1, 5.0, -0.2], [-7.0, 0.0, 0.3]])
    with pytest.warns(UserWarning) as record:
        layer.load_state_dict({"weight": weight, "bias": torch.zeros(2)})
    assert [str(r.message) for r in record] == [
        "AnalogLinear: 2 of 6 weights of the loaded state dict lie outside the bounds of "
        "ConstantStepResistiveDevice and were clipped to them (a state dict without the "
        "analog state, such as a torch.nn layer's, programs the tiles)"
    ]
    assert (layer.weight.abs() < 5).all()


def test_weights_within_bounds_load_without_a_warning():
    layer = AnalogLinear(3, 2, resistive_device=ConstantStepResistiveDevice())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer.load_state_dict({"weight": torch.full((2, 3), 0.1), "bias": torch.zeros(2)})
        AnalogLinear(3, 2).load_state_dict(
            {"weight": torch.full((2, 3), 9.0), "bias": torch.zeros(2)}
        )


# -- a NaN input fails in the forward, naming the layer -------------------------------------

_NAN = "the input contains NaN or Inf; an analog tile needs finite inputs"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("config", [None, InferenceRPUConfig()])
def test_a_non_finite_input_fails_in_the_forward(value, grad, config):
    layer = AnalogLinear(4, 2, rpu_config=config)
    with torch.no_grad():
        layer(torch.rand(3, 4))  # the inference passes are prepared: the hot path too
    x = torch.rand(3, 4)
    x[1, 2] = value
    with torch.set_grad_enabled(grad), pytest.raises(ValueError) as error:
        layer(x)
    assert str(error.value) == f"AnalogLinear: {_NAN}"


def test_a_non_finite_input_fails_in_a_convolution():
    with pytest.raises(ValueError, match=f"^AnalogConv2d: {_NAN}$"):
        AnalogConv2d(2, 3, 3)(torch.full((1, 2, 5, 5), float("nan")))


# -- the output keeps the input's dtype -----------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("grad", [True, False])
def test_the_output_has_the_input_dtype_with_a_bias(dtype, grad):
    linear = AnalogLinear(4, 2, bias=True)
    conv = AnalogConv2d(2, 3, 3, bias=True)
    with torch.set_grad_enabled(grad):
        assert linear(torch.rand(3, 4, dtype=dtype)).dtype == dtype
        assert conv(torch.rand(1, 2, 5, 5, dtype=dtype)).dtype == dtype


def test_float32_numbers_are_unchanged_by_the_bias_cast():
    torch.manual_seed(0)
    layer = AnalogLinear(4, 2)
    x = torch.rand(3, 4)
    expected = x @ layer.weight.detach().T + layer.bias.detach()
    torch.testing.assert_close(layer(x), expected, rtol=0, atol=1e-6)


# -- torch.compile ---------------------------------------------------------------------------

_COMPILE = textwrap.dedent(
    """
    import torch
    from torch.nn.functional import mse_loss
    from aihw.nn import AnalogLinear, AnalogSequential
    from aihw.optim import AnalogSGD

    def run(compiled):
        torch.manual_seed(0)
        model = AnalogSequential(AnalogLinear(4, 3), torch.nn.ReLU(), AnalogLinear(3, 2))
        forward = torch.compile(model) if compiled else model
        optimizer = AnalogSGD(model.parameters(), lr=0.1)
        x, y = torch.rand(5, 4), torch.rand(5, 2)
        out = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = mse_loss(forward(x), y)
            loss.backward()
            optimizer.step()
            out.append(loss.item())
        with torch.no_grad():
            out.append(forward(x).sum().item())
        return out

    eager, compiled = run(False), run(True)
    assert eager == compiled, (eager, compiled)
    print("same")
    """
)


def test_torch_compile_runs_without_an_item_graph_break_warning():
    result = subprocess.run(
        [sys.executable, "-c", _COMPILE],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TORCHDYNAMO_VERBOSE": "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "same"
    assert "Graph break" not in result.stderr, result.stderr
    assert ".item()" not in result.stderr, result.stderr

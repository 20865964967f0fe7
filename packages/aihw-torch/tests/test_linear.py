"""AnalogLinear against torch.nn.Linear, with a floating-point (exact) tile."""

from __future__ import annotations

import copy
import io
import math
import pickle

import pytest
import torch
from torch import nn

from aihw.core.tiles import FloatingPointTile
from aihw.nn import AnalogLayerBase, AnalogLinear
from aihw.nn.modules.linear import AnalogLinear as DeepAnalogLinear


def _pair(in_features: int = 5, out_features: int = 3, bias: bool = True):
    layer = AnalogLinear(in_features, out_features, bias=bias)
    reference = nn.Linear(in_features, out_features, bias=bias)
    reference.load_state_dict(layer.state_dict(), strict=False)  # + "_extra_state"
    return layer, reference


def test_deep_import_path_is_the_same_class():
    assert DeepAnalogLinear is AnalogLinear
    assert issubclass(AnalogLinear, AnalogLayerBase)


def test_default_is_an_exact_floating_point_tile_without_analog_bias():
    layer = AnalogLinear(5, 3)
    assert isinstance(layer.analog_tile, FloatingPointTile)
    assert layer.analog_tile.weights.shape == (3, 5)  # the bias is digital
    assert layer.resistive_device is None


def test_weight_shares_the_tile_storage():
    layer = AnalogLinear(5, 3)
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()
    assert layer.weight.analog_tile is layer.analog_tile
    layer.analog_tile.set_weights(torch.full((3, 5), 0.25))
    assert torch.equal(layer.weight.detach(), torch.full((3, 5), 0.25))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


@pytest.mark.parametrize("leading", [(), (7,), (2, 4), (2, 1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_input_gradient_equal_nn_linear(leading, bias):
    layer, reference = _pair(bias=bias)
    x = torch.randn(*leading, 5, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    y, y_ref = layer(x), reference(x_ref)
    assert y.shape == y_ref.shape == (*leading, 3)
    torch.testing.assert_close(y, y_ref)
    grad = torch.randn_like(y)
    y.backward(grad)
    y_ref.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad)
    if bias:
        torch.testing.assert_close(layer.bias.grad, reference.bias.grad)


def test_weight_gets_no_grad_and_the_update_is_recorded():
    layer, reference = _pair()
    x = torch.randn(4, 5)
    layer(x).pow(2).sum().backward()
    reference(x).pow(2).sum().backward()
    assert layer.weight.grad is None
    assert layer.analog_tile.num_recorded == 4
    # The recorded update is the gradient step nn.Linear's weight would take.
    before = layer.weight.detach().clone()
    layer.analog_tile.apply_recorded_update(0.1)
    torch.testing.assert_close(layer.weight.detach(), before - 0.1 * reference.weight.grad)


def test_nothing_is_recorded_for_a_frozen_weight():
    layer = AnalogLinear(5, 3)
    layer.weight.requires_grad_(False)
    x = torch.randn(4, 5, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None
    assert layer.analog_tile.num_recorded == 0


def test_empty_batch():
    layer, reference = _pair()
    x = torch.randn(0, 5, requires_grad=True)
    y = layer(x)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_inputs_are_computed_in_float32_and_returned_in_their_dtype(dtype):
    layer = AnalogLinear(5, 3, bias=False)
    x = torch.randn(4, 5).to(dtype).requires_grad_()
    y = layer(x)
    assert y.dtype == dtype
    expected = x.detach().float() @ layer.weight.detach().T
    torch.testing.assert_close(y.float(), expected.to(dtype).float())
    y.sum().backward()
    assert x.grad.dtype == dtype


def test_integer_input_is_rejected_naming_input_and_dtypes():
    layer = AnalogLinear(5, 3)
    with pytest.raises(TypeError, match=r"input has dtype torch\.int64; allowed: torch\.float32"):
        layer(torch.ones(2, 5, dtype=torch.int64))


def test_wrong_last_dimension_names_input_shape_and_in_features():
    layer = AnalogLinear(5, 3)
    with pytest.raises(
        ValueError, match=r"input has shape \(2, 4\); expected \(\*, 5\).*in_features=5"
    ):
        layer(torch.rand(2, 4))
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        layer([[1.0] * 5])


@pytest.mark.parametrize("bad", ["ConstantStep", 3, object()])
def test_resistive_device_must_be_a_device(bad):
    with pytest.raises(TypeError, match="resistive_device"):
        AnalogLinear(5, 3, resistive_device=bad)


def test_resistive_device_class_instead_of_instance_says_so():
    from aihw.devices import ConstantStepResistiveDevice

    with pytest.raises(TypeError, match=r"resistive_device.*ConstantStepResistiveDevice\(\)"):
        AnalogLinear(5, 3, resistive_device=ConstantStepResistiveDevice)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_features": 0}, ValueError, "in_features"),
        ({"out_features": 2.5}, TypeError, "out_features"),
        ({"bias": "yes"}, TypeError, "bias"),
        ({"dtype": torch.int32}, TypeError, "dtype"),
    ],
)
def test_invalid_constructor_arguments(kwargs, error, match):
    args = {"in_features": 5, "out_features": 3, **kwargs}
    with pytest.raises(error, match=match):
        AnalogLinear(**args)


def test_reset_parameters_uses_nn_linear_bounds():
    layer = AnalogLinear(16, 8)
    bound = 1 / math.sqrt(16)
    for tensor in (layer.weight, layer.bias):
        assert tensor.abs().max() <= bound
        assert tensor.abs().max() > 0.5 * bound
    before = layer.weight.detach().clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.weight.detach())
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()


def test_extra_repr():
    assert repr(AnalogLinear(5, 3)) == (
        "AnalogLinear(in_features=5, out_features=3, bias=True, resistive_device=None)"
    )
    from aihw.devices import ConstantStepResistiveDevice

    layer = AnalogLinear(2, 1, bias=False, resistive_device=ConstantStepResistiveDevice())
    assert "bias=False, resistive_device=ConstantStepResistiveDevice" in repr(layer)


def test_get_and_set_weights():
    layer = AnalogLinear(3, 2)
    weight, bias = torch.arange(6.0).reshape(2, 3) / 10, torch.tensor([0.5, -0.5])
    layer.set_weights(weight, bias)
    got_weight, got_bias = layer.get_weights()
    assert torch.equal(got_weight, weight) and torch.equal(got_bias, bias)
    got_weight += 1  # copies
    assert torch.equal(layer.weight.detach(), weight)
    layer.set_weights(weight * 2)  # bias=None keeps the bias
    assert torch.equal(layer.bias.detach(), bias)


@pytest.mark.parametrize(
    ("weight", "bias", "error", "match"),
    [
        (torch.zeros(3, 2), None, ValueError, r"weight has shape \(3, 2\); expected \(2, 3\)"),
        (torch.zeros(2, 3, dtype=torch.long), None, TypeError, "weight must be a floating"),
        (torch.zeros(2, 3), torch.zeros(3), ValueError, r"bias has shape \(3,\)"),
    ],
)
def test_set_weights_rejects_bad_arguments_and_changes_nothing(weight, bias, error, match):
    layer = AnalogLinear(3, 2)
    before = [t.detach().clone() for t in layer.parameters()]
    with pytest.raises(error, match=match):
        layer.set_weights(weight, bias)
    for t, b in zip(layer.parameters(), before, strict=True):
        assert torch.equal(t.detach(), b)


def test_set_weights_bias_without_bias_layer():
    layer = AnalogLinear(3, 2, bias=False)
    with pytest.raises(ValueError, match="bias=False"):
        layer.set_weights(torch.zeros(2, 3), torch.zeros(2))


def test_sync_parameters_from_tile_relinks_replaced_data():
    layer = AnalogLinear(3, 2)
    weight = layer.weight
    layer.weight.data = torch.zeros(2, 3)  # breaks the link
    layer.sync_parameters_from_tile()
    assert layer.weight is weight
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()


def test_double_keeps_the_tile_float32_and_linked():
    layer = AnalogLinear(5, 3)
    weight = layer.weight
    assert layer.to(torch.float64) is layer
    assert layer.weight is weight
    assert layer.weight.dtype == torch.float32
    assert layer.analog_tile.weights.dtype == torch.float32
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()
    assert layer.bias.dtype == torch.float64
    x = torch.randn(4, 5, dtype=torch.float64)
    y = layer(x)
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, x @ layer.weight.double().T + layer.bias)
    layer.half().float().cpu()
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()
    assert list(layer.state_dict()) == ["weight", "bias", "_extra_state"]


def test_dtype_argument_sets_the_bias_dtype():
    layer = AnalogLinear(5, 3, dtype=torch.float64, device="cpu")
    assert layer.bias.dtype == torch.float64
    assert layer.weight.dtype == torch.float32


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_copies_are_independent_and_linked(clone):
    layer = AnalogLinear(5, 3)
    other = clone(layer)
    assert other.analog_tile is not layer.analog_tile
    assert other.weight.data_ptr() == other.analog_tile.weights.data_ptr()
    assert other.weight.analog_tile is other.analog_tile
    assert torch.equal(other.weight, layer.weight)
    other.analog_tile.set_weights(torch.zeros(3, 5))
    assert layer.weight.abs().sum() > 0
    x = torch.randn(2, 5)
    torch.testing.assert_close(other(x), other.bias.expand(2, 3))


def test_torch_save_and_state_dict_round_trip():
    layer = AnalogLinear(5, 3)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    other = AnalogLinear(5, 3)
    other.load_state_dict(torch.load(buffer))
    assert torch.equal(other.weight, layer.weight) and torch.equal(other.bias, layer.bias)
    assert other.weight.data_ptr() == other.analog_tile.weights.data_ptr()
    # A plain nn.Linear's state dict loads too (same keys and shapes).
    reference = nn.Linear(5, 3)
    other.load_state_dict(reference.state_dict())
    assert torch.equal(other.analog_tile.weights, reference.weight.detach())


def test_load_state_dict_with_assign_keeps_the_link():
    layer = AnalogLinear(5, 3)
    state = {"weight": torch.full((3, 5), 0.5), "bias": torch.zeros(3)}
    layer.load_state_dict(state, assign=True)
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()
    assert torch.equal(layer.analog_tile.weights, torch.full((3, 5), 0.5))


def test_mixed_with_torch_layers():
    model = nn.Sequential(AnalogLinear(2, 3), nn.Linear(3, 3), AnalogLinear(3, 1))
    x = torch.randn(4, 2, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and model[1].weight.grad is not None


@pytest.mark.cuda  # (tools/gpu_check.sh selects the GPU tests by this marker)
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_moves_the_tile_and_keeps_the_link():
    layer = AnalogLinear(5, 3).cuda()
    assert layer.analog_tile.weights.is_cuda and layer.bias.is_cuda
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()
    x = torch.randn(4, 5, device="cuda", requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.is_cuda
    with pytest.raises(RuntimeError, match="input is on cpu"):
        layer(torch.randn(4, 5))
    layer.cpu()
    assert not layer.analog_tile.weights.is_cuda
    assert layer.weight.data_ptr() == layer.analog_tile.weights.data_ptr()


def test_forward_is_the_functional_form_on_the_grid():
    from aihw.nn.functional import analog_linear

    layer = AnalogLinear(6, 4, max_input_size=4)
    x = torch.randn(2, 3, 6)
    assert torch.equal(layer(x), analog_linear(x, layer.grid, layer.bias))
    with pytest.raises(ValueError, match=r"AnalogLinear: input has shape \(2, 5\)"):
        analog_linear(torch.randn(2, 5), layer.grid)

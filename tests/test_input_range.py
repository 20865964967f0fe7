"""The learned input range: the forward against the hand-computed clip, the reference
toolkit's gradient of r, the initialisation from data, training by the analog
optimizers, checkpoints and bad input."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from aihw.core.io_parameters import IOParameters
from aihw.devices import InferenceRPUConfig, InputRangeParameter, PrePostProcessingParameter
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential, CheckpointError
from aihw.nn.input_range import InputRangeFunction
from aihw.optim import AnalogOptimizer, AnalogSGD

#: A forward without noise or quantization, so outputs are exact up to float rounding.
EXACT = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.0, bound_management="None",
                     out_bound=0.0)  # fmt: skip


def config(forward: IOParameters = EXACT, **input_range: object) -> InferenceRPUConfig:
    params = InputRangeParameter(enable=True, **input_range)  # type: ignore[arg-type]
    return InferenceRPUConfig(forward=forward, pre_post=PrePostProcessingParameter(params))


def linear(seed: int = 0, **input_range: object) -> AnalogLinear:
    torch.manual_seed(seed)
    return AnalogLinear(5, 3, rpu_config=config(**input_range), seed=seed)


def test_the_forward_clips_the_input_to_the_range():
    layer = linear(init_from_data=0, init_value=0.5)
    assert layer.input_range.item() == 0.5
    x = torch.tensor([[0.2, -0.7, 1.5, -0.1, 0.5], [-2.0, 0.0, 0.3, 0.6, -0.5]])
    weight, bias = layer.get_weights()
    expected = x.clamp(-0.5, 0.5) @ weight.T + bias
    torch.testing.assert_close(layer(x), expected, atol=1e-6, rtol=1e-5)
    layer.eval()  # the same in eval mode
    with torch.no_grad():
        torch.testing.assert_close(layer(x), expected, atol=1e-6, rtol=1e-5)


def test_the_tiles_see_the_input_divided_by_the_range():
    # out_noise acts on the tile's output before the range multiplies it: with inputs in
    # the range its spread grows with r (the tile sees x / r, the output is scaled by r).
    noisy = IOParameters(inp_res=0.0, out_res=0.0, out_noise=0.1, bound_management="None",
                         noise_management="None", out_bound=0.0)  # fmt: skip
    torch.manual_seed(0)
    layer = AnalogLinear(5, 3, bias=False, rpu_config=config(forward=noisy, init_from_data=0),
                         seed=1)  # fmt: skip
    layer.set_weights(torch.zeros(3, 5))
    x = torch.zeros(4000, 5)
    with torch.no_grad():
        for r in (1.0, 4.0):
            layer.set_input_range(r)
            assert layer(x).std().item() == pytest.approx(0.1 * r, rel=0.05)


def test_the_range_is_initialised_from_the_first_training_batches():
    layer = linear(init_from_data=2, init_std_alpha=2.0)
    gen = torch.Generator().manual_seed(3)
    batches = [torch.randn(16, 5, generator=gen) * s for s in (1.0, 3.0, 10.0)]
    layer.eval()
    with torch.no_grad():
        layer(batches[2])  # eval mode does not initialise
    assert layer.input_range.item() == 3.0 and int(layer.input_range_update_idx) == 0
    layer.train()
    for x in batches:
        layer(x)
    expected = (2.0 * batches[0].std() + 2.0 * batches[1].std()) / 2
    assert layer.input_range.item() == pytest.approx(expected.item(), rel=1e-6)
    assert int(layer.input_range_update_idx) == 2  # the third batch is past init_from_data
    layer(torch.zeros(3, 5))  # an input of std 0 does not count either
    assert int(layer.input_range_update_idx) == 2


def reference_grad(x, g, r, params: InputRangeParameter):
    """The reference toolkit's gradient of r, written out by element."""
    total = 0.0
    for xi, gi in zip(x.flatten().tolist(), g.flatten().tolist(), strict=True):
        if xi >= r:
            total += min(gi, 0.0)
        if xi <= -r:
            total -= max(gi, 0.0)
    if params.gradient_relative:
        total *= r * params.gradient_scale
    inside = sum(abs(v) < r for v in x.flatten().tolist()) / x.numel()
    if params.decay > 0 and inside > params.input_min_percentage:
        total += params.decay * r
    return total


@pytest.mark.parametrize(
    "params",
    [
        InputRangeParameter(enable=True),
        InputRangeParameter(enable=True, gradient_relative=False, decay=0.0),
        InputRangeParameter(enable=True, gradient_scale=0.3, decay=0.01, input_min_percentage=0.5),
    ],
)
def test_the_gradient_of_the_range_is_the_reference_toolkits(params):
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(6, 7, generator=gen, dtype=torch.float64) * 1.5
    r = torch.tensor([1.2], dtype=torch.float64, requires_grad=True)
    out = InputRangeFunction.apply(x, r, params)
    upstream = torch.randn(6, 7, generator=gen, dtype=torch.float64)
    out.backward(upstream)
    # the gradient with respect to clip(x) is upstream / r (the output is clip(x) / r)
    expected = reference_grad(x, upstream / 1.2, 1.2, params)
    assert r.grad.item() == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_clipped_inputs_asking_for_a_wider_range_push_it_up_and_decay_pulls_it_down():
    params = InputRangeParameter(enable=True, decay=0.01, input_min_percentage=0.5)
    r = torch.tensor([1.0], requires_grad=True)
    x = torch.tensor([2.0, 0.1, 0.2, 0.3])  # one input of four clipped: 75% inside
    InputRangeFunction.apply(x, r, params).backward(torch.tensor([-1.0, 0.0, 0.0, 0.0]))
    assert r.grad.item() == pytest.approx(-1.0 + 0.01)  # wider; decay as 75% > 50%
    r.grad = None
    InputRangeFunction.apply(x, r, params).backward(torch.tensor([1.0, 0.0, 0.0, 0.0]))
    assert r.grad.item() == pytest.approx(0.01)  # a gradient towards x = r does not narrow


def test_the_input_gradient_is_the_derivative_of_the_clip():
    params = InputRangeParameter(enable=True)
    r = torch.tensor([0.8], dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    x = torch.where((x.abs() - 0.8).abs() < 1e-3, x + 0.01, x).requires_grad_()  # no kinks
    assert torch.autograd.gradcheck(lambda v: InputRangeFunction.apply(v, r, params), (x,))


def test_the_layer_gradients_are_those_of_the_clipped_digital_layer():
    layer = linear(init_from_data=0, init_value=0.6)
    weight, bias = layer.get_weights()
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(6)).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    upstream = torch.randn(4, 3, generator=torch.Generator().manual_seed(7))
    layer(x).backward(upstream)
    (x_ref.clamp(-0.6, 0.6) @ weight.T + bias).backward(upstream)
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("optimizer", [AnalogSGD, AnalogOptimizer])
def test_the_analog_optimizers_train_the_range(optimizer):
    layer = linear(init_from_data=0, init_value=0.5)
    opt = optimizer(layer.parameters(), lr=0.1) if optimizer is AnalogSGD else optimizer(
        torch.optim.SGD, layer.parameters(), lr=0.1)  # fmt: skip
    x = torch.full((2, 5), 3.0)
    layer(x).sum().neg().backward()  # larger outputs wanted: clipped inputs ask for more
    grad = layer.input_range.grad.item()
    assert grad != 0.0
    opt.step()
    assert layer.input_range.item() == pytest.approx(0.5 - 0.1 * grad, rel=1e-6)
    assert layer.input_range.grad is None  # consumed, like the tiles' updates


def test_a_checkpoint_resumes_the_range_and_its_initialisation():
    def build() -> AnalogSequential:
        second = AnalogLinear(3, 2, rpu_config=config(init_from_data=3), seed=2)
        return AnalogSequential(linear(seed=1, init_from_data=3), nn.ReLU(), second)

    model = build()
    gen = torch.Generator().manual_seed(8)
    model(torch.randn(8, 5, generator=gen))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    fresh = build()
    fresh.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    for a, b in ((model[0], fresh[0]), (model[2], fresh[2])):
        assert torch.equal(a.input_range, b.input_range)
        assert int(b.input_range_update_idx) == 1
    x = torch.randn(8, 5, generator=gen)
    model(x)
    fresh(x)
    assert torch.equal(model[0].input_range, fresh[0].input_range)
    plain = AnalogSequential(AnalogLinear(5, 3, rpu_config=InferenceRPUConfig(forward=EXACT)))
    with pytest.raises(CheckpointError, match=r"unexpected key\(s\): 0.input_range"):
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if k.startswith("0.")})


def test_convolutions_clip_their_input():
    torch.manual_seed(0)
    conv = AnalogConv2d(2, 3, 3, padding=1, rpu_config=config(init_from_data=0, init_value=0.4))
    x = torch.randn(2, 2, 5, 5, generator=torch.Generator().manual_seed(9))
    weight, bias = conv.get_weights()
    expected = nn.functional.conv2d(x.clamp(-0.4, 0.4), weight, bias, padding=1)
    torch.testing.assert_close(conv(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("init_value", -1.0, "a finite number > 0"),
        ("init_value", 0.0, "a finite number > 0"),
        ("input_min_percentage", 0.0, r"a number in \(0, 1\]"),
        ("output_min_percentage", 1.5, r"a number in \(0, 1\]"),
        ("decay", -0.1, "a finite number >= 0"),
        ("init_from_data", -1, "an int >= 0"),
        ("enable", 1, "True or False"),
        ("manage_output_clipping", True, "False"),
    ],
)
def test_bad_parameters_are_named(field, value, allowed):
    with pytest.raises(ValueError, match=rf"InputRangeParameter.{field}={value!r} is invalid; "
                       rf"allowed: {allowed}"):  # fmt: skip
        InputRangeParameter(**{field: value})


def test_bad_ranges_and_configurations_change_nothing():
    layer = linear(init_from_data=0, init_value=0.5)
    for bad in (-1.0, 0.0, float("nan"), "1"):
        with pytest.raises(ValueError, match=r"input_range=.* is invalid; allowed: a finite"):
            layer.set_input_range(bad)
    assert layer.input_range.item() == 0.5
    with pytest.raises(RuntimeError, match="has no input range"):
        AnalogLinear(2, 2, rpu_config=InferenceRPUConfig()).set_input_range(1.0)
    with pytest.raises(TypeError, match="pre_post must be a PrePostProcessingParameter"):
        InferenceRPUConfig(pre_post=InputRangeParameter())  # type: ignore[arg-type]
    from aihw.nn import MappingParameters

    analog_bias = config()
    analog_bias.mapping = MappingParameters(digital_bias=False)
    with pytest.raises(ValueError, match="input_range.enable=True is invalid with an analog bias"):
        AnalogLinear(2, 2, rpu_config=analog_bias)


def test_without_an_enabled_range_nothing_changes():
    layer = AnalogLinear(5, 3, rpu_config=InferenceRPUConfig(), seed=0)
    assert layer.input_range is None
    assert "input_range" not in layer.state_dict()


def test_without_clipping_the_range_decays_geometrically():
    # No input reaches r = 3 and all are inside: the gradient is decay * r, so each SGD
    # step multiplies r by (1 - lr * decay).
    layer = linear(init_from_data=0, decay=0.01)
    opt = AnalogSGD(layer.parameters(), lr=0.5)
    x = torch.full((4, 5), 0.1)
    for _ in range(10):
        layer(x).sum().backward()
        opt.step()
    assert layer.input_range.item() == pytest.approx(3.0 * (1 - 0.5 * 0.01) ** 10, rel=1e-6)
    layer.set_input_range(0.05)  # now every input clips: the range grows
    before = layer.input_range.item()
    for _ in range(3):
        layer(x).pow(2).sum().neg().backward()  # larger outputs wanted
        opt.step()
    assert layer.input_range.item() > before


def test_converting_to_digital_says_the_range_is_dropped():
    from aihw.nn import convert_to_digital

    layer = linear(init_from_data=0, init_value=0.5)
    with pytest.warns(UserWarning, match=r"input range r=0.5 is not carried over"):
        digital = convert_to_digital(layer)
    assert isinstance(digital, nn.Linear)

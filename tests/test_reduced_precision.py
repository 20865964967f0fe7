"""Reduced precision: float16, bfloat16 and float64 activations, and ``torch.autocast``.

The tiles keep float32 state and compute in float32 whatever the caller's dtype: inputs
are converted at the tile boundary and outputs come back in the caller's dtype (under
``torch.autocast``, in the autocast dtype, like the ``torch.nn`` layers there; float64
stays float64, which autocast leaves alone). Integer inputs are refused with the dtypes
allowed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import (
    AnalogConv2d,
    AnalogGRU,
    AnalogLayerBase,
    AnalogLinear,
    AnalogLSTM,
    AnalogLSTMCellCombinedWeight,
    AnalogRNN,
    AnalogVanillaRNN,
)
from aihw.optim import AnalogSGD

ROOT = Path(__file__).resolve().parents[1]
DTYPES = [torch.float16, torch.bfloat16, torch.float64]
# How far a layer run in dtype may be from the float32 run (half types: the digital
# parts, bias and recurrence, run in that dtype).
TOLERANCE = {torch.float16: 2e-2, torch.bfloat16: 6e-2, torch.float64: 1e-5}


def _layers():
    """name -> (layer factory, input factory)."""
    return {
        "linear": (lambda: AnalogLinear(8, 4), lambda: torch.randn(3, 8)),
        "linear-pulsed": (
            lambda: AnalogLinear(8, 4, resistive_device=ConstantStepResistiveDevice()),
            lambda: torch.randn(3, 8),
        ),
        "conv2d": (lambda: AnalogConv2d(2, 3, 3, padding=1), lambda: torch.randn(2, 2, 5, 5)),
        "lstm": (lambda: AnalogLSTM(8, 4, num_layers=2), lambda: torch.randn(5, 3, 8)),
        "gru": (
            lambda: AnalogGRU(8, 4, batch_first=True, bidirectional=True),
            lambda: torch.randn(3, 5, 8),
        ),
        "rnn": (lambda: AnalogVanillaRNN(8, 4), lambda: torch.randn(5, 3, 8)),
    }


LAYERS = sorted(_layers())


def _make(name: str, seed: int = 0):
    layer, data = _layers()[name]
    torch.manual_seed(seed)
    return layer(), data()


def _tensors(out):
    """The output and every state tensor, flattened."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for item in out for t in _tensors(item)]


def _tiles(model):
    return [t for m in model.modules() if isinstance(m, AnalogLayerBase) for t in m.analog_tiles()]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", LAYERS)
def test_layers_take_and_return_the_callers_dtype_with_float32_tiles(name, dtype):
    layer, x = _make(name)
    reference = [t.detach() for t in _tensors(layer(x))]
    layer.to(dtype)
    assert {t.weights.dtype for t in _tiles(layer)} == {torch.float32}
    xd = x.to(dtype).requires_grad_()
    out = _tensors(layer(xd))
    for got, want in zip(out, reference, strict=True):
        assert got.dtype == dtype
        torch.testing.assert_close(got.float(), want, rtol=0, atol=TOLERANCE[dtype])
    sum(o.float().sum() for o in out).backward()
    assert xd.grad is not None and xd.grad.dtype == dtype
    before = [t.weights.clone() for t in _tiles(layer)]
    AnalogSGD(layer.parameters(), lr=0.1).step()
    for tile, old in zip(_tiles(layer), before, strict=True):
        assert tile.weights.dtype == torch.float32
        assert not torch.equal(tile.weights, old)  # the tiles learned from the records


@pytest.mark.parametrize("name", [n for n in LAYERS if n != "linear-pulsed"])
def test_float64_updates_equal_the_float32_ones(name):
    """The tile sees the float64 batch rounded to float32; the update agrees closely
    (floating-point tiles: a pulsed tile could flip a pulse on a difference of ulps)."""
    weights = []
    for dtype in (torch.float32, torch.float64):
        layer, x = _make(name)
        layer.to(dtype)
        sum(o.sum() for o in _tensors(layer(x.to(dtype)))).backward()
        AnalogSGD(layer.parameters(), lr=0.1).step()
        weights.append([t.weights.clone() for t in _tiles(layer)])
    for a, b in zip(*weights, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize("amp", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("name", LAYERS)
def test_autocast_returns_the_autocast_dtype(name, amp):
    layer, x = _make(name)
    reference = [t.detach() for t in _tensors(layer(x))]
    x.requires_grad_()
    with torch.autocast("cpu", dtype=amp):
        out = _tensors(layer(x))
    for got, want in zip(out, reference, strict=True):
        assert got.dtype == amp
        torch.testing.assert_close(got, want.to(amp), rtol=0, atol=TOLERANCE[amp])
    sum(o.float().sum() for o in out).backward()
    assert x.grad is not None and x.grad.dtype == torch.float32
    assert all(t.num_recorded for t in _tiles(layer))


@pytest.mark.parametrize("name", ["linear", "conv2d"])
def test_autocast_keeps_the_tile_products_in_float32(name):
    """Linear and convolution outputs are the float32 results rounded once: autocast
    lowers neither the tiles' forward nor (with backward inside it) their backward."""
    layer, x = _make(name)
    x.requires_grad_()
    reference = layer(x)
    reference.sum().backward()
    grad = x.grad.clone()
    x.grad = None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
        out.float().sum().backward()
        with torch.no_grad():  # the inference path too
            inference = layer(x)
    assert torch.equal(out, reference.detach().to(torch.bfloat16))
    assert torch.equal(inference, reference.detach().to(torch.bfloat16))
    assert torch.equal(x.grad, grad)


@pytest.mark.parametrize("name", LAYERS)
def test_float64_input_under_autocast_stays_float64(name):
    layer, x = _make(name)
    layer.double()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = _tensors(layer(x.double()))
    assert {o.dtype for o in out} == {torch.float64}


def test_reference_style_rnn_under_autocast_returns_states_in_the_autocast_dtype():
    torch.manual_seed(0)
    rnn = AnalogRNN(AnalogLSTMCellCombinedWeight, 8, 4, num_layers=2, bidir=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, states = rnn(torch.randn(5, 3, 8))
    assert out.dtype == torch.bfloat16
    assert {t.dtype for t in _tensors(states)} == {torch.bfloat16}


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64], ids=str)
@pytest.mark.parametrize("name", LAYERS)
def test_integer_and_other_inputs_are_refused_naming_the_allowed_dtypes(name, dtype):
    layer, x = _make(name)
    with pytest.raises(TypeError) as error:
        layer(x.to(dtype))
    message = str(error.value)
    assert message.startswith(f"{type(layer).__name__}: input has dtype {dtype}; allowed: ")
    assert "torch.float32, torch.float16, torch.bfloat16, torch.float64" in message


def _train_digits():
    pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")
    pytest.importorskip("tqdm")
    spec = importlib.util.spec_from_file_location("train_digits", ROOT / "examples/train_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_autocast_bf16_training_reaches_the_float32_accuracy():
    """A reduced run of the digits MLP (constant-step devices, 8 epochs at lr 0.3): the
    test accuracy of a bf16 autocast run within 1 point of the float32 run. (The
    example's full 20 epochs, seeds 0, 1, 2: 91.7 / 92.5 / 91.1 % with bf16 autocast,
    91.1 / 92.5 / 91.1 % in float32.)"""
    demo = _train_digits()
    kwargs = {"epochs": 8, "lr": 0.3, "progress": False, "seed": 0}
    full = demo.train("constant-step", **kwargs)
    amp = demo.train("constant-step", autocast="bfloat16", **kwargs)
    assert full[-1] >= 0.85, full
    assert amp[-1] >= full[-1] - 0.01, (amp, full)

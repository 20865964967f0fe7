"""Analog recurrent layers: with floating-point tiles they equal ``torch.nn``'s layers
(outputs, final states, input gradients) for every call form; bad input is refused with
messages naming what is expected."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from aihw.devices import FloatingPointRPUConfig
from aihw.nn import (
    AnalogGRU,
    AnalogGRUCell,
    AnalogLinear,
    AnalogLSTM,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogRNN,
    AnalogVanillaRNN,
    AnalogVanillaRNNCell,
    convert_to_analog,
    convert_to_digital,
)

TORCH = {AnalogLSTM: nn.LSTM, AnalogGRU: nn.GRU, AnalogVanillaRNN: nn.RNN}
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _pair(cls, rpu_config=None, **kwargs):
    """A torch layer and the analog layer converted from it (same weights)."""
    reference = TORCH[cls](5, 7, **kwargs)
    layer = convert_to_analog(reference, rpu_config=rpu_config)
    assert type(layer) is cls
    return reference, layer


def _hx(cls, reference, batch):
    lead = reference.num_layers * (2 if reference.bidirectional else 1)
    size = reference.proj_size if getattr(reference, "proj_size", 0) else reference.hidden_size
    shape = (lead, batch, size) if batch else (lead, size)
    h0 = torch.randn(shape)
    if cls is not AnalogLSTM:
        return h0
    return h0, torch.randn((*shape[:-1], reference.hidden_size))


def _close_states(a, b):
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            torch.testing.assert_close(x, y, **TOL)
    else:
        torch.testing.assert_close(a, b, **TOL)


CASES = [
    {},
    {"batch_first": True},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"bias": False},
]


@pytest.mark.parametrize("cls", list(TORCH))
@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: ",".join(k) or "default")
@pytest.mark.parametrize("initial", [False, True], ids=["zero-state", "given-state"])
def test_equal_to_torch_outputs_states_and_input_gradients(cls, kwargs, initial):
    reference, layer = _pair(cls, **kwargs)
    batch, steps = 3, 6
    shape = (batch, steps, 5) if kwargs.get("batch_first") else (steps, batch, 5)
    x = torch.randn(shape, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    hx = _hx(cls, reference, batch) if initial else None
    out, state = layer(x, hx)
    out_ref, state_ref = reference(x_ref, hx)
    torch.testing.assert_close(out, out_ref, **TOL)
    _close_states(state, state_ref)
    grad = torch.randn_like(out)
    out.backward(grad)
    out_ref.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL)


@pytest.mark.parametrize("cls", list(TORCH))
def test_equal_to_torch_with_a_floating_point_rpu_config(cls):
    reference, layer = _pair(cls, FloatingPointRPUConfig(), num_layers=2)
    x = torch.randn(4, 2, 5)
    out, state = layer(x)
    out_ref, state_ref = reference(x)
    torch.testing.assert_close(out, out_ref, **TOL)
    _close_states(state, state_ref)


@pytest.mark.parametrize("cls", list(TORCH))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequences_equal_torch(cls, bidirectional, enforce_sorted):
    reference, layer = _pair(cls, num_layers=2, bidirectional=bidirectional, batch_first=True)
    lengths = torch.tensor([6, 4, 3, 1]) if enforce_sorted else torch.tensor([3, 6, 1, 4])
    x = torch.randn(4, 6, 5, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    hx = _hx(cls, reference, 4)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=enforce_sorted)
    packed_ref = pack_padded_sequence(
        x_ref, lengths, batch_first=True, enforce_sorted=enforce_sorted
    )
    out, state = layer(packed, hx)
    out_ref, state_ref = reference(packed_ref, hx)
    assert isinstance(out, nn.utils.rnn.PackedSequence)
    assert torch.equal(out.batch_sizes, out_ref.batch_sizes)
    padded, out_lengths = pad_packed_sequence(out, batch_first=True)
    padded_ref, _ = pad_packed_sequence(out_ref, batch_first=True)
    assert torch.equal(out_lengths, lengths)
    torch.testing.assert_close(padded, padded_ref, **TOL)
    _close_states(state, state_ref)
    padded.sum().backward()
    padded_ref.sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL)


@pytest.mark.parametrize("cls", list(TORCH))
def test_unbatched_input_equals_torch(cls):
    reference, layer = _pair(cls, bidirectional=True)
    x = torch.randn(6, 5)
    hx = _hx(cls, reference, 0)
    out, state = layer(x, hx)
    out_ref, state_ref = reference(x, hx)
    assert out.shape == (6, 14)
    torch.testing.assert_close(out, out_ref, **TOL)
    _close_states(state, state_ref)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported:UserWarning")
def test_lstm_with_projections_equals_torch():
    reference, layer = _pair(AnalogLSTM, num_layers=2, bidirectional=True, proj_size=3)
    assert layer.cells[0].weight_hr.weight.shape == (3, 7)
    x = torch.randn(5, 2, 5)
    hx = _hx(AnalogLSTM, reference, 2)
    assert hx[0].shape == (4, 2, 3) and hx[1].shape == (4, 2, 7)
    out, state = layer(x, hx)
    out_ref, state_ref = reference(x, hx)
    assert out.shape == (5, 2, 6)
    torch.testing.assert_close(out, out_ref, **TOL)
    _close_states(state, state_ref)


def test_torch_constructor_arguments_positionally():
    layer = AnalogLSTM(5, 7, 2, False, True, 0.0, True, 3)
    assert (layer.num_layers, layer.bias, layer.batch_first, layer.bidirectional) == (
        2,
        False,
        True,
        True,
    )
    assert layer.proj_size == 3
    rnn = AnalogVanillaRNN(5, 7, 1, "relu")
    assert rnn.nonlinearity == "relu"
    assert len(AnalogGRU(5, 7, num_layers=3, bidirectional=True).cells) == 6


def test_default_initialisation_is_torchs_range():
    layer = AnalogLSTM(5, 16, num_layers=2)
    bound = 16**-0.5
    for cell in layer.cells:
        for linear in cell.analog_layers():
            weight, bias = linear.get_weights()
            assert weight.abs().max() <= bound and bias.abs().max() <= bound
            assert weight.abs().max() > bound / 2


# -- cells --------------------------------------------------------------------------------
def _copy_cell(cell, reference):
    with torch.no_grad():
        cell.weight_ih.set_weights(reference.weight_ih, reference.bias_ih)
        cell.weight_hh.set_weights(reference.weight_hh, reference.bias_hh)


@pytest.mark.parametrize(
    "cls, torch_cls",
    [
        (AnalogLSTMCell, nn.LSTMCell),
        (AnalogGRUCell, nn.GRUCell),
        (AnalogVanillaRNNCell, nn.RNNCell),
    ],
)
def test_cells_equal_torch_cells(cls, torch_cls):
    reference = torch_cls(5, 7)
    cell = cls(5, 7, True)
    _copy_cell(cell, reference)
    x = torch.randn(3, 5)
    state = cell.get_zero_state(3)
    if cls is AnalogLSTMCell:
        state = (torch.randn(3, 7), torch.randn(3, 7))
        out, (h, c) = cell(x, state)
        h_ref, c_ref = reference(x, state)
        torch.testing.assert_close(c, c_ref, **TOL)
    else:
        state = torch.randn(3, 7)
        out, h = cell(x, state)
        h_ref = reference(x, state)
    torch.testing.assert_close(out, h_ref, **TOL)
    torch.testing.assert_close(h, h_ref, **TOL)


def test_relu_rnn_cell_equals_torch():
    reference = nn.RNNCell(5, 7, nonlinearity="relu")
    cell = AnalogVanillaRNNCell(5, 7, nonlinearity="relu")
    _copy_cell(cell, reference)
    x, h = torch.randn(3, 5), torch.randn(3, 7)
    torch.testing.assert_close(cell(x, h)[0], reference(x, h), **TOL)


def test_combined_weight_lstm_cell_is_one_matrix_over_input_and_hidden():
    reference = nn.LSTMCell(5, 7)
    cell = AnalogLSTMCellCombinedWeight(5, 7, True)
    assert cell.weight.weight.shape == (28, 12)
    with torch.no_grad():
        cell.weight.set_weights(
            torch.cat((reference.weight_ih, reference.weight_hh), 1),
            reference.bias_ih + reference.bias_hh,
        )
    x, state = torch.randn(3, 5), (torch.randn(3, 7), torch.randn(3, 7))
    out, (h, c) = cell(x, state)
    h_ref, c_ref = reference(x, state)
    torch.testing.assert_close(h, h_ref, **TOL)
    torch.testing.assert_close(c, c_ref, **TOL)


def test_cell_zero_state_and_reference_state_name():
    cell = AnalogLSTMCell(5, 7, True)
    state = cell.get_zero_state(4)
    assert state.hx.shape == (4, 7) and state.cx.shape == (4, 7)
    assert not state.hx.any() and not state.cx.any()
    assert AnalogGRUCell(5, 7, True).get_zero_state(2).shape == (2, 7)


def test_cells_are_analog_linear_layers_with_the_layer_options():
    cell = AnalogLSTMCell(5, 300, True, max_output_size=512, max_input_size=128, seed=3)
    assert isinstance(cell.weight_ih, AnalogLinear) and isinstance(cell.weight_hh, AnalogLinear)
    assert cell.weight_ih.tile_grid == (1, 3, 1)  # 1200 rows over tiles of at most 512
    assert cell.weight_hh.tile_grid == (1, 3, 3)  # and 300 inputs over tiles of at most 128


# -- the reference toolkit's AnalogRNN ----------------------------------------------------
def _reference_rnn_from_torch(model, reference, bidir):
    directions = 2 if bidir else 1
    for index, cell in enumerate(model.cells):
        suffix = f"_l{index // directions}" + ("_reverse" if index % directions else "")
        with torch.no_grad():
            cell.weight_ih.set_weights(
                getattr(reference, f"weight_ih{suffix}"), getattr(reference, f"bias_ih{suffix}")
            )
            cell.weight_hh.set_weights(
                getattr(reference, f"weight_hh{suffix}"), getattr(reference, f"bias_hh{suffix}")
            )


@pytest.mark.parametrize("bidir", [False, True])
def test_reference_form_analog_rnn_equals_torch_lstm(bidir):
    reference = nn.LSTM(5, 7, num_layers=2, bidirectional=bidir)
    model = AnalogRNN(AnalogLSTMCell, 5, 7, num_layers=2, bidir=bidir)
    _reference_rnn_from_torch(model, reference, bidir)
    x = torch.randn(6, 3, 5)
    out, states = model(x)
    out_ref, (h_ref, c_ref) = reference(x)
    torch.testing.assert_close(out, out_ref, **TOL)
    assert len(states) == 2
    flat = [s for layer in states for s in layer] if bidir else states
    for index, (h, c) in enumerate(flat):
        torch.testing.assert_close(h, h_ref[index], **TOL)
        torch.testing.assert_close(c, c_ref[index], **TOL)
    # The final states are a valid initial state.
    out2, _ = model(x, states)
    assert out2.shape == out.shape


def test_reference_form_with_gru_and_vanilla_cells_and_initialisation():
    for cell in (AnalogGRUCell, AnalogVanillaRNNCell):
        model = AnalogRNN(cell, 4, 6, rpu_config=FloatingPointRPUConfig(), xavier=True)
        out, states = model(torch.randn(5, 2, 4))
        assert out.shape == (5, 2, 6) and states[0].shape == (2, 6)
        assert not model.cells[0].weight_ih.bias.any()  # xavier: zero biases
    model = AnalogRNN(AnalogLSTMCellCombinedWeight, 4, 6, True, None, None, False, 2)
    out, states = model(torch.randn(3, 2, 4))
    assert out.shape == (3, 2, 6) and states[1][1].shape == (2, 6)
    bound = 6**-0.5
    assert model.cells[1].weight.get_weights()[0].abs().max() <= bound


# -- conversion ---------------------------------------------------------------------------
class _Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 8, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(16, 6, batch_first=True)
        self.rnn = nn.RNN(6, 4, nonlinearity="relu", batch_first=True)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x, _ = self.lstm(x)
        x, _ = self.gru(x)
        x, _ = self.rnn(x)
        return self.head(x)


def test_convert_to_analog_converts_recurrent_layers_with_their_weights():
    model = _Tagger()
    analog = convert_to_analog(model, rpu_config=FloatingPointRPUConfig())
    assert isinstance(analog.lstm, AnalogLSTM) and analog.lstm.bidirectional
    assert isinstance(analog.gru, AnalogGRU) and isinstance(analog.rnn, AnalogVanillaRNN)
    assert analog.rnn.nonlinearity == "relu" and isinstance(analog.head, AnalogLinear)
    x = torch.randn(2, 7, 5)
    torch.testing.assert_close(analog(x), model(x), **TOL)
    digital = convert_to_digital(analog)
    assert type(digital.lstm) is nn.LSTM and type(digital.rnn) is nn.RNN
    torch.testing.assert_close(digital(x), model(x), **TOL)
    excluded = convert_to_analog(model, exclude=[nn.GRU])
    assert type(excluded.gru) is nn.GRU and isinstance(excluded.lstm, AnalogLSTM)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported:UserWarning")
def test_convert_to_digital_of_a_recurrent_layer_itself():
    layer = AnalogLSTM(3, 4, proj_size=2)
    digital = convert_to_digital(layer)
    assert type(digital) is nn.LSTM and digital.proj_size == 2
    x = torch.randn(5, 3)
    torch.testing.assert_close(digital(x)[0], layer(x)[0], **TOL)


def test_state_dict_round_trip_keeps_outputs():
    layer = AnalogGRU(3, 4, num_layers=2)
    other = AnalogGRU(3, 4, num_layers=2)
    other.load_state_dict(layer.state_dict())
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(other(x)[0], layer(x)[0], rtol=0, atol=0)


# -- bad input ----------------------------------------------------------------------------
def test_wrong_hidden_state_shapes_are_refused():
    layer = AnalogLSTM(5, 7, num_layers=2)
    x = torch.randn(6, 3, 5)
    with pytest.raises(ValueError, match=r"AnalogLSTM: h_0 has shape \(1, 3, 7\); expected "
                       r"\(2, 3, 7\) = \(num_layers \* num_directions, batch, hidden_size\)"):  # fmt: skip
        layer(x, (torch.zeros(1, 3, 7), torch.zeros(2, 3, 7)))
    with pytest.raises(ValueError, match=r"c_0 has shape \(2, 3, 6\); expected \(2, 3, 7\)"):
        layer(x, (torch.zeros(2, 3, 7), torch.zeros(2, 3, 6)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\) of two tensors"):
        layer(x, torch.zeros(2, 3, 7))
    with pytest.raises(ValueError, match="for unbatched 2-D input, h_0 must be 2-D"):
        AnalogGRU(5, 7)(torch.randn(6, 5), torch.zeros(1, 1, 7))
    with pytest.raises(TypeError, match="AnalogGRU: hx must be a tensor h_0"):
        AnalogGRU(5, 7)(x, (torch.zeros(1, 3, 7),))


def test_a_packed_batch_checks_the_hidden_state_against_its_sequences():
    layer = AnalogGRU(5, 7)
    packed = pack_padded_sequence(torch.randn(4, 3, 5), torch.tensor([4, 2, 1]))
    with pytest.raises(ValueError, match=r"expected \(1, 3, 7\).*batch is the packed "
                       "sequence's number of sequences"):  # fmt: skip
        layer(packed, torch.zeros(1, 2, 7))


def test_batch_first_mismatch_shows_in_the_hidden_state_check():
    layer = AnalogGRU(5, 7, batch_first=True)
    x = torch.randn(6, 3, 5)  # (L, N, F) given to a batch-first layer: batch is read as 6
    with pytest.raises(ValueError, match=r"expected \(1, 6, 7\).*batch is the input's "
                       r"dimension 0 \(batch_first=True\)"):  # fmt: skip
        layer(x, torch.zeros(1, 3, 7))


def test_wrong_input_dims_and_sizes_are_refused():
    layer = AnalogVanillaRNN(5, 7)
    with pytest.raises(ValueError, match=r"AnalogVanillaRNN: input has shape \(2, 6, 3, 5\); "
                       r"expected a 3-D batch \(L, N, 5\) or an unbatched 2-D \(L, 5\); got 4-D"):  # fmt: skip
        layer(torch.randn(2, 6, 3, 5))
    with pytest.raises(ValueError, match="got 1-D"):
        layer(torch.randn(5))
    with pytest.raises(ValueError, match=r"the last dimension must equal input_size=5"):
        layer(torch.randn(6, 3, 4))
    with pytest.raises(ValueError, match="the sequence length must be at least 1"):
        layer(torch.randn(0, 3, 5))
    with pytest.raises(TypeError, match=r"AnalogVanillaRNN: input has dtype torch.int64"):
        layer(torch.ones(6, 3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"AnalogRNN: input has shape \(6, 5\); expected "
                       r"\(L, N, 5\), time first"):  # fmt: skip
        AnalogRNN(AnalogLSTMCell, 5, 7)(torch.randn(6, 5))


def test_reference_form_state_errors():
    model = AnalogRNN(AnalogLSTMCell, 5, 7, num_layers=2)
    x = torch.randn(4, 3, 5)
    with pytest.raises(ValueError, match=r"states must be a list of 2 per-layer states"):
        model(x, [model.get_zero_state(3)[0]])
    states = model.get_zero_state(3)
    states[1] = (torch.zeros(2, 7), torch.zeros(3, 7))
    with pytest.raises(ValueError, match=r"the state of cell 1 has shape \(2, 7\); expected "
                       r"\(3, 7\)"):  # fmt: skip
        model(x, states)


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        AnalogLSTM(5, 7, num_layers=2, dropout=1.5)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        AnalogLSTM(5, 7, dropout=0.5)
    with pytest.raises(ValueError, match="num_layers must be a positive integer; got 0"):
        AnalogGRU(5, 7, num_layers=0)
    with pytest.raises(TypeError, match="batch_first must be True or False; got 1"):
        AnalogGRU(5, 7, batch_first=1)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        AnalogLSTM(5, 7, proj_size=7)
    with pytest.raises(ValueError, match="proj_size must be an integer >= 0; got -1"):
        AnalogLSTM(5, 7, proj_size=-1)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'; got 'gelu'"):
        AnalogVanillaRNN(5, 7, nonlinearity="gelu")
    with pytest.raises(TypeError, match="tile_module_class=.* is not supported.*allowed: None"):
        AnalogRNN(AnalogLSTMCell, 5, 7, True, None, object)
    with pytest.raises(TypeError, match="cell must be a cell class such as AnalogLSTMCell"):
        AnalogRNN(AnalogLSTMCell(5, 7), 5, 7)


def test_dropout_between_layers_in_training_only():
    layer = AnalogLSTM(5, 7, num_layers=2, dropout=0.5)
    x = torch.randn(4, 3, 5)
    layer.eval()
    first, _ = layer(x)
    torch.testing.assert_close(layer(x)[0], first, rtol=0, atol=0)
    layer.train()
    assert not torch.allclose(layer(x)[0], first)


def test_float64_input_gives_float64_outputs_and_states_close_to_torch():
    reference = nn.LSTM(5, 7, num_layers=2).double()
    layer = convert_to_analog(reference)
    x = torch.randn(6, 3, 5, dtype=torch.float64)
    out, (h, c) = layer(x)
    out_ref, (h_ref, c_ref) = reference(x)
    assert out.dtype == h.dtype == c.dtype == torch.float64
    # The tiles hold the weights in float32.
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(c, c_ref, rtol=1e-5, atol=1e-6)


def test_reference_form_trains_every_cell_through_its_tiles():
    model = AnalogRNN(AnalogGRUCell, 3, 4, num_layers=2, bidir=True)
    out, _ = model(torch.randn(5, 2, 3))
    out.sum().backward()
    for cell in model.cells:
        assert cell.weight_ih.analog_tile.num_recorded == 10  # 5 steps x 2 sequences
        assert cell.weight_hh.analog_tile.num_recorded == 10


@pytest.mark.parametrize("cls", list(TORCH))
def test_gradients_reach_the_initial_state_as_in_torch(cls):
    reference, layer = _pair(cls, num_layers=2, bidirectional=True)
    x = torch.randn(4, 2, 5)
    hx = _hx(cls, reference, 2)
    parts = hx if isinstance(hx, tuple) else (hx,)
    ours = tuple(p.clone().requires_grad_() for p in parts)
    theirs = tuple(p.clone().requires_grad_() for p in parts)
    as_hx = (lambda t: t) if isinstance(hx, tuple) else (lambda t: t[0])
    layer(x, as_hx(ours))[0].sum().backward()
    reference(x, as_hx(theirs))[0].sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.grad, b.grad, **TOL)


def test_an_empty_batch_gives_empty_outputs():
    out, h = AnalogGRU(3, 4, num_layers=2)(torch.randn(5, 0, 3))
    assert out.shape == (5, 0, 4) and h.shape == (2, 0, 4)

"""Training the analog recurrent layers through ``AnalogSGD``: a tile used at every time
step records every step's ``(x, d)``, and one optimizer step applies all of them."""

from __future__ import annotations

import io

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear, AnalogLSTM, convert_to_analog
from aihw.optim import AnalogSGD


def test_one_step_applies_the_sum_of_every_time_steps_outer_product():
    """Floating-point tiles: ``W_hh -= lr * sum_t d_t^T h_{t-1}`` over all recorded steps,
    which is the gradient of the unrolled network (torch's autograd of ``nn.RNN``)."""
    steps, batch, lr = 7, 3, 0.1
    reference = nn.RNN(4, 5)
    layer = convert_to_analog(reference)
    hh = layer.cells[0].weight_hh
    x = torch.randn(steps, batch, 4)
    target = torch.randn(steps, batch, 5)
    nn.functional.mse_loss(layer(x)[0], target).backward()
    nn.functional.mse_loss(reference(x)[0], target).backward()
    tile = hh.analog_tile
    assert tile.num_recorded == steps * batch
    records = tile._recorded
    assert len(records) == steps  # one (x, d) pair per time step
    outer = sum(d.T @ h for h, d in records)
    torch.testing.assert_close(outer, reference.weight_hh_l0.grad, rtol=1e-5, atol=1e-6)
    before = hh.get_weights()[0]
    AnalogSGD(layer.parameters(), lr=lr).step()
    torch.testing.assert_close(hh.get_weights()[0], before - lr * outer, rtol=1e-5, atol=1e-6)
    assert tile.num_recorded == 0
    # The input matrix is one pass over all steps: the same rows, one record.
    assert layer.cells[0].weight_ih.analog_tile.num_recorded == 0


def test_floating_point_training_equals_torch_sgd():
    reference = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    layer = convert_to_analog(reference)
    optimizer = AnalogSGD(layer.parameters(), lr=0.2)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=0.2)
    x = torch.randn(3, 5, 4)
    target = torch.randn(3, 5, 12)
    for _ in range(4):
        for net, opt in ((layer, optimizer), (reference, ref_optimizer)):
            opt.zero_grad()
            nn.functional.mse_loss(net(x)[0], target).backward()
            opt.step()
    digital = layer.cells[3].weight_hh  # layer 1, reverse direction
    weight, bias = digital.get_weights()
    torch.testing.assert_close(weight, reference.weight_hh_l1_reverse, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(bias, reference.bias_hh_l1_reverse, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(layer(x)[0], reference(x)[0], rtol=1e-4, atol=1e-5)


def test_packed_sequences_record_one_row_per_real_time_step():
    layer = AnalogLSTM(3, 4, batch_first=True)
    lengths = torch.tensor([5, 2, 4])
    packed = pack_padded_sequence(
        torch.randn(3, 5, 3), lengths, batch_first=True, enforce_sorted=False
    )
    out, _ = layer(packed)
    out.data.sum().backward()
    cell = layer.cells[0]
    assert cell.weight_ih.analog_tile.num_recorded == int(lengths.sum())
    assert cell.weight_hh.analog_tile.num_recorded == int(lengths.sum())


def test_a_pulsed_device_changes_its_weights_towards_the_gradient():
    torch.manual_seed(0)
    reference = nn.LSTM(4, 8)
    layer = convert_to_analog(reference, ConstantStepResistiveDevice())
    x = torch.randn(10, 16, 4)
    target = torch.randn(10, 16, 8)
    nn.functional.mse_loss(reference(x)[0], target).backward()
    nn.functional.mse_loss(layer(x)[0], target).backward()
    matrices = [layer.cells[0].weight_ih, layer.cells[0].weight_hh]
    before = [m.get_weights()[0] for m in matrices]
    AnalogSGD(layer.parameters(), lr=0.5).step()
    for m, old, grad in zip(
        matrices, before, (reference.weight_ih_l0.grad, reference.weight_hh_l0.grad), strict=True
    ):
        change = m.get_weights()[0] - old
        assert m.analog_tile.num_recorded == 0
        assert (change != 0).float().mean() > 0.2  # pulses reached many cross-points
        cosine = torch.nn.functional.cosine_similarity(change.flatten(), -grad.flatten(), dim=0)
        assert cosine > 0.3, cosine  # the pulsed step follows the gradient on average


def _sum_task(batch: int, length: int, generator: torch.Generator):
    """Sequences of values in [-1, 1]; the target is half their sum (read after the last)."""
    values = torch.rand(batch, length, 1, generator=generator) * 2 - 1
    return values, values.sum(1) / 2


def test_training_an_lstm_on_a_sequence_task_lowers_the_loss():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    device = ConstantStepResistiveDevice()
    lstm = AnalogLSTM(1, 12, batch_first=True, resistive_device=device, seed=1)
    head = AnalogLinear(12, 1, resistive_device=device, seed=100)
    optimizer = AnalogSGD([*lstm.parameters(), *head.parameters()], lr=0.1)
    x_val, y_val = _sum_task(256, 6, generator)

    def val_loss() -> float:
        with torch.no_grad():
            return float(nn.functional.mse_loss(head(lstm(x_val)[0][:, -1]), y_val))

    start = val_loss()
    for _ in range(150):
        x, y = _sum_task(32, 6, generator)
        optimizer.zero_grad()
        nn.functional.mse_loss(head(lstm(x)[0][:, -1]), y).backward()
        optimizer.step()
    end = val_loss()
    # Predicting the mean would score the target's variance (about 0.5): the LSTM sums.
    assert end < 0.2 * float(y_val.var()) and end < 0.2 * start, (start, end)


def test_a_pulsed_lstm_checkpoint_resumes_bit_identically():
    def step(model, x, y):
        optimizer = AnalogSGD(model.parameters(), lr=0.1)
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x)[0], y).backward()
        optimizer.step()

    device = ConstantStepResistiveDevice()
    model = AnalogLSTM(3, 5, num_layers=2, bidirectional=True, resistive_device=device, seed=7)
    x, y = torch.randn(4, 2, 3), torch.randn(4, 2, 10)
    step(model, x, y)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    resumed = AnalogLSTM(3, 5, num_layers=2, bidirectional=True, resistive_device=device, seed=99)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    for _ in range(2):
        step(model, x, y)
        step(resumed, x, y)
    assert torch.equal(model(x)[0], resumed(x)[0])

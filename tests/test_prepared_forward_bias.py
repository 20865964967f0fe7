"""A layer of one column split gets its digital bias from the output stage itself (no
separate ``out + bias`` pass): the same bits, bound-management re-runs included."""

from __future__ import annotations

import pytest
import torch

from aihw.core import _core as core
from aihw.devices import InferenceRPUConfig
from aihw.nn import AnalogLinear


def test_engine_adds_the_bias_into_rows_without_a_bound_hit():
    rows, cols = 6, 37
    y = 0.3 * torch.randn(rows, cols, generator=torch.Generator().manual_seed(2))
    y[1, 4] = 9.0  # hits the bound
    y[4, 36] = -9.0
    bias = torch.randn(cols, generator=torch.Generator().manual_seed(3))
    adc = core.OutputStageConfig(0.01, False, 1.5, True, 0.0, 0.0, 7, 11, 12)
    plain = y.clone()
    hit = torch.zeros(rows, dtype=torch.uint8)
    args = (0, 0, 0, 0, 0, 5, 0, 0, hit.data_ptr(), 1)
    assert core.output_stage(adc, plain.data_ptr(), rows, cols, *args) == 2
    fused = y.clone()
    assert (
        core.output_stage(
            adc, fused.data_ptr(), rows, cols, *args, accumulate_bias_ptr=bias.data_ptr()
        )
        == 2
    )
    hits = hit.bool()
    assert hits.tolist() == [False, True, False, False, True, False]
    assert torch.equal(fused[~hits], plain[~hits] + bias)
    assert torch.equal(fused[hits], plain[hits])  # left to the caller


def _layer(out_bound: float, in_size: int) -> AnalogLinear:
    config = InferenceRPUConfig()
    config.forward.out_bound = out_bound
    torch.manual_seed(0)
    layer = AnalogLinear(in_size, 24, rpu_config=config, seed=11)
    with torch.no_grad():
        layer.bias.uniform_(-0.5, 0.5)
    return layer


@pytest.mark.parametrize("out_bound", [12.0, 0.3])  # the default; bound hits and re-runs
@pytest.mark.parametrize("in_size", [40, 600])  # one and two column splits
def test_the_fused_bias_gives_the_bits_of_adding_it_after(out_bound, in_size):
    x = 3.0 * torch.randn(16, in_size, generator=torch.Generator().manual_seed(5))
    fused, unfused = _layer(out_bound, in_size), _layer(out_bound, in_size)
    with torch.no_grad():
        fused(x[:2]), unfused(x[:2])  # prepare the passes, counters in step
        got = fused(x)
        want = unfused.grid.prepared_forward(x, None) + unfused.bias
    assert torch.equal(got, want)
    passes = [t.forward_periphery.last_passes for t in fused.analog_tiles()]
    assert (max(passes) > 1) == (out_bound < 1.0)

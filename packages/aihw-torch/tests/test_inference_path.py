"""Inference through a tile grid shares each column split's DAC and matrix product; its
outputs must be exactly those of the tile-by-tile path (what training runs)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import IOParameters
from aihw.core.first_pass import SharedFirstPass
from aihw.core.periphery import native_periphery_available
from aihw.devices import InferenceRPUConfig
from aihw.nn import AnalogLinear, MappingParameters

pytestmark = pytest.mark.skipif(
    not native_periphery_available(), reason="the shared path needs the compiled engine"
)


def _layer(io: IOParameters, seed: int = 3) -> AnalogLinear:
    config = InferenceRPUConfig()
    config.forward = io
    mapping = MappingParameters(max_input_size=32, max_output_size=16)  # 3 x 3 tiles
    torch.manual_seed(0)  # the same initial weights
    return AnalogLinear(70, 40, bias=True, rpu_config=config, mapping=mapping, seed=seed)


def _inputs(layer: AnalogLinear) -> torch.Tensor:
    x = torch.randn(9, 70, generator=torch.Generator().manual_seed(1))
    start, length = layer._col_splits[1]
    x[5, start : start + length] = 0.0  # zero in one split: scale 0 there, tile by tile
    return x


@pytest.mark.parametrize(
    "io",
    [
        IOParameters(),
        IOParameters(out_bound=0.3, out_noise=0.1),  # bound management re-runs rows
        IOParameters(out_bound=0.3, bound_management="None"),  # hits stay clipped
        IOParameters(noise_management="None", inp_bound=4.0),
        IOParameters(out_noise_std=0.5),  # per-output noise
        IOParameters(inp_noise=0.05),  # random DAC: tile by tile
    ],
    ids=[
        "defaults", "bound hits", "clipped hits", "no management", "per-output noise",
        "input noise",
    ],  # fmt: skip
)
def test_inference_equals_tile_by_tile(io, monkeypatch):
    shared_columns = _count_shared_columns(monkeypatch)
    shared, tiled = _layer(io), _layer(io)
    x = _inputs(shared)
    for _ in range(2):  # the counters advance alike
        with torch.no_grad():
            y_shared = shared(x)
        y_tiled = tiled(x.requires_grad_(True)).detach()
        x = x.detach()
        assert torch.equal(y_shared, y_tiled)
        for a, b in zip(shared.analog_tiles(), tiled.analog_tiles(), strict=True):
            assert a.forward_periphery.call_index == b.forward_periphery.call_index
            assert a.forward_periphery.last_passes == b.forward_periphery.last_passes
    # Two forwards: the shared path ran for two of the three splits (under noise
    # management a zero row sends the middle one tile by tile), never with a random DAC.
    if io.inp_noise > 0:
        assert shared_columns() == 0
    else:
        assert shared_columns() == 2 * (3 if io.noise_management == "None" else 2)


def _count_shared_columns(monkeypatch):
    """Count the column splits that a ``SharedFirstPass`` computed (one with several
    peripheries: a single periphery's first pass uses the class too)."""
    calls = []
    original = SharedFirstPass.__call__

    def counting(self, *args, **kwargs):
        y = original(self, *args, **kwargs)
        calls.append(y is not None and len(self.peripheries) > 1)
        return y

    monkeypatch.setattr(SharedFirstPass, "__call__", counting)
    return lambda: sum(calls)


def test_bound_hits_are_recomputed_in_the_shared_path():
    layer = _layer(IOParameters(out_bound=0.3, out_noise=0.0))
    with torch.no_grad():
        layer(_inputs(layer) * 3.0)
    assert max(t.forward_periphery.last_passes for t in layer.analog_tiles()) > 1

"""The compiled periphery stages against the plain-torch reference (contract §6).

Both draw the same numbers, so they agree bit for bit, noises on or off, whatever the
thread count.
"""

from __future__ import annotations

import pytest
import torch
from _periphery_helpers import HAVE_NATIVE, make_tile

from aihw.core import IOParameters, TileConfig
from aihw.core.periphery import Periphery
from aihw.core.reference.philox import periphery_normals_from_words
from aihw.core.tiles import AnalogTile

pytestmark = pytest.mark.skipif(not HAVE_NATIVE, reason="aihw.core._core is not built")

CONFIGS = {
    "defaults": {},
    "noise off": {"out_noise": 0.0},
    "no quantisation": {"inp_res": 0.0, "out_res": 0.0},
    "all noises": {
        "inp_noise": 0.05,
        "out_noise": 0.1,
        "out_noise_std": 0.3,
        "w_noise": 0.02,
        "w_noise_type": "AdditiveConstant",
        "out_res": 0.0,
    },
    "stochastic rounding": {
        "inp_sto_round": True,
        "out_sto_round": True,
        "inp_res": 0.1,
        "out_res": 0.05,
    },
    "asymmetries": {"inp_asymmetry": 0.1, "out_asymmetry": 0.2, "out_res": 0.0},
    "pcm read": {"w_noise": 0.03, "w_noise_type": "PCMRead"},
    "pos neg": {"mv_type": "PosNegSeparate", "w_noise": 0.01, "w_noise_type": "PCMRead"},
    "pos neg digital": {"mv_type": "PosNegSeparateDigitalSum", "out_res": 0.0},
    "worst case, small bound": {"bound_management": "IterativeWorstCase", "out_bound": 1.0},
    "iterative, small bound": {"out_bound": 0.5, "out_res": 0.0},
    "np sum": {"noise_management": "AbsMaxNPSum"},
    "max": {"noise_management": "Max"},
    "constant": {"noise_management": "Constant", "nm_thres": 2.0},
    "average abs max": {"noise_management": "AverageAbsMax"},
    "no management": {"noise_management": "None", "bound_management": "None", "inp_bound": 3.0},
    "ir drop": {"ir_drop": 1.0, "ir_drop_g_ratio": 50.0},
    "voltage offsets": {"v_offset_std": 0.1},
    "read asymmetry": {"mv_type": "PosNegSeparate", "w_read_asymmetry_dtod": 0.2},
    "non-linearity, weight noise": {
        "out_nonlinearity": 0.5,
        "out_nonlinearity_std": 0.2,
        "slope_calibration": 0.5,
        "w_noise": 0.02,
        "w_noise_type": "PCMRead",
    },
}


def _weights_and_inputs(out_size=37, in_size=1100, batch=19):
    g = torch.Generator().manual_seed(11)
    w = torch.randn(out_size, in_size, generator=g) * 0.05
    x = torch.randn(batch, in_size, generator=g)
    x[3] = 0.0  # a zero row
    return w, x


@pytest.mark.parametrize("name", list(CONFIGS))
def test_forward_identical(name):
    w, x = _weights_and_inputs()
    io = IOParameters(**CONFIGS[name])
    native = make_tile(w, io, backend="native", seed=123)
    ref = make_tile(w, io, backend="reference", seed=123)
    for threads in (1, 2, 3):
        native.num_threads = threads
        yn, yr = native.forward(x), ref.forward(x)
        assert torch.equal(yn, yr), f"{name}, {threads} threads"
        assert native.forward_periphery.last_passes == ref.forward_periphery.last_passes


@pytest.mark.parametrize("name", ["defaults", "all noises", "stochastic rounding", "pos neg"])
def test_backward_identical(name):
    w, _ = _weights_and_inputs()
    d = torch.randn(7, w.shape[0], generator=torch.Generator().manual_seed(2))
    io = IOParameters(**CONFIGS[name])
    native = make_tile(w, IOParameters(), io, backend="native")
    ref = make_tile(w, IOParameters(), io, backend="reference")
    assert torch.equal(native.backward(d), ref.backward(d))
    assert torch.equal(native.backward(d), ref.backward(d))


@pytest.mark.parametrize("name", ["defaults", "all noises", "stochastic rounding"])
def test_backward_with_zero_rows_identical(name):
    # Errors after max-pooling or ReLU are often all zero for a sample: those rows give a
    # zero output (+0.0, no noise), the others their own noise, as the reference does.
    w, _ = _weights_and_inputs()
    d = torch.randn(9, w.shape[0], generator=torch.Generator().manual_seed(3))
    d[[0, 4, 8]] = 0.0
    io = IOParameters(**CONFIGS[name])
    native = make_tile(w, IOParameters(), io, backend="native")
    ref = make_tile(w, IOParameters(), io, backend="reference")
    for _ in range(2):
        zn, zr = native.backward(d), ref.backward(d)
        assert torch.equal(zn, zr)
        assert not zn[[0, 4, 8]].any() and not zn[[0, 4, 8]].signbit().any()
        assert zn[[1, 2, 3, 5, 6, 7]].ne(0).any(dim=1).all()
        assert native.backward_periphery.last_passes == ref.backward_periphery.last_passes
        assert native.backward_periphery.call_index == ref.backward_periphery.call_index


def test_analog_tile_with_bias_identical(step_device):
    config = TileConfig(
        device=step_device,
        forward=IOParameters(out_noise=0.2),
        backward=IOParameters(inp_noise=0.1),
    )
    a = AnalogTile(6, 9, bias=True, seed=3, rpu_config=config)
    b = AnalogTile(6, 9, bias=True, seed=3, rpu_config=config)
    b.backend = "reference"
    x, d = torch.randn(4, 9), torch.randn(4, 6)
    assert torch.equal(a.forward(x), b.forward(x))
    assert torch.equal(a.backward(d), b.backward(d))


def test_normals_bit_identical(core):
    words = torch.randint(
        0, 2**32, (3000, 4), generator=torch.Generator().manual_seed(8), dtype=torch.int64
    )
    ref = periphery_normals_from_words(words)
    nat = torch.tensor([core.periphery_normals(*r) for r in words.tolist()], dtype=torch.float64)
    assert torch.equal(ref, nat.float())


def test_stage_results_do_not_depend_on_torch_threads():
    w, x = _weights_and_inputs()
    io = IOParameters(inp_noise=0.01)
    a, b = make_tile(w, io, backend="native"), make_tile(w, io, backend="native")
    torch.set_num_threads(1)
    ya = a.forward(x)
    torch.set_num_threads(2)
    assert torch.equal(ya, b.forward(x))


def test_native_backend_on_unsupported_device_raises():
    p = Periphery(IOParameters(), "forward", 3, 0)
    assert p.call_index == 0
    tile = make_tile(torch.eye(3), backend="native")
    tile.forward(torch.ones(1, 3))
    assert tile.periphery_uses_native()

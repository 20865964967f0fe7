"""The CUDA device operations (decay, diffusion, reset, write noise; contract §9, §10,
§11.2) against the CPU engine, bit for bit: their host emulation always, the kernels on a
GPU (tests marked ``cuda``)."""

from __future__ import annotations

import pytest
import torch

from aihw.core import engine, engine_cuda
from aihw.core.reference import device_ops as reference_device_ops

pytestmark = pytest.mark.skipif(
    not engine.native_available(), reason="needs the compiled engine (its emulation)"
)

SEED = 0xFEDC_BA98_7654_3210
SHAPES = [(3, 5), (1, 1), (7, 130), (2, 4099)]


def _arrays(rows: int, cols: int, device: str = "cpu") -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(rows * 1000 + cols)

    def r(scale: float, offset: float = 0.0) -> torch.Tensor:
        return (torch.rand(rows, cols, generator=gen) * scale + offset).to(device)

    return {
        "w": r(1.2, -0.6),
        "kappa": r(0.1, 0.9),
        "bias": r(0.2, -0.1),
        "w_min": r(0.2, -0.6),
        "w_max": r(0.2, 0.4),
        "rate": r(0.05),
    }


def _same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert torch.equal(a.view(torch.int32), b.view(torch.int32)), (a - b).abs().max()


def _both(op, w: torch.Tensor, *args) -> torch.Tensor:
    """The CPU engine's and the emulation's result of ``op`` on copies of ``w``."""
    want = w.clone()
    getattr(engine, op)(want, *args)
    got = w.clone()
    with engine_cuda.host_emulation():
        getattr(engine_cuda, op)(got, *args)
    _same(got, want)
    ref = w.clone()
    getattr(reference_device_ops, op)(ref, *args)
    _same(ref, want)
    return got


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bounded", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_decay_emulation_equals_the_cpu_engine(shape, bounded, with_bias):
    a = _arrays(*shape)
    lo, hi = (a["w_min"], a["w_max"]) if bounded else (None, None)
    out = _both("decay", a["w"], a["kappa"], a["bias"] if with_bias else None, lo, hi, 0.7)
    assert not torch.equal(out, a["w"])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bounded", [False, True])
def test_diffusion_emulation_equals_the_cpu_engine(shape, bounded):
    a = _arrays(*shape)
    lo, hi = (a["w_min"], a["w_max"]) if bounded else (None, None)
    for call in (0, 5, 0xFFFF_FFFF):
        _both("diffuse", a["w"], a["rate"], lo, hi, SEED, call)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reset_prob", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("reset_std", [0.0, 0.05])
@pytest.mark.parametrize("bounded", [False, True])
def test_reset_emulation_equals_the_cpu_engine(shape, reset_prob, reset_std, bounded):
    rows, cols = shape
    a = _arrays(rows, cols)
    lo, hi = (a["w_min"], a["w_max"]) if bounded else (None, None)
    spans = [(0, cols), (cols - 1, 1), (cols // 3, max(1, cols // 2 - cols // 3)), (0, 0)]
    for first, n in spans:
        out = _both(
            "reset_columns", a["w"], first, n, a["bias"], lo, hi, reset_std, reset_prob, SEED, 3
        )
        outside = torch.ones(cols, dtype=torch.bool)
        outside[first : first + n] = False
        assert torch.equal(out[:, outside], a["w"][:, outside])  # other columns untouched


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mask_kind", ["none", "bool", "uint8", "empty"])
def test_write_noise_emulation_equals_the_cpu_engine(shape, mask_kind):
    a = _arrays(*shape)
    gen = torch.Generator().manual_seed(5)
    mask = None
    if mask_kind != "none":
        mask = torch.rand(shape, generator=gen) < (0.0 if mask_kind == "empty" else 0.3)
        if mask_kind == "uint8":
            mask = mask.to(torch.uint8)
    visible = a["w"]
    out = _both("write_noise", visible, a["bias"], mask, 0.02, SEED, 7)
    if mask is not None:
        keep = ~mask.bool()
        assert torch.equal(out[keep], visible[keep])


def test_bad_input_is_refused_before_anything_runs():
    a = _arrays(4, 6)
    w = a["w"].clone()
    with engine_cuda.host_emulation():
        with pytest.raises(ValueError, match="rate must have one element per weight"):
            engine_cuda.diffuse(w, a["rate"][:2], None, None, SEED, 0)
        with pytest.raises(ValueError, match="w_min and w_max must be given together"):
            engine_cuda.decay(w, a["kappa"], None, a["w_min"], None, 1.0)
        with pytest.raises(ValueError, match="out of range"):
            engine_cuda.reset_columns(w, 5, 2, None, None, None, 0.0, 1.0, SEED, 0)
        with pytest.raises(ValueError, match="decay_scale must be a contiguous"):
            engine_cuda.decay(w, a["kappa"].t(), None, None, None, 1.0)
        with pytest.raises(ValueError, match="mask must be a bool or uint8"):
            engine_cuda.write_noise(w, a["bias"], torch.ones(4, 6), 0.1, SEED, 0)
    assert torch.equal(w, a["w"])


# -- on a GPU ---------------------------------------------------------------------------------
def _gpu(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.cuda()


def _kernel_vs_cpu(op, w: torch.Tensor, *args) -> None:
    want = w.clone()
    getattr(engine, op)(want, *args)
    got = w.cuda()
    getattr(engine_cuda, op)(got, *[_gpu(v) if isinstance(v, torch.Tensor) else v for v in args])
    _same(got.cpu(), want)


@pytest.mark.cuda
@pytest.mark.parametrize("shape", SHAPES + [(512, 513)])
def test_device_op_kernels_equal_the_cpu_engine(shape):
    rows, cols = shape
    a = _arrays(rows, cols)
    for lo, hi in ((None, None), (a["w_min"], a["w_max"])):
        _kernel_vs_cpu("decay", a["w"], a["kappa"], a["bias"], lo, hi, 0.5)
        _kernel_vs_cpu("decay", a["w"], a["kappa"], None, lo, hi, 1.0)
        _kernel_vs_cpu("diffuse", a["w"], a["rate"], lo, hi, SEED, 9)
        for prob in (0.0, 0.3, 1.0):
            for std in (0.0, 0.05):
                _kernel_vs_cpu(
                    "reset_columns", a["w"], cols // 3, cols - cols // 3, a["bias"], lo, hi,
                    std, prob, SEED, 2,
                )  # fmt: skip
    mask = torch.rand(rows, cols) < 0.3
    for m in (None, mask, mask.to(torch.uint8)):
        _kernel_vs_cpu("write_noise", a["w"], a["bias"], m, 0.02, SEED, 4)


@pytest.mark.cuda
def test_bad_gpu_input_gives_a_clear_error_and_changes_nothing():
    a = _arrays(4, 6, "cuda")
    w = a["w"].clone()
    with pytest.raises(ValueError, match="rate must be a contiguous torch.float32 tensor on cuda"):
        engine_cuda.diffuse(w, a["rate"].cpu(), None, None, SEED, 0)
    with pytest.raises(ValueError, match="not contiguous"):
        engine_cuda.decay(w, a["kappa"].t().contiguous().t()[:, :6], None, None, None, 1.0)
    with pytest.raises(ValueError, match="hidden must be a contiguous torch.float32"):
        engine_cuda.write_noise(w, a["bias"].double(), None, 0.1, SEED, 0)
    assert torch.equal(w, a["w"])


# -- a tile's calls routed to the CUDA functions ----------------------------------------------
def _pair():
    from _device_op_helpers import OpsDevice

    from aihw.core import IOParameters, TileConfig
    from aihw.core.tiles import AnalogTile

    # No cycle-to-cycle step noise: the update then gives the same bits on every back-end.
    params = dict(
        dw_min_std=0.0,
        lifetime=30.0,
        diffusion=0.01,
        reset=0.05,
        reset_std=0.02,
        write_noise_std=0.3,
    )
    # Noise, DAC and ADC steps, bounds and stochastic rounding: every stage draws numbers.
    io = IOParameters(inp_noise=0.02, out_noise=0.05, inp_sto_round=True, out_bound=4.0)
    tiles = []
    for _ in range(2):
        config = TileConfig(device=OpsDevice(**params), forward=io, backward=io)
        tile = AnalogTile(6, 9, bias=True, seed=21, rpu_config=config)
        tile.backend = "native"
        tile.set_weights(torch.linspace(-0.4, 0.4, 54).reshape(6, 9), torch.linspace(-0.1, 0.1, 6))
        tiles.append(tile)
    return tiles


def _exercise(tile, x, d):
    y = tile.forward(x)
    z = tile.backward(d)
    tile.update(x, d, lr=0.05)
    tile.decay_weights(alpha=0.5)
    tile.diffuse_weights()
    tile.reset_columns(2, 3, reset_prob=0.5)
    return y, z, tile.get_weights()[0]


def test_a_tile_routed_to_the_cuda_functions_gives_the_cpu_engines_numbers(monkeypatch):
    """The tiles' dispatch to aihw.core.engine_cuda (which a tile on a GPU takes), run here
    on the CPU through the kernels' host emulation: forward and backward periphery, the
    post-update device operations and the explicit ones give the CPU engine's bits."""
    native, routed = _pair()
    calls = []
    monkeypatch.setattr(routed, "_periphery_engine", lambda: calls.append("p") or "cuda")
    monkeypatch.setattr(routed, "_device_ops_engine", lambda: calls.append("d") or "cuda")
    gen = torch.Generator().manual_seed(3)
    x, d = torch.randn(5, 9, generator=gen), torch.randn(5, 6, generator=gen) * 0.3
    want = _exercise(native, x, d)
    with engine_cuda.host_emulation():
        got = _exercise(routed, x, d)
    for a, b in zip(got, want, strict=True):
        _same(a, b)
    assert "p" in calls and "d" in calls  # the routed calls did take the CUDA functions


@pytest.mark.cuda
def test_a_tile_on_a_gpu_gives_the_cpu_tiles_numbers():
    cpu, gpu = _pair()
    gpu.cuda()
    assert gpu._periphery_engine() == "cuda" and gpu._device_ops_engine() == "cuda"
    gen = torch.Generator().manual_seed(3)
    x, d = torch.randn(5, 9, generator=gen), torch.randn(5, 6, generator=gen) * 0.3
    want = _exercise(cpu, x, d)
    got = _exercise(gpu, x.cuda(), d.cuda())
    for a, b in zip(got, want, strict=True):
        _same(a.cpu(), b)

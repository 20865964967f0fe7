"""The pulsed update on CUDA (engine contract §11.1) against the CPU engine.

``pulsed_update_cuda_emulated`` runs the CUDA kernels' bodies on the CPU, block by block and
phase by phase in the kernels' order, so these tests check their arithmetic, their random
numbers and the order of the pulses on any machine: the same weights (bit for bit, noise or
not), pulse counts and pulsed mask as ``aihw.core.engine.pulsed_update``. The tests marked
``cuda`` run the real kernels on a GPU against the CPU engine, bit for bit for every law
(exp_step and pow_step use the float32 polynomials of aihw/f32_math.hpp, not libm).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch

from aihw.core import UpdateParameters, engine
from aihw.core.laws import LAWS, StepLaw
from aihw.core.parameters import PulseType

EXP = {
    "A_up": 0.00081,
    "A_down": 0.36833,
    "gamma_up": 12.44625,
    "gamma_down": 12.78785,
    "a": -0.37030,
    "b": -0.38,
    "dw_min_std_add": 0.0,
    "dw_min_std_slope": 0.0,
}
LAW_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "constant": ("constant_step", {}),
    "linear_mult": ("linear_step", {"mult_noise": 1.0}),
    "linear_add": ("linear_step", {"mult_noise": 0.0}),
    "sbref": ("soft_bounds_reference", {"mult_noise": 0.0}),
    "exp": ("exp_step", EXP),
    "exp_spread": ("exp_step", {**EXP, "dw_min_std_add": 0.002, "dw_min_std_slope": 0.1}),
    "pow": ("pow_step", {}),
    "piecewise": (
        "piecewise_step",
        {"piecewise_up": (1.0, 0.8, 0.3, 0.1), "piecewise_down": (0.2, 0.5, 0.9, 1.2)},
    ),
}
UPDATES = {
    "ublm": UpdateParameters(),
    "um": UpdateParameters(update_bl_management=False),
    "none": UpdateParameters(update_bl_management=False, update_management=False),
    "variable_bl": UpdateParameters(
        fixed_bl=False, update_bl_management=False, update_management=False, desired_bl=5
    ),
    "sto_round": UpdateParameters(res=0.05, sto_round=True),
    "res": UpdateParameters(res=0.05, update_bl_management=False),
    "bl_200": UpdateParameters(desired_bl=200, update_bl_management=False),
    "stochastic": UpdateParameters(pulse_type=PulseType.STOCHASTIC),
    "implicit": UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT, x_res_implicit=0.1, d_res_implicit=0.1
    ),
    "implicit_sto": UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT,
        x_res_implicit=0.1,
        d_res_implicit=0.1,
        sto_round=True,
    ),
    "mean_count": UpdateParameters(pulse_type=PulseType.MEAN_COUNT, desired_bl=40),
}


@dataclasses.dataclass
class Case:
    law: StepLaw
    arrays: dict[str, torch.Tensor]
    scalars: dict[str, Any]
    weights: torch.Tensor
    x: torch.Tensor
    d: torch.Tensor


def _case(variant: str, d_size: int, x_size: int, batch: int, std: float, seed: int = 0) -> Case:
    name, extra = LAW_VARIANTS[variant]
    law = LAWS[name]
    gen = torch.Generator().manual_seed(seed)

    def normal() -> torch.Tensor:
        return torch.randn(d_size, x_size, generator=gen)

    dw_up = (0.01 * (1 + 0.3 * normal())).abs()
    dw_down = (0.01 * (1 + 0.3 * normal())).abs()
    w_max = (0.6 * (1 + 0.2 * normal())).abs()
    w_min = -(0.6 * (1 + 0.2 * normal())).abs()
    w_min[0, :2] = w_max[0, :2] = 0.1  # dead devices
    arrays = {"dw_up": dw_up, "dw_down": dw_down, "w_min": w_min, "w_max": w_max}
    if name in ("linear_step", "soft_bounds_reference"):
        arrays["slope_up"] = -dw_up / w_max * (1 + 0.1 * normal())
        arrays["slope_down"] = -dw_down / w_min * (1 + 0.1 * normal())
    if name == "soft_bounds_reference":
        arrays["reference"] = 0.2 * normal()
    if name == "pow_step":
        arrays["gamma_up"] = (1.5 * (1 + 0.3 * normal())).abs()
        arrays["gamma_down"] = (0.8 * (1 + 0.3 * normal())).abs()
    weights = torch.minimum(torch.maximum(0.3 * normal(), w_min), w_max)
    x = torch.randn(batch, x_size, generator=gen)
    d = torch.randn(batch, d_size, generator=gen) * 0.5
    x[x.abs() < 0.2] = 0.0  # inputs that never fire
    if batch > 2:
        d[1] = 0.0  # a sample that does nothing
    if d_size > 2:
        d[:, 2] = 0.0  # a row that never fires
    scalars = {"dw_min_std": std, **extra}
    return Case(law, {k: arrays[k].contiguous() for k in law.arrays}, scalars, weights, x, d)


def _emulated(
    case: Case,
    weights: torch.Tensor,
    lr: float,
    update: UpdateParameters,
    seed: int,
    index: int,
    mask: torch.Tensor | None,
) -> int:
    module = engine.load()
    d_size, x_size = weights.shape
    return module.pulsed_update_cuda_emulated(
        engine.update_config(case.law, lr, 0.01, update),
        weights.data_ptr(),
        d_size,
        x_size,
        case.x.data_ptr(),
        case.d.data_ptr(),
        case.x.shape[0],
        case.law.engine_id,
        [case.arrays[k].data_ptr() for k in case.law.arrays],
        case.law.flat_scalars(case.scalars),
        seed,
        index,
        0 if mask is None else mask.data_ptr(),
    )


def _compare(case: Case, lr: float, update: UpdateParameters, min_pulses: int = 1) -> None:
    """Emulation == CPU engine: weights (bits), pulses and mask, over two update calls."""
    w_cpu, w_emu = case.weights.clone(), case.weights.clone()
    m_cpu = torch.full(w_cpu.shape, 7, dtype=torch.uint8)
    m_emu = torch.full(w_cpu.shape, 7, dtype=torch.uint8)
    total = 0
    for index in (0, 1):
        n_cpu = engine.pulsed_update(
            w_cpu,
            case.x,
            case.d,
            case.law,
            case.arrays,
            case.scalars,
            lr,
            0.01,
            update,
            99,
            index,
            m_cpu,
        )
        n_emu = _emulated(case, w_emu, lr, update, 99, index, m_emu)
        assert n_emu == n_cpu
        assert torch.equal(w_emu, w_cpu)
        assert torch.equal(m_emu, m_cpu)
        total += n_cpu
    assert total >= min_pulses
    assert not torch.equal(w_cpu, case.weights)


@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
@pytest.mark.parametrize("variant", sorted(LAW_VARIANTS))
def test_emulation_every_law(core, variant, std):
    _compare(_case(variant, 9, 13, 8, std), 0.2, UPDATES["um"], min_pulses=50)


@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
@pytest.mark.parametrize("update", sorted(UPDATES))
def test_emulation_every_update_rule(core, update, std):
    for variant in ("constant", "linear_add"):
        _compare(_case(variant, 11, 37, 6, std, seed=3), 0.3, UPDATES[update], min_pulses=20)


@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
def test_emulation_long_rows_and_many_samples(core, std):
    """Rows of several apply passes (x_size > 1024: the ordinals run on from pass to pass),
    dense samples (most columns fire, the CPU's vectorised path), a batch over several
    samples, BL > 64 (several words per train)."""
    case = _case("linear_mult", 5, 2100, 4, std, seed=5)
    _compare(case, 0.5, UPDATES["um"], min_pulses=1000)
    _compare(case, 0.5, UPDATES["bl_200"], min_pulses=1000)


@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
def test_emulation_several_row_groups(core, std):
    """BL > 2^19 gives row groups of G = 1024 columns: a row of 1100 columns reads two
    sequences of normals; trains longer than 4096 slots are summed over segments."""
    case = _case("constant", 3, 1100, 2, std, seed=7)
    case.x.zero_()
    case.x[:, 1000:1060] = 0.9  # columns on both sides of column 1024
    case.x[1, 1050:1055] = -0.8
    case.x[:, 5] = 0.5
    update = UpdateParameters(
        desired_bl=(1 << 19) + 3, update_bl_management=False, update_management=False
    )
    _compare(case, 0.05, update, min_pulses=100)


def test_emulation_zero_learning_rate_and_silent_samples(core):
    case = _case("constant", 4, 6, 3, 0.3)
    w = case.weights.clone()
    mask = torch.ones(4, 6, dtype=torch.uint8)
    assert _emulated(case, w, 0.0, UPDATES["um"], 1, 0, mask) == 0
    assert torch.equal(w, case.weights) and not mask.any()
    case.d.zero_()
    assert _emulated(case, w, 0.1, UPDATES["um"], 1, 0, mask) == 0
    assert torch.equal(w, case.weights) and not mask.any()


def test_emulation_refuses_what_the_cpu_refuses(core):
    case = _case("constant", 4, 6, 3, 0.0)
    module = engine.load()
    # the CPU engine takes trains up to 2**30 slots, the kernels (and the tiles) up to 2**20
    long = module.PulsedUpdateConfig(0.1, 0.01, (1 << 20) + 1, True, False, False, 1.0, 0, False)
    with pytest.raises(ValueError, match="2\\*\\*20"):
        module.pulsed_update_cuda_scratch_bytes(long, 4, 6, 3)
    with pytest.raises(ValueError, match="scalars"):
        case.scalars = {}
        module.pulsed_update_cuda_emulated(
            engine.update_config(case.law, 0.1, 0.01, UPDATES["um"]),
            case.weights.data_ptr(),
            4,
            6,
            case.x.data_ptr(),
            case.d.data_ptr(),
            3,
            1,
            [a.data_ptr() for a in case.arrays.values()],
            [],
            1,
            0,
        )


def test_cuda_entry_refuses_cpu_tensors_before_anything(core):
    """The checks run before the kernels are needed: CPU weights are refused by name on any
    machine (with or without CUDA kernels), and nothing changes."""
    from aihw.core import engine_cuda

    case = _case("constant", 4, 6, 3, 0.0)
    w = case.weights.clone()
    with pytest.raises(ValueError, match="weights must be on a CUDA device"):
        engine_cuda.pulsed_update(
            w, case.x, case.d, case.law, case.arrays, case.scalars, 0.1, 0.01, UPDATES["um"], 1, 0
        )
    assert torch.equal(w, case.weights)


@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
def test_entry_point_under_host_emulation(core, std):
    """engine_cuda.pulsed_update itself (its checks, its arguments) on the emulation: the CPU
    engine's result, the count as a 0-dim int64 tensor; a wrong shape is refused by name."""
    from aihw.core import engine_cuda

    case = _case("piecewise", 7, 30, 5, std, seed=9)
    w_cpu, w_emu = case.weights.clone(), case.weights.clone()
    m_cpu = torch.zeros(w_cpu.shape, dtype=torch.uint8)
    m_emu = torch.ones(w_cpu.shape, dtype=torch.uint8)
    args = (case.law, case.arrays, case.scalars, 0.2, 0.01, UPDATES["um"], 3, 4)
    n_cpu = engine.pulsed_update(w_cpu, case.x, case.d, *args, m_cpu)
    with engine_cuda.host_emulation():
        n_emu = engine_cuda.pulsed_update(w_emu, case.x, case.d, *args, m_emu)
        with pytest.raises(ValueError, match="pulsed_mask must have shape"):
            engine_cuda.pulsed_update(w_emu, case.x, case.d, *args, m_emu[:, :3])
        with pytest.raises(ValueError, match="d must have shape"):
            engine_cuda.pulsed_update(w_emu, case.x, case.d[:, :3], *args)
    assert isinstance(n_emu, torch.Tensor) and n_emu.dim() == 0 and n_emu.dtype == torch.int64
    assert int(n_emu) == n_cpu > 0
    assert torch.equal(w_emu, w_cpu) and torch.equal(m_emu, m_cpu)


def test_update_engine_reports_the_implementation(core, make_device, monkeypatch):
    from aihw.core import AnalogTile, laws

    tile = AnalogTile(3, 4, make_device(), seed=0)
    assert tile.update_engine == "native" and tile.uses_native()
    tile.backend = "reference"
    assert tile.update_engine == "reference" and not tile.uses_native()
    law = laws.StepLaw("py_only", 0, ("w_min", "w_max"), (), lambda w, up, a, s, xi: w, "")
    monkeypatch.setitem(laws.LAWS, "py_only", law)

    class PyOnly(make_device):
        law = "py_only"

    py_tile = AnalogTile(2, 2, PyOnly(), seed=0)
    assert py_tile.update_engine == "reference"
    py_tile.backend = "native"
    with pytest.raises(RuntimeError, match="'py_only' exists only in Python"):
        _ = py_tile.update_engine


# -- the real kernels (a GPU) -------------------------------------------------------------------
def _cuda_compare(variant: str, update: UpdateParameters, std: float, shape, lr: float) -> None:
    from aihw.core import engine_cuda

    d_size, x_size, batch = shape
    case = _case(variant, d_size, x_size, batch, std, seed=2)
    dev = torch.device("cuda")
    w_cpu, w_gpu = case.weights.clone(), case.weights.to(dev)
    m_cpu = torch.zeros(w_cpu.shape, dtype=torch.uint8)
    m_gpu = torch.ones(w_cpu.shape, dtype=torch.uint8, device=dev)
    arrays = {k: v.to(dev) for k, v in case.arrays.items()}
    for index in (0, 1):
        n_cpu = engine.pulsed_update(
            w_cpu,
            case.x,
            case.d,
            case.law,
            case.arrays,
            case.scalars,
            lr,
            0.01,
            update,
            5,
            index,
            m_cpu,
        )
        n_gpu = engine_cuda.pulsed_update(
            w_gpu,
            case.x.to(dev),
            case.d.to(dev),
            case.law,
            arrays,
            case.scalars,
            lr,
            0.01,
            update,
            5,
            index,
            m_gpu,
        )
        assert n_gpu.device == dev and n_gpu.dtype == torch.int64 and n_gpu.dim() == 0
        assert int(n_gpu) == n_cpu
        assert torch.equal(m_gpu.cpu(), m_cpu)
        assert torch.equal(w_gpu.cpu(), w_cpu)


@pytest.mark.cuda
@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
@pytest.mark.parametrize("variant", sorted(LAW_VARIANTS))
def test_cuda_every_law(core, variant, std):
    _cuda_compare(variant, UPDATES["um"], std, (9, 13, 8), 0.2)


@pytest.mark.cuda
@pytest.mark.parametrize("std", [0.0, 0.3], ids=["noiseless", "noisy"])
@pytest.mark.parametrize("update", sorted(UPDATES))
def test_cuda_every_update_rule(core, update, std):
    _cuda_compare("linear_add", UPDATES[update], std, (11, 37, 6), 0.3)
    _cuda_compare("constant", UPDATES[update], std, (40, 2100, 33), 0.3)


@pytest.mark.cuda
def test_cuda_long_trains(core):
    update = UpdateParameters(desired_bl=5000, update_bl_management=False)
    _cuda_compare("constant", update, 0.3, (7, 50, 3), 0.05)


@pytest.mark.cuda
def test_cuda_bad_input_changes_nothing(core):
    from aihw.core import engine_cuda

    case = _case("constant", 4, 6, 3, 0.0)
    dev = torch.device("cuda")
    w = case.weights.to(dev)
    arrays = {k: v.to(dev) for k, v in case.arrays.items()}
    x, d = case.x.to(dev), case.d.to(dev)
    args = (case.law, arrays, case.scalars, 0.1, 0.01, UPDATES["um"], 1, 0)
    before = w.clone()
    with pytest.raises(ValueError, match="x must be a contiguous"):
        engine_cuda.pulsed_update(w, case.x, d, *args)  # x on the CPU
    with pytest.raises(ValueError, match="not contiguous"):
        engine_cuda.pulsed_update(w, x.T.contiguous().T, d, *args)
    with pytest.raises(ValueError, match="d must be a contiguous"):
        engine_cuda.pulsed_update(w, x, d.double(), *args)
    with pytest.raises(ValueError, match="arrays\\['dw_up'\\]"):
        bad = dict(arrays, dw_up=case.arrays["dw_up"])
        engine_cuda.pulsed_update(w, x, d, case.law, bad, *args[2:])
    with pytest.raises(ValueError, match="must be on a CUDA device"):
        engine_cuda.pulsed_update(case.weights, x, d, *args)
    with pytest.raises(ValueError, match="pulsed_mask"):
        engine_cuda.pulsed_update(w, x, d, *args, torch.zeros(4, 6, device=dev))
    assert torch.equal(w, before)


@pytest.mark.cuda
@pytest.mark.parametrize("backend", ["auto", "native"])
def test_cuda_tile_runs_the_kernels(core, make_device, backend):
    """A tile on a GPU with a compiled law updates with the kernels: the CPU tile's bits and
    pulses, the count a 0-dim tensor on the GPU until asked for."""
    from aihw.core import AnalogTile

    device = make_device(dw_min_std=0.3, dw_min=0.01)
    cpu = AnalogTile(9, 13, device, seed=4)
    gpu = AnalogTile(9, 13, device, seed=4).cuda()
    gpu.backend = backend
    assert gpu.uses_native() and gpu.update_engine == "cuda"
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        x, d = torch.randn(6, 13, generator=gen), torch.randn(6, 9, generator=gen)
        cpu.update(x, d, 0.1)
        gpu.update(x.cuda(), d.cuda(), 0.1)
        assert isinstance(gpu.last_update_pulses, torch.Tensor)
        assert int(gpu.last_update_pulses) == cpu.last_update_pulses > 0
        assert torch.equal(gpu.weights.cpu(), cpu.weights)

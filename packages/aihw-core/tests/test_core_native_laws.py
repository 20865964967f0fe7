"""Every step law of the compiled engine against its plain-torch reference step
(engine contract §4, §7): identical pulse counts, the same weights bit for bit with and
without cycle-to-cycle noise (exp and pow included: both sides use the float32 polynomials
of aihw/f32_math.hpp), and results that do not depend on the number of threads.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aihw.core import AnalogTile, UpdateParameters
from aihw.core.device_model import DeviceModel
from aihw.core.laws import LAWS


@dataclasses.dataclass
class LawParameters:
    dw_min: float = 0.01
    dw_min_std: float = 0.0
    extra: tuple = ()


def _arrays(law: str, d_size: int, x_size: int, generator: torch.Generator, dead: bool):
    def normal():
        return torch.randn(d_size, x_size, generator=generator, dtype=torch.float32)

    dw_up = (0.01 * (1 + 0.3 * normal())).abs()
    dw_down = (0.01 * (1 + 0.3 * normal())).abs()
    w_max = (0.6 * (1 + 0.2 * normal())).abs()
    w_min = -(0.6 * (1 + 0.2 * normal())).abs()
    if dead:  # some devices with w_min == w_max (exp/pow/piecewise leave them alone)
        w_min[0, :2] = 0.1
        w_max[0, :2] = 0.1
    arrays = {"dw_up": dw_up, "dw_down": dw_down, "w_min": w_min, "w_max": w_max}
    if law in ("linear_step", "soft_bounds_reference"):
        arrays["slope_up"] = -dw_up / w_max * (1 + 0.1 * normal())
        arrays["slope_down"] = -dw_down / w_min * (1 + 0.1 * normal())
    if law == "soft_bounds_reference":  # w_min, w_max are then the bounds of w = v - ref
        arrays["reference"] = 0.2 * normal()
        arrays["w_min"] = arrays["w_min"] - arrays["reference"]
        arrays["w_max"] = arrays["w_max"] - arrays["reference"]
    if law == "pow_step":
        arrays["gamma_up"] = (1.5 * (1 + 0.3 * normal())).abs()
        arrays["gamma_down"] = (0.8 * (1 + 0.3 * normal())).abs()
        arrays["gamma_down"][-1, -1] = 0.0  # pow(., 0) = 1
    return arrays


def _make_device(law: str, dw_min_std: float, scalars: dict, dead: bool = True) -> DeviceModel:
    class LawDevice(DeviceModel):
        name = f"Test_{law}"
        parameters_class = LawParameters

        def granularity(self) -> float:
            return self.params.dw_min

        def sample(self, d_size, x_size, generator):
            return _arrays(law, d_size, x_size, generator, dead)

        def law_scalars(self):
            return {"dw_min_std": self.params.dw_min_std, **scalars}

    LawDevice.law = law
    return LawDevice(dw_min_std=dw_min_std)


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
VARIANTS = {
    "linear_mult": ("linear_step", {"mult_noise": 1.0}),
    "linear_add": ("linear_step", {"mult_noise": 0.0}),
    "sbref_mult": ("soft_bounds_reference", {"mult_noise": 1.0}),
    "sbref_add": ("soft_bounds_reference", {"mult_noise": 0.0}),
    "exp": ("exp_step", EXP),
    "exp_spread": ("exp_step", {**EXP, "dw_min_std_add": 0.002, "dw_min_std_slope": 0.1}),
    "pow": ("pow_step", {}),
    "piecewise": (
        "piecewise_step",
        {"piecewise_up": (1.0, 0.8, 0.3, 0.1), "piecewise_down": (0.2, 0.5, 0.9, 1.2)},
    ),
    "piecewise_one": ("piecewise_step", {"piecewise_up": (0.7,), "piecewise_down": (1.3,)}),
}
#: The laws whose dead devices (w_min == w_max) keep their weight unclipped.
UNCLIPPED_WHEN_DEAD = {"exp_step", "pow_step"}

UPDATES = {
    "default": UpdateParameters(),
    "no_management": UpdateParameters(update_bl_management=False, update_management=False),
    "variable_bl": UpdateParameters(
        fixed_bl=False, update_bl_management=False, update_management=False, desired_bl=5
    ),
}


def _inputs(batch, d_size, x_size, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, x_size, generator=gen)
    d = torch.randn(batch, d_size, generator=gen) * 0.5
    x[x.abs() < 0.2] = 0.0
    return x, d


def _pair(device, d_size, x_size, update, seed=11):
    native = AnalogTile(d_size, x_size, device, seed=seed, update=update)
    ref = AnalogTile(d_size, x_size, device, seed=seed, update=update)
    native.backend = "native"
    ref.backend = "reference"
    return native, ref


def test_engine_reports_every_law(core):
    for law in LAWS.values():
        info = core.law_info(law.engine_id)
        assert info is not None and info[0] == law.name and info[1] == len(law.arrays)
        n_scalars = -1 if law.sequence_scalars else len(law.scalars)
        assert info[2] == n_scalars


@pytest.mark.parametrize("update", sorted(UPDATES))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_noiseless_law_matches_reference(core, variant, update):
    law, scalars = VARIANTS[variant]
    native, ref = _pair(_make_device(law, 0.0, scalars), 9, 13, UPDATES[update])
    assert native.uses_native() and not ref.uses_native()
    moved = 0
    for step in range(4):
        x, d = _inputs(8, 9, 13, seed=step)
        native.update(x, d, 0.2)
        ref.update(x, d, 0.2)
        assert native.last_update_pulses == ref.last_update_pulses
        moved += native.last_update_pulses
        assert torch.equal(native.weights, ref.weights)
    assert moved > 100
    dead = native.device_arrays["w_min"] == native.device_arrays["w_max"]
    if law in UNCLIPPED_WHEN_DEAD:  # dead devices keep their (clipped) weight
        assert torch.equal(native.weights[dead], native.device_arrays["w_min"][dead])


@pytest.mark.parametrize("update", sorted(UPDATES))
@pytest.mark.parametrize("variant", ["sbref_mult", "sbref_add"])
def test_soft_bounds_reference_is_bit_identical_without_noise(core, variant, update):
    law, scalars = VARIANTS[variant]
    native, ref = _pair(_make_device(law, 0.0, scalars), 9, 13, UPDATES[update])
    for step in range(4):
        x, d = _inputs(8, 9, 13, seed=60 + step)
        native.update(x, d, 0.2)
        ref.update(x, d, 0.2)
        assert native.last_update_pulses == ref.last_update_pulses > 0
        assert torch.equal(native.weights, ref.weights)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_noisy_law_matches_reference(core, variant):
    law, scalars = VARIANTS[variant]
    native, ref = _pair(_make_device(law, 0.3, scalars), 9, 13, UpdateParameters())
    for step in range(3):
        x, d = _inputs(8, 9, 13, seed=20 + step)
        native.update(x, d, 0.2)
        ref.update(x, d, 0.2)
        assert native.last_update_pulses == ref.last_update_pulses > 0
    # The same normals bit for bit (update contract 3: the float32 Box-Muller of §8), and
    # exp and pow are the same float32 polynomials on both sides.
    assert torch.equal(native.weights, ref.weights)


@pytest.mark.parametrize("noise", [0.0, 0.3])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_law_thread_count_independent(core, variant, noise):
    law, scalars = VARIANTS[variant]
    device = _make_device(law, noise, scalars)
    x, d = _inputs(16, 96, 160, seed=5)
    results = []
    for threads in (1, 2, 3):
        tile = AnalogTile(96, 160, device, seed=7)
        tile.backend = "native"
        tile.num_threads = threads
        tile.update(x, d, 0.2)
        results.append((tile.last_update_pulses, tile.weights.clone()))
    pulses, weights = results[0]
    assert pulses > 0
    for p, w in results[1:]:
        assert p == pulses and torch.equal(w, weights)


def test_piecewise_scalar_layout_is_checked(core):
    d_size, x_size = 2, 3
    weights = torch.zeros(d_size, x_size)
    arrays = [torch.full((d_size, x_size), v) for v in (0.01, 0.01, -1.0, 1.0)]
    x, d = torch.ones(1, x_size), torch.ones(1, d_size)

    def call(scalars):
        return core.pulsed_update_cpu(
            core.PulsedUpdateConfig(0.1, 0.01, 31, True, True, True, 1.0, 0.0, False),
            weights.data_ptr(),
            d_size,
            x_size,
            x.data_ptr(),
            d.data_ptr(),
            1,
            5,
            [a.data_ptr() for a in arrays],
            scalars,
            5,
            0,
            1,
        )

    for bad in ([0.0, 2, 1.0, 0.5, 1, 1.0], [0.0, 0, 0], [0.0, 2, 1.0, 0.5, 2, 1.0]):
        with pytest.raises(ValueError, match="piecewise_step"):
            call(bad)
    assert torch.equal(weights, torch.zeros(d_size, x_size))
    assert call([0.0, 2, 1.0, 0.5, 2, 1.0, 0.5]) > 0
    assert (weights < 0).all()


# -- the deterministic pulse types (contract §6) ------------------------------------------
DETERMINISTIC = {
    "implicit": UpdateParameters(pulse_type="DeterministicImplicit"),
    "implicit_no_management": UpdateParameters(
        pulse_type="DeterministicImplicit",
        update_management=False,
        update_bl_management=False,
        desired_bl=10,
    ),
    "implicit_res": UpdateParameters(
        pulse_type="DeterministicImplicit", x_res_implicit=0.1, d_res_implicit=0.05
    ),
    "implicit_res_sto_round": UpdateParameters(
        pulse_type="DeterministicImplicit",
        x_res_implicit=0.1,
        d_res_implicit=0.05,
        sto_round=True,
    ),
    "mean_count": UpdateParameters(pulse_type="MeanCount"),
    "mean_count_variable_bl": UpdateParameters(
        pulse_type="MeanCount", fixed_bl=False, update_bl_management=False, desired_bl=5
    ),
    "mean_count_res_sto_round": UpdateParameters(pulse_type="MeanCount", res=0.05, sto_round=True),
}


@pytest.mark.parametrize("update", sorted(DETERMINISTIC))
@pytest.mark.parametrize("variant", ["linear_mult", "sbref_add", "exp", "pow", "piecewise"])
def test_deterministic_pulse_types_match_reference(core, variant, update):
    law, scalars = VARIANTS[variant]
    native, ref = _pair(_make_device(law, 0.0, scalars), 9, 13, DETERMINISTIC[update])
    assert native.uses_native() and not ref.uses_native()
    moved = 0
    for step in range(3):
        x, d = _inputs(8, 9, 13, seed=40 + step)
        d[2] = 0.0  # a sample that does nothing
        native.update(x, d, 0.2)
        ref.update(x, d, 0.2)
        assert native.last_update_pulses == ref.last_update_pulses
        moved += native.last_update_pulses
        assert torch.equal(native.weights, ref.weights)
    assert moved > 50


@pytest.mark.parametrize("pulse_type", ["DeterministicImplicit", "MeanCount"])
def test_deterministic_pulse_types_noisy_and_thread_independent(core, pulse_type):
    law, scalars = VARIANTS["linear_add"]
    device = _make_device(law, 0.3, scalars)
    update = UpdateParameters(pulse_type=pulse_type)
    native, ref = _pair(device, 9, 13, update)
    x, d = _inputs(8, 9, 13, seed=3)
    native.update(x, d, 0.2)
    ref.update(x, d, 0.2)
    assert native.last_update_pulses == ref.last_update_pulses > 0
    torch.testing.assert_close(native.weights, ref.weights, rtol=0, atol=1e-5)
    x, d = _inputs(16, 96, 160, seed=5)
    results = []
    for threads in (1, 2, 3):
        tile = AnalogTile(96, 160, device, seed=7, update=update)
        tile.backend = "native"
        tile.num_threads = threads
        tile.update(x, d, 0.2)
        results.append((tile.last_update_pulses, tile.weights.clone()))
    for p, w in results[1:]:
        assert p == results[0][0] > 0 and torch.equal(w, results[0][1])


def test_engine_lists_pulse_kinds(core):
    assert core.pulse_kinds() == {
        "StochasticCompressed": 0,
        "Stochastic": 0,
        "DeterministicImplicit": 1,
        "MeanCount": 2,
    }
    with pytest.raises(ValueError, match="pulse_kind"):
        core.PulsedUpdateConfig(0.1, 0.01, 31, True, True, True, 1.0, 0.0, False, pulse_kind=3)

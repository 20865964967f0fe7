"""ConstantStepResistiveDevice: construction, and the
docs/physics/devices.md#device-to-device-sampling sampling statistics."""

from __future__ import annotations

import pytest
import torch

from aihw.core.device_model import DeviceModel
from aihw.core.laws import get_law
from aihw.devices import (
    ConstantStepDevice,
    ConstantStepResistiveDevice,
    FloatingPointTileParameters,
    PulsedResistiveDeviceParameters,
)

# 200 x 200 devices: the standard error of a mean of N(., 0.3) is 0.3 / 200 = 0.0015, so
# the tolerances below (>= 0.01, about 7 standard errors) make the tests deterministic in
# practice; they are seeded anyway.
D = X = 200
TOL = 0.01


def sample(device: DeviceModel, seed: int = 0, d: int = D, x: int = X) -> dict[str, torch.Tensor]:
    return device.sample(d, x, torch.Generator().manual_seed(seed))


# -- construction -------------------------------------------------------------------------


def test_the_seed_snippet_works_and_w_min_is_honoured():
    parameters = PulsedResistiveDeviceParameters(w_min=-0.4)
    resistive_device = ConstantStepResistiveDevice(parameters)
    assert resistive_device.params.w_min == -0.4
    arrays = sample(resistive_device)
    b_min, b_max = arrays["w_min"].double(), arrays["w_max"].double()
    assert b_min.mean().item() == pytest.approx(-0.4, abs=TOL)
    assert b_max.mean().item() == pytest.approx(0.6, abs=TOL)
    # the spreads are relative: w * dtod
    assert b_min.std().item() == pytest.approx(0.4 * 0.3, abs=TOL)
    assert b_max.std().item() == pytest.approx(0.6 * 0.3, abs=TOL)


def test_constructor_forms_are_equivalent():
    params = PulsedResistiveDeviceParameters(w_min=-0.4)
    assert ConstantStepResistiveDevice(params) == ConstantStepResistiveDevice(w_min=-0.4)
    assert ConstantStepResistiveDevice(params_devices=params) == ConstantStepResistiveDevice(params)
    assert ConstantStepResistiveDevice(params, dw_min=0.01).params.dw_min == 0.01
    assert ConstantStepResistiveDevice().params == PulsedResistiveDeviceParameters()
    assert ConstantStepDevice is ConstantStepResistiveDevice


def test_class_attributes():
    cls = ConstantStepResistiveDevice
    assert (cls.name, cls.law, cls.api_version) == ("ConstantStep", "constant_step", 1)
    assert cls.parameters_class is PulsedResistiveDeviceParameters
    assert not cls().is_floating_point
    assert cls().step_law() is get_law("constant_step")


def test_granularity_and_law_scalars():
    device = ConstantStepResistiveDevice(dw_min=0.002, dw_min_std=0.1)
    assert device.granularity() == 0.002
    assert device.law_scalars() == {"dw_min_std": 0.1}
    assert tuple(device.law_scalars()) == get_law("constant_step").scalars


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"params_devices": PulsedResistiveDeviceParameters(), "dw_min": 0.1}, None),
        ({"params_update": object()}, "update=aihw.core.parameters.UpdateParameters"),
        ({"params_forward": object()}, "params_forward"),
        ({"params_backward": object()}, "params_backward"),
        ({"no_such_field": 1.0}, "no_such_field"),
    ],
)
def test_keywords(kwargs, match):
    if match is None:
        assert ConstantStepResistiveDevice(**kwargs).params.dw_min == 0.1
    else:
        with pytest.raises(TypeError, match=match):
            ConstantStepResistiveDevice(**kwargs)


def test_parameters_given_twice_or_of_the_wrong_class_are_rejected():
    params = PulsedResistiveDeviceParameters()
    with pytest.raises(TypeError, match="twice"):
        ConstantStepResistiveDevice(params, params_devices=params)
    with pytest.raises(TypeError, match="PulsedResistiveDeviceParameters"):
        ConstantStepResistiveDevice(FloatingPointTileParameters())


@pytest.mark.parametrize(
    ("field", "value"), [("lifetime", 10.0), ("diffusion", 0.01), ("perfect_bias", True)]
)
def test_decay_diffusion_and_perfect_bias_are_accepted(field, value):
    assert getattr(ConstantStepResistiveDevice(**{field: value}).params, field) == value


def test_reset_parameters_are_stored():
    device = ConstantStepResistiveDevice(reset=0.1, reset_dtod=0.01, reset_std=0.02)
    assert (device.params.reset, device.params.reset_dtod, device.params.reset_std) == (
        0.1,
        0.01,
        0.02,
    )


# -- sampling -----------------------------------------------------------------------------


def test_sample_returns_the_law_arrays_as_float32_cpu_tensors():
    arrays = sample(ConstantStepResistiveDevice(), d=3, x=5)
    assert tuple(arrays) == get_law("constant_step").arrays
    for name, tensor in arrays.items():
        assert tensor.dtype == torch.float32, name
        assert tensor.shape == (3, 5), name
        assert tensor.device.type == "cpu" and tensor.is_contiguous(), name


def test_sampling_is_reproducible_for_a_seeded_generator():
    device = ConstantStepResistiveDevice()
    first, again, other = (
        sample(device, 7, 20, 30),
        sample(device, 7, 20, 30),
        sample(device, 8, 20, 30),
    )
    for name in first:
        assert torch.equal(first[name], again[name]), name
        assert not torch.equal(first[name], other[name]), name


def test_construction_seed_overrides_the_tile_generator():
    device = ConstantStepResistiveDevice(construction_seed=1234)
    first, second = sample(device, 1, 10, 10), sample(device, 2, 10, 10)
    for name in first:
        assert torch.equal(first[name], second[name]), name
    assert not torch.equal(
        first["dw_up"], sample(ConstantStepResistiveDevice(), 1, 10, 10)["dw_up"]
    )


def test_step_statistics_match_spec_c2():
    device = ConstantStepResistiveDevice(dw_min=0.002)
    arrays = sample(device)
    for name in ("dw_up", "dw_down"):
        relative = arrays[name].double() / 0.002
        assert relative.mean().item() == pytest.approx(1.0, abs=TOL), name
        # G (spread 0.3) and r (spread up_down_dtod = 0.01) are independent
        assert relative.std().item() == pytest.approx((0.3**2 + 0.01**2) ** 0.5, abs=TOL), name
    # G is shared by both directions; only r (0.01) separates them
    difference = (arrays["dw_up"] - arrays["dw_down"]).double() / 0.002
    assert difference.std().item() == pytest.approx(2 * 0.01, abs=0.002)


def test_log_normal_step_spread():
    arrays = sample(ConstantStepResistiveDevice(dw_min_dtod_log_normal=True, up_down_dtod=0.0))
    log_gain = torch.log(arrays["dw_up"].double() / 0.001)
    assert log_gain.mean().item() == pytest.approx(0.0, abs=TOL)
    assert log_gain.std().item() == pytest.approx(0.3, abs=TOL)
    assert bool((arrays["dw_up"] > 0).all())


@pytest.mark.parametrize(
    ("up_down", "shrunk", "kept"), [(0.5, "dw_down", "dw_up"), (-0.5, "dw_up", "dw_down")]
)
def test_up_down_shrinks_one_direction_only(up_down, shrunk, kept):
    # small dtod so that hardly any step changes sign (and is mirrored by enforce_consistency)
    arrays = sample(ConstantStepResistiveDevice(up_down=up_down, dw_min_dtod=0.05))
    assert arrays[kept].double().mean().item() / 0.001 == pytest.approx(1.0, abs=TOL)
    assert arrays[shrunk].double().mean().item() / 0.001 == pytest.approx(0.5, abs=TOL)
    ratio = arrays[shrunk].double().mean() / arrays[kept].double().mean()
    assert ratio.item() == pytest.approx(0.5, abs=TOL)


def test_enforce_consistency_keeps_zero_inside_every_device():
    # huge spreads: without consistency many bounds and steps would change sign
    device = ConstantStepResistiveDevice(w_min_dtod=2.0, w_max_dtod=2.0, dw_min_dtod=2.0)
    arrays = sample(device)
    assert bool((arrays["w_min"] <= 0).all())
    assert bool((arrays["w_max"] >= 0).all())
    assert bool((arrays["dw_up"] >= 0).all() and (arrays["dw_down"] >= 0).all())


def test_without_consistency_crossed_bounds_make_dead_devices():
    device = ConstantStepResistiveDevice(
        w_min_dtod=2.0, w_max_dtod=2.0, dw_min_dtod=2.0, enforce_consistency=False
    )
    arrays = sample(device)
    assert bool((arrays["w_min"] <= arrays["w_max"]).all())
    dead = arrays["w_min"] == arrays["w_max"]
    assert 0.05 < dead.double().mean().item() < 0.5  # P(b_min > b_max) is about 0.2 here
    assert bool((arrays["dw_up"] < 0).any())  # steps keep their sampled sign


def test_all_corrupt_devices_are_stuck_within_the_range():
    arrays = sample(
        ConstantStepResistiveDevice(corrupt_devices_prob=1.0, corrupt_devices_range=0.05)
    )
    assert torch.equal(arrays["w_min"], arrays["w_max"])
    assert bool((arrays["w_min"].abs() <= 0.05).all())
    assert arrays["w_min"].std().item() == pytest.approx(0.1 / 12**0.5, abs=TOL)  # uniform
    assert bool((arrays["dw_up"] == 0).all() and (arrays["dw_down"] == 0).all())


def test_corrupt_devices_prob_is_the_fraction_of_stuck_devices():
    arrays = sample(ConstantStepResistiveDevice(corrupt_devices_prob=0.3))
    stuck = arrays["dw_up"] == 0
    assert stuck.double().mean().item() == pytest.approx(0.3, abs=TOL)
    assert torch.equal(arrays["w_min"][stuck], arrays["w_max"][stuck])
    assert bool((arrays["w_min"][~stuck] < arrays["w_max"][~stuck]).all())


def test_a_pulse_of_the_law_respects_the_sampled_bounds():
    device = ConstantStepResistiveDevice(dw_min=0.5, dw_min_std=0.0)
    arrays = sample(device, d=4, x=4)
    law = device.step_law()
    w = torch.zeros(4, 4)
    up = torch.ones(4, 4, dtype=torch.bool)
    for _ in range(5):
        w = law.reference_step(w, up, arrays, device.law_scalars(), None)
    assert torch.equal(w, arrays["w_max"])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((0, 3, torch.Generator()), ValueError),
        ((3, -1, torch.Generator()), ValueError),
        ((2.0, 3, torch.Generator()), ValueError),
        ((2, 3, 42), TypeError),
    ],
)
def test_sample_checks_its_arguments(args, error):
    with pytest.raises(error, match="sample"):
        ConstantStepResistiveDevice().sample(*args)


def test_sample_revalidates_parameters_changed_after_construction():
    device = ConstantStepResistiveDevice()
    device.params.dw_min = -1.0
    with pytest.raises(ValueError, match="dw_min=-1.0"):
        sample(device, d=2, x=2)

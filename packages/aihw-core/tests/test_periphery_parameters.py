"""IOParameters: the reference defaults (docs/physics/periphery.md#io-parameters) and errors that
name the field."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from aihw.core import IOParameters, TileConfig
from aihw.core.io_parameters import (
    AnalogMVType,
    BoundManagementType,
    NoiseManagementType,
    WeightNoiseType,
    resolution_step,
)
from aihw.core.tiles import InferenceTile, create_tile


def test_defaults_are_the_reference_python_defaults():
    io = IOParameters()
    assert io.is_perfect is False
    assert io.mv_type == AnalogMVType.ONE_PASS
    assert (io.inp_bound, io.inp_res, io.inp_sto_round, io.inp_noise) == (1.0, 1 / 126, False, 0.0)
    assert (io.out_bound, io.out_noise, io.out_res, io.out_sto_round) == (
        12.0,
        0.06,
        1 / 510,
        False,
    )
    assert (io.out_scale, io.out_asymmetry, io.inp_asymmetry, io.out_noise_std) == (1.0, 0, 0, 0)
    assert io.bound_management == BoundManagementType.ITERATIVE
    assert io.noise_management == NoiseManagementType.ABS_MAX
    assert io.w_noise == 0.0 and io.w_noise_type == WeightNoiseType.NONE
    assert io.ir_drop == 0.0 and io.ir_drop_g_ratio == pytest.approx(571428.57, rel=1e-6)
    assert (io.max_bm_factor, io.max_bm_res, io.bm_test_negative_bound, io.nm_thres) == (
        1000,
        0.25,
        True,
        0.0,
    )
    assert io.v_offset_w_min == -1.0


def test_resolution_steps():
    io = IOParameters()
    assert io.inp_step == pytest.approx(1 / 63)
    assert io.out_step == pytest.approx(24 / 510)
    # A resolution > 1 is a number of steps.
    assert resolution_step(126, 1.0) == pytest.approx(1 / 63)
    assert resolution_step(0.0, 1.0) == 0.0 and resolution_step(-1, 1.0) == 0.0


def test_enums_accept_their_values():
    io = IOParameters(noise_management="AbsMaxNPSum", bound_management="IterativeWorstCase")
    assert io.noise_management is NoiseManagementType.ABS_MAX_NP_SUM
    assert io.bound_management is BoundManagementType.ITERATIVE_WORST_CASE


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"out_noise": -0.1}, r"IOParameters\.out_noise=-0\.1 must be >= 0"),
        ({"inp_noise": -1.0}, r"IOParameters\.inp_noise=-1\.0 must be >= 0"),
        ({"w_noise": -1.0}, r"IOParameters\.w_noise"),
        ({"out_noise_std": -1.0}, r"IOParameters\.out_noise_std"),
        ({"nm_thres": -1.0}, r"IOParameters\.nm_thres"),
        ({"out_noise": float("nan")}, r"IOParameters\.out_noise=nan must be a finite number"),
        ({"inp_bound": 0.5}, r"inp_bound=0\.5 must be 1 when noise management is on"),
        ({"inp_bound": 0.0, "noise_management": "None"}, r"inp_bound=0\.0 must be > 0"),
        ({"out_bound": 0.0}, r"out_bound=0\.0 must be > 0 when bound management is on"),
        ({"out_bound": -1.0}, r"out_bound=-1\.0 must be > 0 when bound management"),
        ({"noise_management": "Foo"}, r"noise_management='Foo' is not allowed; allowed: 'None'"),
        ({"bound_management": "Shift"}, r"bound_management='Shift' is not supported"),
        ({"mv_type": "SplitMode"}, r"mv_type='SplitMode' needs the time-dependent IR drop"),
        ({"mv_type": "Split"}, r"mv_type='Split' is not allowed"),
        ({"w_noise_type": 3}, r"w_noise_type=3 is not allowed"),
        ({"out_asymmetry": 1.5}, r"out_asymmetry=1\.5 is out of range"),
        ({"out_scale": 0.0}, r"out_scale=0 is not allowed"),
        ({"max_bm_factor": 0}, r"max_bm_factor=0 must be a number >= 1"),
        ({"is_perfect": 1}, r"is_perfect=1 must be True or False"),
        ({"inp_res": "7bit"}, r"inp_res='7bit' must be a finite number"),
    ],
)
def test_invalid_values_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        IOParameters(**kwargs)


@pytest.mark.parametrize(
    "field",
    ["r_series"],
)
def test_unsupported_physics_is_refused_by_name(field):
    with pytest.raises(NotImplementedError, match=rf"IOParameters\.{field}=0\.5 is not supported"):
        IOParameters(**{field: 0.5})
    # An exact pass does not simulate it, so it is accepted there.
    IOParameters(is_perfect=True, **{field: 0.5})


def test_unbounded_adc_without_bound_management():
    io = IOParameters(out_bound=0.0, bound_management="None")
    assert io.out_step == pytest.approx(2 / 510)


def test_validate_after_mutation_refuses_before_a_pass():
    tile = InferenceTile(3, 4, seed=0)
    tile.forward(torch.ones(2, 4))
    index = tile.forward_periphery.call_index
    tile.forward_periphery.io.out_noise = -1.0
    with pytest.raises(ValueError, match="out_noise"):
        tile.forward(torch.ones(2, 4))
    assert tile.forward_periphery.call_index == index


def test_tile_keeps_its_own_copy():
    io = IOParameters(out_noise=0.0)
    tile = InferenceTile(3, 4, TileConfig(forward=io), seed=0)
    io.out_noise = 0.5
    assert tile.forward_periphery.io.out_noise == 0.0


def test_tile_config_type_errors():
    with pytest.raises(TypeError, match=r"TileConfig\.forward must be IOParameters; got dict"):
        TileConfig(forward={})
    with pytest.raises(TypeError, match=r"TileConfig\.device must be None or a device model"):
        TileConfig(device="ConstantStep")
    with pytest.raises(TypeError, match=r"TileConfig\.update must be UpdateParameters"):
        TileConfig(update=IOParameters())


def test_rpu_config_excludes_the_shorthand(step_device):
    from aihw.core import UpdateParameters
    from aihw.core.tiles import AnalogTile

    config = TileConfig(device=step_device)
    with pytest.raises(ValueError, match="either rpu_config= or resistive_device=, not both"):
        create_tile(step_device, 3, 4, rpu_config=config)
    with pytest.raises(ValueError, match="either rpu_config= or update=, not both"):
        AnalogTile(3, 4, update=UpdateParameters(), rpu_config=config)
    with pytest.raises(TypeError, match="rpu_config must be a TileConfig; got dict"):
        create_tile(None, 3, 4, rpu_config={})
    with pytest.raises(TypeError, match="AnalogTile needs resistive_device= or rpu_config="):
        AnalogTile(3, 4)


def test_io_parameters_are_a_dataclass_copyable():
    io = IOParameters(out_noise=0.1)
    assert dataclasses.replace(io, out_noise=0.2).out_noise == 0.2
    with pytest.raises(ValueError, match="out_noise"):
        dataclasses.replace(io, out_noise=-0.2)

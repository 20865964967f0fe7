"""The compound devices' parameters, errors, registration, build_config and presets."""

from __future__ import annotations

import json

import pytest
import torch

from aihw.core.io_parameters import BoundManagementType, NoiseManagementType
from aihw.devices import (
    CapacitorPresetDevice,
    ConstantStepDevice,
    EcRamPresetDevice,
    FloatingPointDevice,
    OneSidedUnitCell,
    PresetIOParameters,
    PresetUpdateParameters,
    ReferenceUnitCell,
    ReRamSBPresetDevice,
    SingleRPUConfig,
    SoftBoundsDevice,
    TikiTakaCapacitorPreset,
    TikiTakaEcRamPreset,
    TikiTakaReRamSBPreset,
    TransferCompound,
    UnitCellRPUConfig,
    VectorUnitCell,
    VectorUnitCellUpdatePolicy,
    build_config,
    get_device,
    get_device_class,
    list_devices,
)
from aihw.devices.cli import main


def test_default_devices():
    for cls in (VectorUnitCell, ReferenceUnitCell, OneSidedUnitCell, TransferCompound):
        assert cls().params.unit_cell_devices == [ConstantStepDevice(), ConstantStepDevice()]


def test_reference_toolkit_defaults():
    cell = VectorUnitCell(unit_cell_devices=[SoftBoundsDevice()])
    assert cell.params.update_policy is VectorUnitCellUpdatePolicy.ALL
    assert (cell.params.first_update_idx, cell.params.gamma_vec) == (0, [])
    one_sided = OneSidedUnitCell(unit_cell_devices=[SoftBoundsDevice()]).params
    assert (one_sided.refresh_every, one_sided.units_in_mbatch, one_sided.copy_inverted) == (
        0,
        True,
        False,
    )
    assert (one_sided.refresh_upper_thres, one_sided.refresh_lower_thres) == (0.75, 0.25)
    p = TransferCompound(unit_cell_devices=[SoftBoundsDevice()] * 2).params
    assert (p.gamma, p.gamma_vec, p.transfer_every, p.no_self_transfer) == (0.0, [], 1.0, True)
    assert (p.transfer_every_vec, p.units_in_mbatch, p.n_reads_per_transfer) == ([], True, 1)
    assert (p.transfer_columns, p.with_reset_prob, p.random_selection) == (True, 0.0, False)
    assert (p.fast_lr, p.scale_fast_lr, p.transfer_lr, p.transfer_lr_vec) == (1.0, True, 1.0, [])
    assert p.scale_transfer_lr is True
    reference = ReferenceUnitCell(unit_cell_devices=[SoftBoundsDevice()])
    assert reference.params.update_policy is VectorUnitCellUpdatePolicy.SINGLE_FIXED
    assert reference.gamma_weights() == [1.0, -1.0]
    assert len(reference.unit_devices()) == 2


def test_sub_devices_by_name_and_equality():
    by_name = TransferCompound(unit_cell_devices=["SoftBounds", "ConstantStep"])
    assert by_name.unit_devices() == [SoftBoundsDevice(), ConstantStepDevice()]
    assert by_name == TransferCompound(unit_cell_devices=[SoftBoundsDevice(), ConstantStepDevice()])
    assert VectorUnitCell(
        unit_cell_devices=["SoftBounds"], update_policy="SingleRandom"
    ).params.update_policy is (VectorUnitCellUpdatePolicy.SINGLE_RANDOM)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: VectorUnitCell(unit_cell_devices=[]),
            r"VectorUnitCell.unit_cell_devices has 0 devices; allowed: at least 1 pulsed device",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=[SoftBoundsDevice()]),
            r"TransferCompound.unit_cell_devices has 1 devices; allowed: at least 2",
        ),
        (
            lambda: ReferenceUnitCell(unit_cell_devices=["SoftBounds"] * 3),
            r"ReferenceUnitCell.unit_cell_devices has 3 devices; allowed: from 1 to 2",
        ),
        (
            lambda: VectorUnitCell(unit_cell_devices=["SoftBounds"] * 2, gamma_vec=[1.0]),
            r"VectorUnitCell.gamma_vec=\[1.0\]; allowed: \[\] \(the default\) or 2 finite "
            r"numbers, one per device",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=["SoftBounds"] * 2, gamma_vec=[1, 2, 3]),
            r"TransferCompound.gamma_vec=\[1, 2, 3\]; allowed: \[\] \(the default\) or 2",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=["SoftBounds"] * 2, transfer_every=0),
            r"TransferCompound.transfer_every=0 must be a finite number > 0",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=["SoftBounds"] * 2, transfer_every=-1.5),
            r"TransferCompound.transfer_every=-1.5 must be a finite number > 0",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=["SoftBounds"] * 2, n_reads_per_transfer=0),
            r"TransferCompound.n_reads_per_transfer=0; allowed: an int >= 1",
        ),
        (
            lambda: TransferCompound(
                unit_cell_devices=["SoftBounds"] * 2, with_reset_prob=0.5, transfer_columns=False
            ),
            r"with_reset_prob=0.5 needs transfer_columns=True",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=["SoftBounds"] * 2, with_reset_prob=2.0),
            r"TransferCompound.with_reset_prob=2.0 must be a finite number in \[0, 1\]",
        ),
        (
            lambda: VectorUnitCell(unit_cell_devices=["SoftBounds"], first_update_idx=1),
            r"VectorUnitCell.first_update_idx=1; allowed: an int in \[0, 1\)",
        ),
        (
            lambda: VectorUnitCell(unit_cell_devices=["SoftBounds"], update_policy="Sometimes"),
            r"update_policy='Sometimes' is not allowed; allowed: 'All', 'SingleFixed', "
            r"'SingleSequential', 'SingleRandom'",
        ),
        (
            lambda: OneSidedUnitCell(unit_cell_devices=["SoftBounds"], refresh_every=-1),
            r"OneSidedUnitCell.refresh_every=-1; allowed: an int >= 0",
        ),
        (
            lambda: OneSidedUnitCell(
                unit_cell_devices=["SoftBounds"], refresh_lower_thres=0.9, refresh_upper_thres=0.5
            ),
            r"refresh_lower_thres=0.9 is above refresh_upper_thres=0.5",
        ),
        (
            lambda: TransferCompound(unit_cell_devices=[SoftBoundsDevice(), FloatingPointDevice()]),
            r"TransferCompound.unit_cell_devices\[1\]=FloatingPointResistiveDevice\(\) is a "
            r"floating-point device; allowed: pulsed devices",
        ),
        (
            lambda: VectorUnitCell(
                unit_cell_devices=[VectorUnitCell(unit_cell_devices=["SoftBounds"])]
            ),
            r"VectorUnitCell.unit_cell_devices\[0\]=VectorUnitCell\(\) is a compound device",
        ),
    ],
)
def test_bad_parameters_name_parameter_value_and_allowed(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_sub_device_name_suggests():
    with pytest.raises(ValueError) as error:
        TransferCompound(unit_cell_devices=["SoftBound", "SoftBounds"])
    message = str(error.value)
    assert "TransferCompound.unit_cell_devices[0]='SoftBound' is not a registered device" in message
    assert "did you mean 'SoftBounds'" in message
    assert "allowed: a device model instance or a registered device name" in message


def test_unit_cell_devices_must_be_a_list():
    with pytest.raises(TypeError, match=r"VectorUnitCell.unit_cell_devices must be a list"):
        VectorUnitCell(unit_cell_devices=SoftBoundsDevice())


def test_compounds_are_registered_and_listed():
    names = {info.name: info for info in list_devices()}
    for name in (
        "VectorUnitCell",
        "ReferenceUnitCell",
        "OneSidedUnitCell",
        "TransferCompound",
        "ChoppedTransferCompound",
        "MixedPrecisionCompound",
    ):
        assert names[name].law_kind == "compound"
        assert get_device_class(name).name == name
    assert isinstance(
        get_device("TransferCompound", unit_cell_devices=["SoftBounds"] * 2), TransferCompound
    )


def test_cli_lists_compounds(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("TransferCompound"))
    assert "(compound)" in line
    assert main(["list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["OneSidedUnitCell"]["law_kind"] == "compound"


def test_unit_cell_config_requires_a_compound():
    assert isinstance(UnitCellRPUConfig().device, VectorUnitCell)
    with pytest.raises(
        TypeError, match=r"UnitCellRPUConfig.device must be a unit cell or compound"
    ):
        UnitCellRPUConfig(device=SoftBoundsDevice())


def test_build_config_sgd_and_tiki_taka():
    sgd = build_config("sgd", ReRamSBPresetDevice())
    assert type(sgd) is SingleRPUConfig and sgd.device == ReRamSBPresetDevice()
    assert sgd.forward == PresetIOParameters() and sgd.update == PresetUpdateParameters()
    tt = build_config("tiki-taka", "ReRamSBPreset")
    assert isinstance(tt, UnitCellRPUConfig) and isinstance(tt.device, TransferCompound)
    assert tt.device.unit_devices() == [ReRamSBPresetDevice(), ReRamSBPresetDevice()]
    assert tt.device.unit_devices()[0] is not tt.device.unit_devices()[1]


@pytest.mark.parametrize("algorithm", ["ttv5", "AGAD"])
def test_build_config_refuses_other_algorithms(algorithm):
    with pytest.raises(ValueError) as error:
        build_config(algorithm, ReRamSBPresetDevice())
    assert f"algorithm={algorithm!r} is not supported" in str(error.value)
    assert "supported: 'sgd', 'tiki-taka', 'ttv2', 'c-ttv2', 'agad', 'mp'" in str(error.value)


def test_build_config_agad():
    from aihw.devices import DynamicTransferCompound
    from aihw.devices.compound_configs import AGAD_CHOP_PROB

    config = build_config("agad", "ReRamSBPreset")
    assert isinstance(config, UnitCellRPUConfig)
    device = config.device
    assert isinstance(device, DynamicTransferCompound)
    assert device.params.in_chop_prob == AGAD_CHOP_PROB and not device.params.in_chop_random
    assert device.unit_devices() == [ReRamSBPresetDevice(), ReRamSBPresetDevice()]
    assert device.params.transfer_update == PresetUpdateParameters()


def test_build_config_bad_device():
    with pytest.raises(ValueError, match=r"algorithm='adam' is not supported; supported: 'sgd'"):
        build_config("adam", ReRamSBPresetDevice())
    with pytest.raises(TypeError, match=r"device=FloatingPointResistiveDevice\(\) is not a pulsed"):
        build_config("sgd", FloatingPointDevice())
    with pytest.raises(ValueError, match=r"build_config: device='ReRam' is not a registered"):
        build_config("tiki-taka", "ReRam")


@pytest.mark.parametrize(
    ("preset", "device"),
    [
        (TikiTakaReRamSBPreset, ReRamSBPresetDevice),
        (TikiTakaEcRamPreset, EcRamPresetDevice),
        (TikiTakaCapacitorPreset, CapacitorPresetDevice),
    ],
)
def test_tiki_taka_presets(preset, device):
    config = preset()
    compound = config.device
    assert isinstance(compound, TransferCompound)
    assert compound.unit_devices() == [device(), device()]
    assert compound.params.transfer_every == 1.0 and compound.params.units_in_mbatch
    assert compound.params.transfer_forward == PresetIOParameters()
    assert compound.params.transfer_update == PresetUpdateParameters()
    assert config.forward == PresetIOParameters() and config.backward == PresetIOParameters()
    assert config.update == PresetUpdateParameters()
    assert "Gokmen & Haensch" in (preset.__doc__ or "")


def test_transfer_reads_turn_management_off():
    from aihw.core.tiles import create_tile

    tile = create_tile(None, 2, 2, seed=0, rpu_config=TikiTakaReRamSBPreset())
    io = tile.units[0].forward_periphery.io
    assert io.noise_management == NoiseManagementType.NONE
    assert io.bound_management == BoundManagementType.NONE
    assert io.out_noise == PresetIOParameters().out_noise


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(unit_cell_devices=["SoftBounds"] * 3), r"has 3 devices; allowed: exactly 2"),
        (dict(transfer_columns=False), r"transfer_columns=False is not available; allowed: True"),
        (dict(in_chop_prob=1.5), r"ChoppedTransferCompound.in_chop_prob=1.5 must be a finite"),
        (dict(buffer_granularity=0.0), r"buffer_granularity=0.0 must be a finite number > 0"),
        (dict(momentum=-0.1), r"ChoppedTransferCompound.momentum=-0.1 must be a finite number"),
    ],
)
def test_chopped_transfer_bad_parameters(params, message):
    from aihw.devices import ChoppedTransferCompound

    with pytest.raises(ValueError, match=message):
        ChoppedTransferCompound(**params)


def test_ttv2_presets_and_build_config():
    from aihw.devices import ChoppedTransferCompound, ChoppedTTv2ReRamSBPreset, TTv2ReRamSBPreset
    from aihw.devices.compound_configs import CTTV2_CHOP_PROB

    assert TTv2ReRamSBPreset().device.params.in_chop_prob == 0.0
    chopped = ChoppedTTv2ReRamSBPreset().device
    assert isinstance(chopped, ChoppedTransferCompound)
    assert chopped.params.in_chop_prob == CTTV2_CHOP_PROB == 0.005
    assert chopped.unit_devices() == [ReRamSBPresetDevice(), ReRamSBPresetDevice()]
    for algorithm, prob in (("ttv2", 0.0), ("c-ttv2", CTTV2_CHOP_PROB)):
        device = build_config(algorithm, "ReRamSBPreset").device
        assert isinstance(device, ChoppedTransferCompound)
        assert device.params.in_chop_prob == prob


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(transfer_every=0), r"MixedPrecisionCompound.transfer_every=0; allowed: an int >= 1"),
        (dict(n_rows_per_transfer=0), r"n_rows_per_transfer=0; allowed: -1 \(all rows\) or"),
        (dict(transfer_lr=0.0), r"MixedPrecisionCompound.transfer_lr=0.0 must be a finite"),
        (dict(n_x_bins=-1), r"MixedPrecisionCompound.n_x_bins=-1; allowed: an int >= 0"),
        (dict(device=FloatingPointDevice()), r"device=FloatingPointResistiveDevice\(\) is not a"),
        (dict(device="SoftBoundz"), r"MixedPrecisionCompound.device='SoftBoundz' is not a regis"),
    ],
)
def test_mixed_precision_bad_parameters(params, message):
    from aihw.devices import MixedPrecisionCompound

    with pytest.raises(ValueError, match=message):
        MixedPrecisionCompound(**params)


def test_mixed_precision_configs():
    from aihw.devices import (
        DigitalRankUpdateRPUConfig,
        EcRamMOPresetDevice,
        MixedPrecisionCompound,
        MixedPrecisionEcRamMOPreset,
        MixedPrecisionReRamSBPreset,
    )

    assert MixedPrecisionCompound().params.device == ConstantStepDevice()
    assert MixedPrecisionCompound(device="SoftBounds").unit_devices() == [SoftBoundsDevice()]
    assert MixedPrecisionReRamSBPreset().device.params.device == ReRamSBPresetDevice()
    assert MixedPrecisionEcRamMOPreset().device.params.device == EcRamMOPresetDevice()
    config = build_config("mp", "ReRamSBPreset")
    assert isinstance(config, DigitalRankUpdateRPUConfig)
    assert config.device.params.device == ReRamSBPresetDevice()
    with pytest.raises(TypeError, match=r"DigitalRankUpdateRPUConfig.device must be a Mixed"):
        DigitalRankUpdateRPUConfig(device=SoftBoundsDevice())


def test_pcm_preset_unit_cell():
    from aihw.core.tiles import create_tile
    from aihw.devices import PCMPresetDevice, PCMPresetUnitCell, PresetUpdateParameters

    cell = PCMPresetUnitCell()
    params = cell.params
    assert cell.unit_devices() == [PCMPresetDevice(), PCMPresetDevice()]
    assert (params.refresh_every, params.units_in_mbatch) == (1, True)
    assert params.refresh_forward == PresetIOParameters()
    assert params.refresh_update == PresetUpdateParameters(desired_bl=31)
    assert get_device_class("PCMPresetUnitCell") is PCMPresetUnitCell
    tile = create_tile(None, 2, 3, seed=0, rpu_config=UnitCellRPUConfig(device=cell))
    assert type(tile).__name__ == "OneSidedCellTile"


def test_pulse_response_of_compounds_records_each_device():
    from aihw.devices.response import pulse_response

    response = pulse_response("VectorUnitCell", n_pulses=20, size=5)
    first, second = response.unit_weights
    assert response.weights.shape == first.shape == (41, 5)
    assert torch.allclose(response.weights, 0.5 * first + 0.5 * second, atol=1e-6)
    assert response.mean[20] > 0 and first.mean(dim=1)[20] > 0  # up pulses went up
    one_sided = pulse_response(OneSidedUnitCell(unit_cell_devices=["SoftBounds"]), 10, 4)
    g_minus, g_plus = one_sided.unit_weights
    assert bool((g_minus[:11] == 0).all()) and bool((g_plus[10] > 0).all())
    assert pulse_response("SoftBounds", n_pulses=3, size=2).unit_weights is None


@pytest.mark.parametrize(
    "name", ["TransferCompound", "BufferedTransferCompound", "DynamicTransferCompound"]
)
def test_cli_plots_a_compound(tmp_path, capsys, name):
    pytest.importorskip("matplotlib")
    out = tmp_path / "tc.png"
    assert main(["plot", name, "-o", str(out), "--pulses", "5", "--size", "3"]) == 0
    assert out.stat().st_size > 0

"""``TorchInferenceRPUConfigIRDropT`` on layers: the reference toolkit's names and defaults,
the time-dependent IR drop in eval mode only, checkpoints and refused tiles
(docs/physics/periphery.md#time-dependent-ir-drop)."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import aihw.devices
import aihw.devices.configs
from aihw.core import IOParameters, IOParametersIRDropT
from aihw.devices import (
    ConstantStepDevice,
    PCMLikeNoiseModel,
    SinglePairConductanceConverter,
    SingleRPUConfig,
    TorchInferenceRPUConfig,
    TorchInferenceRPUConfigIRDropT,
)
from aihw.nn import AnalogLinear, MappingParameter

QUIET = {"out_noise": 0.0, "out_res": 0.0, "bound_management": "None"}


def _layer(config, seed=3, in_size=96, out_size=12) -> AnalogLinear:
    torch.manual_seed(0)
    layer = AnalogLinear(in_size, out_size, bias=True, rpu_config=config, seed=seed)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(out_size, in_size) * 0.1 + 0.02)  # positive, |y| < 12
    return layer


def _inputs(in_size=96) -> torch.Tensor:
    return torch.rand(8, in_size, generator=torch.Generator().manual_seed(5))


def test_names_and_defaults_are_the_reference_toolkits():
    assert aihw.devices.configs.TorchInferenceRPUConfigIRDropT is TorchInferenceRPUConfigIRDropT
    config = TorchInferenceRPUConfigIRDropT()
    assert isinstance(config, TorchInferenceRPUConfig)
    assert config.runtime.backend == "reference"
    forward = config.forward
    assert type(forward) is IOParametersIRDropT and isinstance(forward, IOParameters)
    assert (forward.ir_drop, forward.ir_drop_rs, forward.ir_drop_segments) == (1.0, 0.15, 8)
    assert forward.ir_drop_time_step_resolution_scale == 1.0
    assert (forward.ir_drop_v_read, forward.split_mode_bit_shift) == (0.4005, 3)
    assert config.backward.is_perfect


def test_eval_mode_applies_the_drop_and_training_mode_does_not():
    irdrop = _layer(TorchInferenceRPUConfigIRDropT(forward=IOParametersIRDropT(**QUIET)))
    plain = _layer(TorchInferenceRPUConfig(forward=IOParameters(**QUIET)))
    x = _inputs()
    assert torch.equal(irdrop(x), plain(x))  # training: the exact product
    irdrop.eval()
    plain.eval()
    y, exact = irdrop(x), plain(x)
    # Positive weights and inputs, 96 rows padded to 512: the drop and the read
    # voltage's leak lower every output, by a few percent with the defaults.
    assert (y < exact).all()
    assert float(((exact - y) / exact).detach().max()) < 0.1
    irdrop.train()
    assert torch.equal(irdrop(x), plain(x))


def test_vanishing_wire_resistance_gives_the_exact_layer():
    # r_s -> 0 at the idle read voltage: the pulse counts times the slot width are the
    # DAC's inputs, so eval equals the training product (float32 rounding: 1e-5 relative).
    forward = IOParametersIRDropT(**QUIET, ir_drop=1e-9, ir_drop_v_read=0.4)
    layer = _layer(TorchInferenceRPUConfigIRDropT(forward=forward))
    x = _inputs()
    train = layer(x)
    layer.eval()
    assert torch.allclose(layer(x), train, rtol=1e-5, atol=1e-5)


def test_the_noise_models_converter_sets_the_conductances():
    def drop(g_max):
        config = TorchInferenceRPUConfigIRDropT(
            forward=IOParametersIRDropT(**QUIET, ir_drop=5.0, ir_drop_v_read=0.4),
            noise_model=PCMLikeNoiseModel(g_converter=SinglePairConductanceConverter(g_max)),
        )
        layer = _layer(config)
        x = _inputs()
        exact = layer(x)
        layer.eval()
        return float((exact - layer(x)).detach().mean())

    assert 0 < drop(10.0) < drop(25.0) < drop(60.0)


def test_the_mapping_sets_the_physical_rows():
    mapping = MappingParameter(max_input_size=64)
    config = TorchInferenceRPUConfigIRDropT(mapping=mapping)
    layer = _layer(config)
    rows = [t.forward_periphery.ir_drop_rows for t in list(layer.analog_tiles())]
    assert rows == [64, 64]  # 96 inputs in two tiles of 48, each padded to 64 rows
    with pytest.raises(ValueError, match="ir_drop_segments=8 does not divide the 100 physical"):
        _layer(TorchInferenceRPUConfigIRDropT(mapping=MappingParameter(max_input_size=100)))
    # No tile limit: a tile has its own rows (the layer's mapping, not the configuration's).
    forward = IOParametersIRDropT(ir_drop_segments=4)
    torch.manual_seed(0)
    layer = AnalogLinear(96, 12, rpu_config=TorchInferenceRPUConfigIRDropT(forward=forward),
                         mapping=MappingParameter(max_input_size=0))  # fmt: skip
    assert [t.forward_periphery.ir_drop_rows for t in list(layer.analog_tiles())] == [96]


def test_split_mode_on_a_layer():
    forward = IOParametersIRDropT(**QUIET, inp_res=1 / 128, mv_type="SplitMode")
    layer = _layer(TorchInferenceRPUConfigIRDropT(forward=forward))
    one_pass = IOParametersIRDropT(**QUIET, inp_res=1 / 128)
    one = _layer(TorchInferenceRPUConfigIRDropT(forward=one_pass))
    x = _inputs()
    assert torch.allclose(layer(x), one(x), atol=1e-5)  # training: same digital sum
    layer.eval()
    one.eval()
    # In eval the passes read for other times (8 + 8 x 8 slots against 65): only the
    # read voltage's leak differs.
    assert torch.allclose(layer(x), one(x), rtol=0.05)


def test_checkpoint_keeps_the_parameters_and_the_layout(tmp_path):
    forward = IOParametersIRDropT(ir_drop_segments=4, ir_drop_v_read=0.41, ir_drop=2.0)
    mapping = MappingParameter(max_input_size=128)
    config = TorchInferenceRPUConfigIRDropT(forward=forward, mapping=mapping)
    layer = _layer(config)
    layer.eval()
    x = _inputs()
    layer(x)  # moves the noise counters
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = _layer(TorchInferenceRPUConfigIRDropT(mapping=MappingParameter(max_input_size=128)))
    fresh.load_state_dict(state)
    fresh.eval()
    tile = next(iter(fresh.analog_tiles()))
    assert tile.forward_periphery.io == next(iter(layer.analog_tiles())).forward_periphery.io
    assert tile.forward_periphery.ir_drop_rows == 128
    assert torch.equal(fresh(x), layer(x))  # same counters, same noise, same drop


def test_copies_and_pickles_keep_it():
    config = TorchInferenceRPUConfigIRDropT(forward=IOParametersIRDropT(ir_drop_segments=16))
    assert pickle.loads(pickle.dumps(config)) == config
    layer = _layer(config)
    layer.eval()
    twin = copy.deepcopy(layer)
    x = _inputs()
    assert torch.equal(twin(x), layer(x))


def test_pulsed_tiles_refuse_it():
    config = SingleRPUConfig(device=ConstantStepDevice(), forward=IOParametersIRDropT())
    with pytest.raises(ValueError, match="IOParametersIRDropT, which a AnalogTile does not"):
        AnalogLinear(8, 4, rpu_config=config)


def test_drift_compensation_reads_out_with_the_drop_in_either_mode():
    # The compensation's read-outs run as in eval (the reference reads out with
    # is_test=True): programming in training mode and in eval mode gives one baseline.
    forward = IOParametersIRDropT(**QUIET, ir_drop=50.0)
    baselines = []
    for train in (True, False):
        layer = _layer(TorchInferenceRPUConfigIRDropT(forward=forward))
        layer.train(train)
        layer.program_analog_weights()
        tile = next(iter(layer.analog_tiles()))
        baselines.append(tile.inference_state.programmed.baseline)
    assert torch.equal(baselines[0], baselines[1])

"""Analog layers under DistributedDataParallel: 2 processes on gloo (CPU).

Each rank trains the digits MLP (pulsed constant-step tiles) on its half of every global
batch. ``prepare_for_ddp`` makes the optimizer gather the recorded rows of both ranks
before each step, so both replicas apply the same pulsed update: they must end
bit-identical, and, with the digital parameters frozen (the sum of a digital gradient
over two halves is not the same floating-point sum as over the whole batch), equal bit for
bit to one process trained over the concatenated batches. With trained digital biases
(AnalogSGD, or AnalogOptimizer with Adam) the replicas still agree bit for bit and stay
close to the one-process run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from _ddp_worker import free_port, train_single, worker

from aihw.core import native_available
from aihw.core.distributed import gather_recorded_updates, is_distributed
from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear, AnalogLinearMapped, AnalogSequential, prepare_for_ddp
from aihw.nn.distributed import config_fingerprint, state_fingerprint
from aihw.optim import AnalogSGD

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available() or not native_available(),
    reason="needs torch.distributed and the compiled engine",
)

pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")

STEPS, BATCH = 4, 32
CASES = [
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.0, "tile_rows": 512},
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.0, "tile_rows": 16},  # 2 tiles
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.1, "tile_rows": 512},
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.01, "tile_rows": 512, "optimizer": "adam"},
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.1, "tile_rows": 16, "uneven": True},
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.0, "tile_rows": 512, "analog_bias": True},
    {"steps": STEPS, "batch": BATCH, "digital_lr": 0.0, "tile_rows": 512, "compound": True},
]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker, args=(2, free_port(), str(out), CASES), nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


def _assert_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("case", range(len(CASES)))
def test_replicas_are_bit_identical(ranks, case):
    _assert_equal(ranks[0]["runs"][case], ranks[1]["runs"][case])
    assert ranks[0]["runs"][case]["tile0.update_index"] == STEPS


@pytest.mark.parametrize("case", [0, 1, 5, 6])
def test_replicas_equal_one_process_over_the_concatenated_batch(ranks, case):
    """Frozen digital biases (cases 0, 1, and Tiki-Taka tiles in case 6) or analog biases
    trained in the tiles (case 5, no DDP wrapper): bit for bit. The cases with trained digital parameters are checked
    for identical replicas only: a digital gradient sums the halves in another order."""
    single = train_single(**CASES[case])
    _assert_equal(ranks[0]["runs"][case], single)


def test_recurrent_layers_stay_bit_identical(ranks):
    """An AnalogLSTM records once per time step; the gather takes all of them."""
    _assert_equal(ranks[0]["lstm"], ranks[1]["lstm"])
    assert set(ranks[0]["lstm"]["update_index"]) == {3}


def test_a_model_wrapped_without_prepare_for_ddp_warns(ranks):
    for rank in range(2):
        messages = ranks[rank]["unprepared"]
        assert len(messages) == 2  # one per analog weight
        assert messages[0].startswith("AnalogLinear.weight (32, 64) has a .grad under torch")
        assert "without aihw.nn.prepare_for_ddp(model)" in messages[0]


def test_trained_digital_biases_stay_close_to_one_process(ranks):
    single = train_single(**CASES[2])
    run = ranks[0]["runs"][2]
    for key, value in single.items():
        if isinstance(value, torch.Tensor):
            # A few dw_min (0.001) of pulses may flip where the biases differ by ulps.
            assert torch.allclose(run[key], value, atol=0.01), key
    # The weights moved: the test compares trained models, not initial ones.
    assert not torch.equal(run["tile0.weights"], train_single(0, BATCH, 0.1)["tile0.weights"])


def test_unequal_tile_configurations_are_refused_on_every_rank(ranks):
    for rank in range(2):
        message = ranks[rank]["errors"]["config"]
        assert "rank 1 has a different tile configuration than rank 0" in message
        assert "analog layer '0' (AnalogLinear)" in message
        assert f"(this is rank {rank})" in message


def test_unequal_tile_states_are_refused_on_every_rank(ranks):
    for rank in range(2):
        message = ranks[rank]["errors"]["state"]
        assert "rank 1 has a different tile state (seeds, update counters or weights)" in message
        assert "torch.manual_seed" in message


def test_prepare_for_ddp_needs_an_initialised_process_group():
    layer = AnalogLinear(4, 2)
    with pytest.raises(RuntimeError, match="torch.distributed is not initialised"):
        prepare_for_ddp(layer)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module; got int"):
        prepare_for_ddp(3)  # type: ignore[arg-type]
    assert not is_distributed(layer.weight)
    # The reference toolkit's spelling: a method of the layers and of AnalogSequential.
    for model in (layer, AnalogSequential(layer)):
        with pytest.raises(RuntimeError, match="torch.distributed is not initialised"):
            model.prepare_for_ddp()


def test_gathering_without_a_process_group_changes_nothing():
    layer = AnalogLinear(4, 2)
    layer(torch.randn(3, 4)).sum().backward()
    gather_recorded_updates(list(layer.analog_tiles()))
    assert layer.analog_tile.num_recorded == 3


def test_fingerprints_tell_configurations_apart_from_states():
    def layer(seed: int, dw_min: float = 0.001, rows: int = 512) -> AnalogLinear:
        torch.manual_seed(seed)
        device = ConstantStepResistiveDevice(dw_min=dw_min)
        return AnalogLinear(6, 4, resistive_device=device, max_output_size=rows)

    same, other_seed = layer(0), layer(1)
    assert config_fingerprint(same) == config_fingerprint(layer(0))
    assert state_fingerprint(same) == state_fingerprint(layer(0))
    assert config_fingerprint(same) == config_fingerprint(other_seed)
    assert state_fingerprint(same) != state_fingerprint(other_seed)
    assert config_fingerprint(same) != config_fingerprint(layer(0, dw_min=0.002))
    assert config_fingerprint(same) != config_fingerprint(layer(0, rows=2))  # 2 tiles
    trained = layer(0)
    trained(torch.randn(3, 6)).sum().backward()
    AnalogSGD(trained.parameters(), lr=0.1).step()
    assert state_fingerprint(trained) != state_fingerprint(same)  # counters and weights


def test_the_torchrun_example_trains_bit_identical_replicas():
    """docs/distributed.md's launch line, on the example script (one epoch)."""
    script = Path(__file__).resolve().parents[1] / "examples" / "train_digits_ddp.py"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", str(script), "--epochs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 processes, 1 epochs: test accuracy" in done.stdout
    assert "replicas bit-identical: True" in done.stdout


def test_the_reference_toolkit_name_of_the_mapped_linear_layer():
    assert AnalogLinearMapped is AnalogLinear

"""The runnable examples and documentation snippets do what they promise."""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

import torch

ROOT = Path(__file__).parents[1]


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_demo_reaches_85_percent_with_constant_step_devices():
    demo = _load_example("train_digits")
    history = demo.train("constant-step", progress=False)
    assert len(history) == 20
    assert history[-1] >= 0.85, history


def test_tile_snippet_updates_by_pulses():
    printed: list[str] = []
    namespace = runpy.run_path(
        str(ROOT / "tests" / "doc_snippets" / "tile_direct.py"),
        init_globals={"print": lambda *a: printed.append(" ".join(map(str, a)))},
    )
    tile = namespace["tile"]
    assert namespace["y"].shape == (8, 3) and namespace["z"].shape == (8, 4)
    torch.testing.assert_close(namespace["y"], namespace["x"] @ torch.full((4, 3), 0.1))
    assert tile.last_update_pulses > 0
    assert printed == [f"{tile.last_update_pulses} pulses applied"]
    assert not torch.equal(tile.weights, torch.full((3, 4), 0.1))


def test_periphery_snippet_runs():
    printed: list[str] = []
    namespace = runpy.run_path(
        str(ROOT / "tests" / "doc_snippets" / "periphery.py"),
        init_globals={"print": lambda *a: printed.append(" ".join(map(str, a)))},
    )
    assert namespace["y"].shape == (32, 10)
    assert namespace["trained"].analog_tile.forward_periphery.io.out_noise == 0.1
    assert printed == [f"{namespace['periphery'].last_passes} bound-management pass(es)"]


def test_lstm_demo_lowers_the_loss_with_constant_step_devices(capsys):
    demo = _load_example("train_lstm")
    history = demo.train("constant-step", steps=30, hidden=8, length=10, every=10)
    assert len(history) == 4  # before training and after steps 10, 20, 30
    assert history[-1] < 0.6 * history[0], history
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("step    0: validation MSE ") and len(printed) == 4


def test_lenet_example_trains_on_the_cpu_when_there_is_no_gpu(capsys):
    demo = _load_example("train_lenet_cuda")
    history = demo.train("cpu", epochs=1, samples=200, seed=0)
    assert len(history) == 1
    seconds, accuracy = history[0]
    assert seconds > 0 and 0.0 <= accuracy <= 1.0
    out = capsys.readouterr().out
    assert "160 training images, tiles run: native" in out
    assert "epoch 1:" in out
    model = demo.build_lenet()
    assert len(list(model.analog_layers())) == 5
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)

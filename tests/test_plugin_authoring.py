"""What a plugin author meets: the tutorial's code, subclassing a built-in device, the
public device-to-device sampling, and a checkpoint whose device is gone."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path

import pytest
import torch

from aihw.core.laws import unregister_python_law
from aihw.core.tiles import AnalogTile
from aihw.core.tiles.state import MissingDeviceError
from aihw.devices import (
    ConstantStepResistiveDevice,
    PulsedResistiveDeviceParameters,
    get_device_class,
    register_device,
    unregister_device,
)
from aihw.devices.sampling import sample_device_to_device
from aihw.nn import AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "plugins" / "index.md"
EXAMPLE = ROOT / "examples" / "aihw-device-example"
# A marker comment, then a fenced block: the block is the code the marker names.
_BLOCK = re.compile(r"<!-- (example|tested): (\S+) -->\n```[a-z]*\n(.*?)```\n", re.S)


def _blocks(kind: str) -> list[tuple[str, str]]:
    return [(where, code) for k, where, code in _BLOCK.findall(TUTORIAL.read_text()) if k == kind]


def _example_code(where: str) -> str:
    """A whole file of the example, or the region ``# [tag-start]`` .. ``# [tag-end]``."""
    path, _, tag = where.partition("#")
    text = (EXAMPLE / path).read_text()
    if not tag:
        return text
    start, end = f"# [{tag}-start]\n", f"# [{tag}-end]"
    assert start in text and end in text, f"{path} lacks the region markers of {tag!r}"
    return text[text.index(start) + len(start) : text.index(end)].strip("\n") + "\n"


def test_the_tutorial_shows_its_code_inline():
    # Read as source (e.g. on a code host), the page must show code, not include directives.
    text = TUTORIAL.read_text()
    assert "literalinclude" not in text
    shown = {where for where, _ in _blocks("example")}
    assert {
        "pyproject.toml#entry-point",
        "src/aihw_device_example/plugin.py",
        "src/aihw_device_example/devices.py#way-1",
        "src/aihw_device_example/devices.py#way-2",
        "src/aihw_device_example/devices.py#way-3",
        "tests/test_example_training.py",
    } <= shown


@pytest.mark.parametrize("where, code", _blocks("example"), ids=lambda v: str(v)[:50])
def test_each_inline_block_is_the_example_code_verbatim(where, code):
    assert code == _example_code(where), f"docs/plugins/index.md's block of {where} is stale"


@pytest.fixture
def damped_step_device(monkeypatch):
    """The tutorial's section-4 device (a subclass of a built-in device), registered."""
    ((_, code),) = _blocks("tested")
    module = types.ModuleType("tutorial_damped_step")  # a module, as in a plugin
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, str(TUTORIAL), "exec"), module.__dict__)
    cls = module.DampedStepDevice
    register_device(cls)
    try:
        yield cls
    finally:
        unregister_device(cls.name)
        unregister_python_law("damped_step")


def test_a_subclass_of_a_built_in_device_keeps_its_sampling_and_runs_its_law(
    damped_step_device,
):
    cls = damped_step_device
    assert get_device_class("DampedStep") is cls
    device = cls(w_max_dtod=0.2, dw_min_dtod=0.3, damping=0.8)
    built_in = ConstantStepResistiveDevice(w_max_dtod=0.2, dw_min_dtod=0.3)
    tiles = [AnalogTile(6, 5, dev, seed=3) for dev in (device, built_in)]
    assert tiles[0].law.name == "damped_step"
    for key in ("dw_up", "dw_down", "w_min", "w_max"):  # the built-in devices, exactly
        assert torch.equal(tiles[0].device_arrays[key], tiles[1].device_arrays[key])
    # ... which the public function draws too
    public = sample_device_to_device(device.params, 6, 5, torch.Generator().manual_seed(0))
    own = device.sample(6, 5, torch.Generator().manual_seed(0))
    for key in public:
        assert torch.equal(public[key], own[key])
    with pytest.raises(ValueError, match="damping=2 is invalid; allowed: 0..1"):
        cls(damping=2)
    layer = AnalogLinear(5, 3, bias=False, resistive_device=device, seed=1)
    x = torch.randn(32, 5)
    y = x @ (0.3 * torch.randn(3, 5)).T
    optimizer = AnalogSGD(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(layer(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses


def test_a_device_of_its_own_class_samples_like_the_built_in_ones():
    from aihw.core.device_model import DeviceModel

    class OwnDevice(DeviceModel):  # not derived from a built-in device
        name = "OwnSampling"
        api_version = 1
        law = "constant_step"
        parameters_class = PulsedResistiveDeviceParameters

        def validate(self):
            self.params.validate()

        def granularity(self):
            return self.params.dw_min

        def law_scalars(self):
            return {"dw_min_std": self.params.dw_min_std}

        def sample(self, d_size, x_size, generator):
            return sample_device_to_device(self.params, d_size, x_size, generator)

    params = PulsedResistiveDeviceParameters(w_min_dtod=0.2, up_down=0.1, up_down_dtod=0.05)
    own = AnalogTile(4, 7, OwnDevice(params), seed=9).device_arrays
    built_in = AnalogTile(4, 7, ConstantStepResistiveDevice(params), seed=9).device_arrays
    for key in ("dw_up", "dw_down", "w_min", "w_max"):
        assert torch.equal(own[key], built_in[key])


def test_a_missing_device_names_the_layer_in_the_model():
    class GoneDevice(ConstantStepResistiveDevice):
        name = "GoneTestDevice"

    register_device(GoneDevice)
    try:
        model = AnalogSequential(
            AnalogLinear(3, 4), torch.nn.ReLU(), AnalogLinear(4, 2, resistive_device=GoneDevice())
        )
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
    finally:
        unregister_device("GoneTestDevice")
    buffer.seek(0)
    state = torch.load(buffer, weights_only=False)
    fresh = AnalogSequential(AnalogLinear(3, 4), torch.nn.ReLU(), AnalogLinear(4, 2))
    with pytest.raises(MissingDeviceError) as info:
        fresh.load_state_dict(state)
    message = str(info.value)
    assert message.startswith("layer '2': AnalogLinear, tile 0: checkpoint needs device ")
    assert "'GoneTestDevice'" in message

"""The noise-model plugin shown in docs/plugins/index.md registers, programs and drifts."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
import torch

from aihw.devices import InferenceRPUConfig, register_noise_model, unregister_noise_model
from aihw.nn import AnalogLinear

PAGE = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "index.md"


def test_the_documented_noise_model_plugin_works(monkeypatch):
    (code,) = re.findall(r"<!-- noise-model: plugin.py -->\n```python\n(.*?)```\n",
                         PAGE.read_text(), re.S)  # fmt: skip
    module = types.ModuleType("doc_noise_model_plugin")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, str(PAGE), "exec"), module.__dict__)
    cls = module.ProportionalNoiseModel
    with pytest.raises(ValueError, match="ProportionalNoiseModel.nu=-1 is invalid"):
        cls(nu=-1)
    calls = []
    module.register_noise_models(lambda c, aliases=(): calls.append(c))
    assert calls == [cls]
    register_noise_model(cls)
    try:
        layer = AnalogLinear(4, 3, rpu_config=InferenceRPUConfig(noise_model=cls(nu=0.05)), seed=0)
        layer.program_analog_weights(seed=0)
        programmed = layer.get_weights()[0]
        layer.drift_analog_weights(980.0)  # (1000 / 20) ** -0.05
        torch.testing.assert_close(layer.get_weights()[0], programmed * 50.0**-0.05)
    finally:
        unregister_noise_model(cls.name)

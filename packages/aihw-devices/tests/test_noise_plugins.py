"""Noise models from plugins: the ``register_noise_models`` hook, validation with errors
that name the plugin, listing by ``python -m aihw.devices noise-models``."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import ClassVar

import pytest

from aihw.core.inference import NoiseModel
from aihw.devices import (
    PluginError,
    UnknownNoiseModelError,
    cli,
    get_noise_model,
    get_noise_model_class,
    list_noise_models,
    register_noise_model,
    reload_plugins,
)

NOISE_PLUGIN = """
    import dataclasses
    from typing import ClassVar
    import torch
    from aihw.core.inference import NoiseModel
    from aihw.devices import hookimpl

    @dataclasses.dataclass
    class ScaledNoiseModel(NoiseModel):
        name: ClassVar[str] = "{name}"
        factor: float = 0.5

        def apply_programming_noise_to_conductance(self, g_target, z):
            return g_target * self.factor

        def generate_drift_coefficients(self, g_target, z):
            return torch.zeros_like(g_target)

        def apply_drift_noise_to_conductance(self, g_prog, nu, t_inference, z):
            return g_prog

    @hookimpl
    def register_noise_models(register):
        register(ScaledNoiseModel, aliases=("ScaledAlias",))
"""


def test_a_plugin_registers_its_noise_models(make_plugin, install_plugins):
    install_plugins(make_plugin(NOISE_PLUGIN.format(name="Scaled")))
    reload_plugins()
    cls = get_noise_model_class("ScaledAlias")
    assert cls.__name__ == "ScaledNoiseModel"
    assert get_noise_model("Scaled", factor=0.25).factor == 0.25
    (info,) = [i for i in list_noise_models() if i.name == "Scaled"]
    assert (info.plugin, info.distribution, info.version) == ("fake", "aihw-device-fake", "1.2.3")
    assert info.parameters == {"g_converter": "SinglePairConductanceConverter", "factor": 0.5}
    out = io.StringIO()
    assert cli.main(["noise-models", "--json"], stdout=out) == 0
    listed = {entry["name"]: entry for entry in json.loads(out.getvalue())}
    assert listed["Scaled"]["aliases"] == ["ScaledAlias"]
    assert listed["PCMLikeNoiseModel"]["distribution"] == "aihw-devices"


def test_a_bad_noise_model_names_the_plugin(make_plugin, install_plugins):
    install_plugins(make_plugin(NOISE_PLUGIN.format(name="not an identifier")))
    with pytest.raises(PluginError) as info:
        reload_plugins()
    message = str(info.value)
    assert "it registered an unacceptable noise model" in message
    assert "ScaledNoiseModel.name='not an identifier' is invalid" in message
    assert "distribution aihw-device-fake 1.2.3" in message
    assert "AIHW_DISABLE_PLUGINS=fake" in message


def test_registration_is_validated():
    class NotADataclass(NoiseModel):
        name: ClassVar[str] = "NotADataclass"

    with pytest.raises(TypeError, match="must be decorated with @dataclasses.dataclass"):
        register_noise_model(NotADataclass)
    with pytest.raises(TypeError, match="takes a subclass of aihw.core.inference.NoiseModel"):
        register_noise_model(int)  # type: ignore[arg-type]

    @dataclasses.dataclass
    class Duplicate(NoiseModel):
        name: ClassVar[str] = "PCMLikeNoiseModel"

    with pytest.raises(ValueError, match="noise model name 'PCMLikeNoiseModel' of .* is already"):
        register_noise_model(Duplicate)

    @dataclasses.dataclass
    class Future(NoiseModel):
        name: ClassVar[str] = "Future"
        api_version: ClassVar[int] = 99

    with pytest.raises(ValueError, match=r"Future.api_version=99 is not supported"):
        register_noise_model(Future)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UnknownNoiseModelError, match="did you mean 'PCMLikeNoiseModel'"):
        get_noise_model_class("PCMLikeNoiseMode")


def test_noise_models_table():
    out = io.StringIO()
    assert cli.main(["noise-models"], stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "name", "aliases", "parameters", "plugin", "distribution", "version"
    ]  # fmt: skip
    (row,) = [line for line in lines if line.startswith("PCMLikeNoiseModel ")]
    assert "prog_coeff" in row and row.split()[-3:] == ["builtin", "aihw-devices", "0.1.0"]

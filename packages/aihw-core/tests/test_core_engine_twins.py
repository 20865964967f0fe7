"""The engine boundary: every compiled function of aihw.core.engine has its plain-torch
twin in aihw.core.reference, by the same name and signature, computing the same numbers."""

from __future__ import annotations

import inspect
import random

import pytest
import torch

from aihw.core import engine
from aihw.core.reference import device_ops, patches, periphery, philox, update

TWINS = {
    philox: ("philox4x32_10", "normals_from_words", "periphery_normals_from_words"),
    update: ("pulsed_update",),
    periphery: ("input_stage", "output_stage", "row_abs_max"),
    device_ops: ("decay", "diffuse", "reset_columns", "write_noise"),
    patches: ("im2col_2d", "col2im_2d"),
}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, ns in TWINS.items() for n in ns])
def test_every_engine_function_has_its_twin(module, name):
    native, reference = getattr(engine, name), getattr(module, name)
    assert list(inspect.signature(native).parameters) == list(
        inspect.signature(reference).parameters
    )
    assert name in engine.__all__ and name in module.__all__


def test_philox_twins_agree(core):
    rng = random.Random(3)
    counters = torch.tensor([[rng.getrandbits(32) for _ in range(4)] for _ in range(64)])
    key = (rng.getrandbits(32), rng.getrandbits(32))
    words = engine.philox4x32_10(counters, key)
    assert torch.equal(words, philox.philox4x32_10(counters, key))
    assert torch.equal(
        engine.periphery_normals_from_words(words), philox.periphery_normals_from_words(words)
    )
    torch.testing.assert_close(
        engine.normals_from_words(words), philox.normals_from_words(words), rtol=1e-13, atol=0
    )


def test_engine_refuses_tensors_it_cannot_read(core):
    x = torch.ones(3, 4)
    with pytest.raises(ValueError, match=r"x must be a contiguous torch.float32 CPU tensor"):
        engine.row_abs_max(x.double())
    with pytest.raises(ValueError, match=r"\(not contiguous\)"):
        engine.row_abs_max(x.t())


def test_stage_configurations_are_typed_and_picklable(core):
    import pickle

    config = engine.input_stage_config(0.1, True, 1.0, 0.02, 0.0, periphery.STREAMS_FORWARD)
    copy = pickle.loads(pickle.dumps(config))
    assert (copy.step, copy.sto_round, copy.noise_stream) == (0.1, True, 6)
    with pytest.raises(TypeError):
        engine.input_stage_config("0.1", True, 1.0, 0.02, 0.0, periphery.STREAMS_FORWARD)

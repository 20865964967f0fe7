"""A checkpoint written by an earlier ``main``, kept to prove that later code loads it and
resumes bit-identically (run as a script only to write the fixture anew).

    python main_fixture.py write FIXTURE   build, train 2 steps, save the checkpoint, then
                                           train 2 more and save what that gave as expected

The model covers what the checkpoint format carries: pulsed tiles of two device laws
(ConstantStep, SoftBounds), a grid of 2 x 2 tiles, a grouped convolution, weight scaling
with an analog bias column, a learned output scale, an inference periphery (forward
noise, ADC/DAC, bound management), a floating-point tile, and AnalogSGD with momentum.
"""

from __future__ import annotations

import copy
import sys

import torch
from torch import nn

from aihw.devices import (
    ConstantStepResistiveDevice,
    InferenceRPUConfig,
    SoftBoundsResistiveDevice,
)
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential, MappingParameters
from aihw.optim import AnalogSGD

STEPS_BEFORE = 2
STEPS_AFTER = 2


def build() -> tuple[nn.Module, AnalogSGD]:
    torch.manual_seed(7)
    model = AnalogSequential(
        AnalogConv2d(2, 4, 3, groups=2, resistive_device=ConstantStepResistiveDevice()),
        nn.Tanh(),
        nn.Flatten(),
        AnalogLinear(
            64,
            12,
            resistive_device=SoftBoundsResistiveDevice(),
            mapping=MappingParameters(
                max_input_size=40,
                max_output_size=8,
                digital_bias=False,
                weight_scaling_omega=0.6,
            ),
        ),
        nn.Tanh(),
        AnalogLinear(
            12,
            6,
            rpu_config=InferenceRPUConfig(),
            mapping=MappingParameters(learn_out_scaling=True),
        ),
        nn.Tanh(),
        AnalogLinear(6, 3),  # floating point
    )
    optimizer = AnalogSGD(model.parameters(), lr=0.1, momentum=0.5)
    optimizer.regroup_param_groups(model)
    return model, optimizer


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(500 + step)
    return torch.randn(5, 2, 6, 6, generator=generator), torch.randint(
        0, 3, (5,), generator=generator
    )


def train(model: nn.Module, optimizer: AnalogSGD, steps: range) -> list[float]:
    losses = []
    for step in steps:
        x, y = batch(step)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def evaluate(model: nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model(batch(99)[0])


def write(path: str) -> None:
    torch.set_num_threads(1)
    model, optimizer = build()
    train(model, optimizer, range(STEPS_BEFORE))
    # Deep copies: training on goes on in place, in the tensors the state dict shares.
    checkpoint = copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    inference = evaluate(model)
    losses = train(model, optimizer, range(STEPS_BEFORE, STEPS_BEFORE + STEPS_AFTER))
    checkpoint["expected"] = {
        "inference_at_checkpoint": inference,
        "losses_after": torch.tensor(losses, dtype=torch.float64),
        "model_after": model.state_dict(),
        "inference_after": evaluate(model),
    }
    torch.save(checkpoint, path)


if __name__ == "__main__":
    if sys.argv[1:2] != ["write"] or len(sys.argv) != 3:
        raise SystemExit(__doc__)
    write(sys.argv[2])

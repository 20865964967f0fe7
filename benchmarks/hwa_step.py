"""One hardware-aware training step against the same step without hardware-aware training.

Workload: one ``AnalogLinear(n, n)`` (n = 512 and 1024, one tile each) with
``InferenceRPUConfig`` (the default forward periphery, exact backward and update), batch
64, MSE against N(0, 1) targets, ``AnalogSGD`` at lr 0.01. A step is ``zero_grad``,
forward, loss, backward and ``optimizer.step()``. The plain step has no clip, remap or
modifier; the hardware-aware step has the weight modifier named in the row (every type;
the last rows add clipping and remapping too), which draws a modified copy after every
step that the next forward and backward use. Both models get the same inputs and
targets, run on the same threads (``--threads``, default 1) and are timed alternately,
call by call, so that their ratio holds when the machine's load changes.

    python benchmarks/hwa_step.py [--repeats 20] [--threads 1] [--sizes 512 1024]
"""

from __future__ import annotations

import argparse

import torch
from _timing import paired_median_ms, print_table

from aihw.devices import (
    InferenceRPUConfig,
    WeightClipParameter,
    WeightClipType,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
)
from aihw.nn import AnalogLinear
from aihw.optim import AnalogSGD

BATCH = 64
LR = 0.01

MODIFIERS: list[tuple[str, dict[str, object]]] = [
    ("AddNormal", {"type": WeightModifierType.ADD_NORMAL, "std_dev": 0.05}),
    ("MultNormal", {"type": WeightModifierType.MULT_NORMAL, "std_dev": 0.05}),
    ("Discretize", {"type": WeightModifierType.DISCRETIZE, "res": 1 / 127}),
    (
        "Discretize sto_round",
        {"type": WeightModifierType.DISCRETIZE, "res": 1 / 127, "sto_round": True},
    ),  # fmt: skip
    (
        "DiscretizeAddNormal",
        {"type": WeightModifierType.DISCRETIZE_ADD_NORMAL, "res": 1 / 127, "std_dev": 0.05},
    ),  # fmt: skip
    ("DoReFa", {"type": WeightModifierType.DOREFA, "res": 1 / 127}),
    ("Poly", {"type": WeightModifierType.POLY, "std_dev": 1.0}),
    ("ProgNoise", {"type": WeightModifierType.PROG_NOISE, "std_dev": 1.0}),
    (
        "PCMNoise",
        {"type": WeightModifierType.PCM_NOISE, "std_dev": 1.0, "pcm_t_inference": 3600.0},
    ),  # fmt: skip
    ("DropConnect pdrop=0.1", {"type": WeightModifierType.DROP_CONNECT, "pdrop": 0.1}),
    ("clip + remap, no modifier", None),
    ("AddNormal + clip + remap", {"type": WeightModifierType.ADD_NORMAL, "std_dev": 0.05}),
]
# Rows timed against the same clipping and remapping without the modifier as well: remapping
# scales every row's largest weight to 1, so more outputs reach the ADC's bound and the
# periphery re-runs them (bound management), which is the remapping's cost, not the draws'.
AGAINST_CLIP_REMAP = {"AddNormal + clip + remap"}


def config(name: str | None, params: dict[str, object] | None) -> InferenceRPUConfig:
    extra: dict[str, object] = {}
    if name is not None and "clip" in name:
        extra["clip"] = WeightClipParameter(type=WeightClipType.LAYER_GAUSSIAN, sigma=2.5)
        extra["remap"] = WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC)
    if params is not None:
        extra["modifier"] = WeightModifierParameter(**params)  # type: ignore[arg-type]
    return InferenceRPUConfig(**extra)  # type: ignore[arg-type]


def make_step(model: AnalogLinear, x: torch.Tensor, target: torch.Tensor):  # type: ignore[no-untyped-def]
    optimizer = AnalogSGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.MSELoss()

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), target).backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads: {args.threads}, batch {BATCH}, repeats {args.repeats}")
    rows: list[list[object]] = []
    for n in args.sizes:
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(BATCH, n, generator=generator)
        target = torch.randn(BATCH, n, generator=generator)
        for name, params in MODIFIERS:
            plain = AnalogLinear(n, n, rpu_config=config(None, None), seed=1)
            hwa = AnalogLinear(n, n, rpu_config=config(name, params), seed=1)
            step_plain = make_step(plain, x, target)
            step_hwa = make_step(hwa, x, target)
            t_plain, t_hwa = paired_median_ms(step_plain, step_hwa, args.repeats)
            against = "-"
            if name in AGAINST_CLIP_REMAP:
                base = AnalogLinear(n, n, rpu_config=config(name, None), seed=1)
                t_base, t_hwa2 = paired_median_ms(
                    make_step(base, x, target), step_hwa, args.repeats
                )
                against = f"{t_hwa2 / t_base:.2f}"
            rows.append([f"{n}x{n}", name, f"{t_plain:.2f}", f"{t_hwa:.2f}",
                         f"{t_hwa / t_plain:.2f}", against])  # fmt: skip
    print_table(["size", "modifier", "plain ms", "HWA ms", "ratio (goal <= 1.5)",
                 "vs clip + remap alone"], rows)  # fmt: skip


if __name__ == "__main__":
    main()

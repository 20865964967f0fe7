"""One hardware-aware training step against the same step without hardware-aware training.

Workload: one ``AnalogLinear(n, n)`` (n = 512 and 1024, one tile each) with
``InferenceRPUConfig`` (the default forward periphery, exact backward and update), batch
64, MSE against N(0, 1) targets, ``AnalogSGD`` at lr 0.01. A step is ``zero_grad``,
forward, loss, backward and ``optimizer.step()``. The plain step has no clip, remap or
modifier; the hardware-aware step has the weight modifier named in the row (every type;
``PCMNoise`` at the reference toolkit's default ``pcm_t_inference=0`` and at 1 h; the last
rows add clipping and remapping too), which draws a modified copy after every step that the
next forward and backward use. Both models get the same inputs and targets, run on the same
threads (``--threads``, default 1) and are timed alternately, call by call, so that their
ratio holds when the machine's load changes.

Clipping and remapping rows have two more ratios: against the same clipping and remapping
without the modifier, and against the plain step on weights remapped once at the start
("remapped plain"): remapping brings each row's largest weight to 1, so more outputs reach
the ADC's bound and the periphery re-runs them (bound management), an effect of the larger
weights that the plain step on remapped weights has too; the ratio to it is what clipping,
remapping and the modifier cost themselves.

The last rows time a small CNN (``Conv2d(1, 16, 5)``-tanh-maxpool-``Conv2d(16, 32, 5)``-
tanh-maxpool-``Linear(512, 10)``, all analog, 28x28 inputs, batch 32, cross-entropy), where
each convolution weight serves many positions, so that one draw per step is a small share.

    python benchmarks/hwa_step.py [--repeats 20] [--threads 1] [--sizes 512 1024] [--no-cnn]
                                  [--batch 64] [--modifiers "PCMNoise t=0" ...]

``--batch`` sets the linear rows' batch (the draw's cost does not grow with it, the step's
does); ``--modifiers`` keeps only the rows named.
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
from aihw.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from aihw.optim import AnalogSGD

BATCH = 64
LR = 0.01
REMAP = WeightRemapType.CHANNELWISE_SYMMETRIC

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
    ("PCMNoise t=0", {"type": WeightModifierType.PCM_NOISE, "std_dev": 1.0}),
    (
        "PCMNoise t=3600 s",
        {"type": WeightModifierType.PCM_NOISE, "std_dev": 1.0, "pcm_t_inference": 3600.0},
    ),  # fmt: skip
    ("DropConnect pdrop=0.1", {"type": WeightModifierType.DROP_CONNECT, "pdrop": 0.1}),
    ("clip + remap, no modifier", None),
    ("AddNormal + clip + remap", {"type": WeightModifierType.ADD_NORMAL, "std_dev": 0.05}),
]
# Rows with clipping and remapping (see the module's docstring for their two more ratios).
CLIP_REMAP = {"clip + remap, no modifier", "AddNormal + clip + remap"}
CNN_MODIFIERS = ["AddNormal", "PCMNoise t=0", "PCMNoise t=3600 s"]
CNN_BATCH = 32


def config(name: str | None, params: dict[str, object] | None) -> InferenceRPUConfig:
    extra: dict[str, object] = {}
    if name is not None and "clip" in name:
        extra["clip"] = WeightClipParameter(type=WeightClipType.LAYER_GAUSSIAN, sigma=2.5)
        extra["remap"] = WeightRemapParameter(type=REMAP)
    if params is not None:
        extra["modifier"] = WeightModifierParameter(**params)  # type: ignore[arg-type]
    return InferenceRPUConfig(**extra)  # type: ignore[arg-type]


def make_step(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor, loss_fn=None):  # type: ignore[no-untyped-def]
    optimizer = AnalogSGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.MSELoss() if loss_fn is None else loss_fn

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(x), target).backward()
        optimizer.step()

    return step


def cnn(rpu_config: InferenceRPUConfig) -> torch.nn.Module:
    """The small CNN of the last rows (28x28 inputs, 10 outputs)."""
    return AnalogSequential(
        AnalogConv2d(1, 16, 5, rpu_config=rpu_config, seed=1),
        torch.nn.Tanh(),
        torch.nn.MaxPool2d(2),
        AnalogConv2d(16, 32, 5, rpu_config=rpu_config, seed=2),
        torch.nn.Tanh(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        AnalogLinear(512, 10, rpu_config=rpu_config, seed=3),
    )


def linear_rows(
    n: int, repeats: int, batch: int = BATCH, names: list[str] | None = None
) -> list[list[object]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, n, generator=generator)
    target = torch.randn(batch, n, generator=generator)
    rows: list[list[object]] = []
    for name, params in MODIFIERS:
        if names and name not in names:
            continue
        plain = AnalogLinear(n, n, rpu_config=config(None, None), seed=1)
        hwa = AnalogLinear(n, n, rpu_config=config(name, params), seed=1)
        step_hwa = make_step(hwa, x, target)
        t_plain, t_hwa = paired_median_ms(make_step(plain, x, target), step_hwa, repeats)
        against, remapped = "-", "-"
        if name in CLIP_REMAP:
            if params is not None:
                base = AnalogLinear(n, n, rpu_config=config(name, None), seed=1)
                t_base, t_hwa2 = paired_median_ms(make_step(base, x, target), step_hwa, repeats)
                against = f"{t_hwa2 / t_base:.2f}"
            once = AnalogLinear(n, n, rpu_config=config(None, None), seed=1)
            once.remap_analog_weights(WeightRemapParameter(type=REMAP))
            t_once, t_hwa3 = paired_median_ms(make_step(once, x, target), step_hwa, repeats)
            remapped = f"{t_hwa3 / t_once:.2f}"
        rows.append([f"{n}x{n} b{batch}", name, f"{t_plain:.2f}", f"{t_hwa:.2f}",
                     f"{t_hwa / t_plain:.2f}", against, remapped])  # fmt: skip
    return rows


def cnn_rows(repeats: int, names: list[str] | None = None) -> list[list[object]]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(CNN_BATCH, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (CNN_BATCH,), generator=generator)
    loss_fn = torch.nn.CrossEntropyLoss()
    params = dict(MODIFIERS)
    rows: list[list[object]] = []
    for name in CNN_MODIFIERS:
        if names and name not in names:
            continue
        step_plain = make_step(cnn(config(None, None)), x, labels, loss_fn)
        step_hwa = make_step(cnn(config(name, params[name])), x, labels, loss_fn)
        t_plain, t_hwa = paired_median_ms(step_plain, step_hwa, repeats)
        rows.append(["CNN b32", name, f"{t_plain:.2f}", f"{t_hwa:.2f}",
                     f"{t_hwa / t_plain:.2f}", "-", "-"])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="*", default=[512, 1024])
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN rows")
    parser.add_argument("--batch", type=int, default=BATCH, help="the linear rows' batch")
    known = [name for name, _ in MODIFIERS]
    parser.add_argument("--modifiers", nargs="*", choices=known, metavar="NAME",
                        help=f"only these rows, of: {', '.join(known)}")  # fmt: skip
    args = parser.parse_args()
    if args.batch < 1:
        parser.error(f"--batch {args.batch}: must be at least 1")
    torch.set_num_threads(args.threads)
    print(f"torch threads: {args.threads}, batch {args.batch} (CNN {CNN_BATCH}), "
          f"repeats {args.repeats}")  # fmt: skip
    rows: list[list[object]] = []
    for n in args.sizes:
        rows += linear_rows(n, args.repeats, args.batch, args.modifiers)
    if not args.no_cnn:
        rows += cnn_rows(args.repeats, args.modifiers)
    print_table(["size", "modifier", "plain ms", "HWA ms", "ratio (goal <= 1.5)",
                 "vs clip + remap alone", "vs remapped plain"], rows)  # fmt: skip


if __name__ == "__main__":
    main()

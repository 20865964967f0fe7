"""Update step of the compound tiles against one device, and native against reference.

Workload (benchmarks/update.py's): 512x512 tile, batch 64, BL 31, constant-step devices
with the reference toolkit's defaults, x ~ U(-1, 1), d ~ N(0, 1) * 1e-2, lr 0.1, exact
periphery. Prints the median time of one update of each compound (Tiki-Taka with one and
with eight column transfers per update, c-TTv2 with and without automatic scaling, the
buffered transfer (TTv2), AGAD, mixed precision, a vector cell of two devices) against the single-device update (the goal for Tiki-Taka: at most 2x), and the
native update against the plain-torch reference (goal: at least 20x).

    python benchmarks/compound_update.py [--size 512] [--batch 64] [--repeats 10] [--busy]
"""

from __future__ import annotations

import argparse

import torch
from _busy import add_busy_argument, busy, busy_label
from _timing import median_ms, print_table

from aihw.core.config import TileConfig
from aihw.core.io_parameters import IOParameters
from aihw.core.tiles import create_tile
from aihw.devices import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    ConstantStepDevice,
    DynamicTransferCompound,
    MixedPrecisionCompound,
    TransferCompound,
    VectorUnitCell,
)

#: Goals of the compound issue: Tiki-Taka's step at most this many times one device's,
#: native at least this many times faster than the reference.
GOAL_RATIO = 2.0
GOAL_NATIVE = 20.0


def _exact() -> IOParameters:
    return IOParameters(is_perfect=True)


def configs() -> dict[str, TileConfig]:
    device = ConstantStepDevice()
    pair = [device, device]
    perfect = _exact()
    return {
        "single device": TileConfig(device=device, forward=perfect, backward=perfect),
        "tiki-taka, 1 column": TileConfig(
            device=TransferCompound(unit_cell_devices=pair, transfer_forward=perfect),
            forward=perfect,
            backward=perfect,
        ),
        "tiki-taka, 8 columns": TileConfig(
            device=TransferCompound(
                unit_cell_devices=pair, transfer_forward=perfect, n_reads_per_transfer=8
            ),
            forward=perfect,
            backward=perfect,
        ),
        "c-ttv2, 8 columns": TileConfig(
            device=ChoppedTransferCompound(
                unit_cell_devices=pair, transfer_forward=perfect, n_reads_per_transfer=8
            ),
            forward=perfect,
            backward=perfect,
        ),
        "c-ttv2 auto-scaled, 8 columns": TileConfig(
            device=ChoppedTransferCompound(
                unit_cell_devices=pair,
                transfer_forward=perfect,
                n_reads_per_transfer=8,
                auto_scale=True,
                fast_lr=0.1,
                scale_fast_lr=False,
                correct_gradient_magnitudes=True,
            ),
            forward=perfect,
            backward=perfect,
        ),
        "buffered (ttv2), 8 columns": TileConfig(
            device=BufferedTransferCompound(
                unit_cell_devices=pair, transfer_forward=perfect, n_reads_per_transfer=8
            ),
            forward=perfect,
            backward=perfect,
        ),
        "agad, 8 columns": TileConfig(
            device=DynamicTransferCompound(
                unit_cell_devices=pair, transfer_forward=perfect, n_reads_per_transfer=8
            ),
            forward=perfect,
            backward=perfect,
        ),
        "mixed precision": TileConfig(
            device=MixedPrecisionCompound(device=device), forward=perfect, backward=perfect
        ),
        "vector cell, 2 devices": TileConfig(
            device=VectorUnitCell(unit_cell_devices=pair), forward=perfect, backward=perfect
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--reference-repeats", type=int, default=2)
    add_busy_argument(parser)
    args = parser.parse_args()
    print(busy_label(args.busy))
    with busy(args.busy):
        run(args)


def run(args: argparse.Namespace) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, args.size, generator=generator) * 2 - 1
    d = torch.randn(args.batch, args.size, generator=generator) * 1e-2
    rows = []
    single_ms = None
    for name, config in configs().items():
        tile = create_tile(None, args.size, args.size, seed=1, rpu_config=config)
        native_ms = median_ms(lambda t=tile: t.update(x, d, lr=args.lr), repeats=args.repeats)
        reference = create_tile(None, args.size, args.size, seed=1, rpu_config=config)
        reference.backend = "reference"
        reference_ms = median_ms(
            lambda t=reference: t.update(x, d, lr=args.lr),
            repeats=args.reference_repeats,
            warmup=1,
        )
        if single_ms is None:
            single_ms = native_ms
        rows.append(
            [
                name,
                f"{native_ms:.2f}",
                f"{native_ms / single_ms:.2f}x",
                f"{reference_ms:.1f}",
                f"{reference_ms / native_ms:.1f}x",
            ]
        )
    print(
        f"update, {args.size}x{args.size}, batch {args.batch}, BL 31, lr {args.lr}, d scale "
        f"1e-2, {torch.get_num_threads()} threads, constant-step devices; goals: Tiki-Taka "
        f"<= {GOAL_RATIO:g}x one device, native >= {GOAL_NATIVE:g}x the reference"
    )
    print_table(["tile", "native ms", "vs one device", "reference ms", "native gain"], rows)


if __name__ == "__main__":
    main()

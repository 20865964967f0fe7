"""``ChoppedTransferTile``: Tiki-Taka version 2 with a digital buffer, and its chopped
variant (c-TTv2; docs/physics/compounds.md#chopped-transfer-compound).

The fast device takes the SGD update with its inputs (and outputs) multiplied by
choppers, signs that flip now and then; a transfer reads columns of the fast device,
multiplies them by the same signs, and accumulates them in a digital buffer ``H``; where
``|H|`` reaches the buffer threshold, the slow device gets that many pulses and ``H``
forgets what was written.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..parameters import PulseType, UpdateParameters
from .analog import AnalogTile
from .compound import _generator
from .transfer import TransferTile
from .unit_ops import one_hot, read_vectors, trunc, write_pulsed

__all__ = ["ChoppedTransferTile", "write_pulse_counts"]


def write_pulse_counts(tile: AnalogTile, columns: list[int], counts: torch.Tensor) -> int:
    """Give column ``columns[r]`` of ``tile`` exactly ``counts[:, r]`` pulses (signed:
    positive counts are UP pulses), through the deterministic pulsed update: each pulse
    is a step of the device's law with its own cycle-to-cycle noise."""
    bl = int(counts.abs().max().item()) if counts.numel() else 0
    if bl == 0:
        return 0
    root = math.sqrt(bl)
    # lr = granularity makes both scales 1/sqrt(BL): q_x = 1, q_d = |n| / BL, so the
    # deterministic count rint(BL q_d q_x) is n (docs/physics/pulsed-update.md#pulse-types).
    update = UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT,
        desired_bl=bl,
        fixed_bl=True,
        update_bl_management=False,
        update_management=False,
    )
    x = one_hot(columns, tile.x_size).to(tile.weights.device) * root
    d = -counts.t() / root
    return write_pulsed(tile, x, d, tile.granularity, update)


class ChoppedTransferTile(TransferTile):
    """See the module docstring.

    ``buffers``: ``buffer`` (``H``, ``[out, in + bias]``), ``in_chopper`` (``[1, in +
    bias]``), ``out_chopper`` (``[out, 1]``), ``reads`` (``[1, in + bias]``, how often each
    column was read). ``counters`` add ``reads`` (all column reads) and ``written``
    (pulses written onto the slow device).
    """

    def _initial_counters(self) -> dict[str, Any]:
        counters = super()._initial_counters()
        counters.update(reads=0, written=0)
        return counters

    def _initial_buffers(self) -> dict[str, torch.Tensor]:
        d, x = self.d_size, self.x_size
        return {
            "buffer": torch.zeros(d, x),
            "in_chopper": torch.ones(1, x),
            "out_chopper": torch.ones(d, 1),
            "reads": torch.zeros(1, x),
        }

    def _update_fast(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int:
        xc = (x * self.buffers["in_chopper"]).contiguous()
        dc = (d * self.buffers["out_chopper"].t()).contiguous()
        return super()._update_fast(xc, dc, lr)

    def transfer(self, source: int, target: int, lr: float) -> int:
        """One transfer: read ``n_reads_per_transfer`` columns of the fast device, undo
        the choppers, add them to the buffer at the transfer rate, write whole thresholds
        onto the slow device, then flip choppers. Returns the pulses written."""
        params = self.resistive_device.params
        n = self.n_vectors
        n_reads = min(int(params.n_reads_per_transfer), n)
        count = self.counters["transfers"][source]
        if params.random_selection:
            gen = _generator(self.units[source].seed, 2, count)
            start = int(torch.randint(0, n, (1,), generator=gen).item())
        else:
            start = (count * n_reads) % n
        self.counters["transfers"][source] = count + 1
        indices = [(start + i) % n for i in range(n_reads)]
        fast, slow = self.units[source], self.units[target]
        buffers = self.buffers
        in_chopper, out_chopper = buffers["in_chopper"], buffers["out_chopper"]
        read = read_vectors(fast, indices, True)  # [n_reads, out]
        signs = in_chopper[0, indices].unsqueeze(1) * out_chopper[:, 0].unsqueeze(0)
        h = buffers["buffer"][:, indices] + self.transfer_lr(source, lr) * (read * signs).t()
        threshold = float(params.buffer_granularity) * slow.granularity
        cap = float(params.transfer_update.desired_bl)
        counts = trunc((h / threshold).clamp(-cap, cap))
        written = counts != 0
        if params.forget_buffer:
            kept = h * float(params.momentum)
        else:
            kept = h - counts * threshold
        buffers["buffer"][:, indices] = torch.where(written, kept, h)
        pulses = write_pulse_counts(slow, indices, counts)
        self.counters["written"] += int(counts.abs().sum().item())
        if params.with_reset_prob > 0:
            for index in indices:
                fast.reset_columns(index, 1, float(params.with_reset_prob))
        self._flip_choppers(indices)
        return pulses

    def _flip_choppers(self, indices: list[int]) -> None:
        """After reading ``indices``: each of their input choppers flips with probability
        ``in_chop_prob`` (or every ``1/in_chop_prob`` reads without ``in_chop_random``);
        after every full sweep of the columns each output chopper flips with probability
        ``out_chop_prob``."""
        params = self.resistive_device.params
        buffers = self.buffers
        reads = buffers["reads"]
        cols = torch.tensor(indices, dtype=torch.long)
        reads[0, cols] += 1
        before = self.counters["reads"]
        self.counters["reads"] = before + len(indices)
        prob = float(params.in_chop_prob)
        if prob > 0:
            if params.in_chop_random:
                gen = _generator(self.seed, 3, before)
                flip = torch.rand(len(indices), generator=gen) < prob
            else:
                period = max(1, round(1.0 / prob))
                flip = torch.remainder(reads[0, cols], period) == 0
            chopper = buffers["in_chopper"]
            chopper[0, cols] = torch.where(
                flip.to(chopper.device), -chopper[0, cols], chopper[0, cols]
            )
        out_prob = float(params.out_chop_prob)
        n = self.n_vectors
        if out_prob > 0 and self.counters["reads"] // n > before // n:
            gen = _generator(self.seed, 4, before)
            chopper = buffers["out_chopper"]
            flip = (torch.rand(self.d_size, generator=gen) < out_prob).to(chopper.device)
            chopper[:, 0] = torch.where(flip, -chopper[:, 0], chopper[:, 0])

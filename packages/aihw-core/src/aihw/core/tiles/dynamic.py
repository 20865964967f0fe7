"""``DynamicTransferTile``: analog gradient accumulation with a dynamic reference (AGAD;
docs/physics/compounds.md#dynamic-transfer-compound).

As the chopped transfer tile, but what a read adds to the buffer is the change of the
fast device since the previous chopper period: each column keeps a running mean of its
reads; when the column's input chopper has flipped, that mean becomes the column's
reference, and every read adds ``(read - reference)`` with the current choppers undone.
An offset of the fast device (its symmetry point, a drift) cancels in the difference, so
the fast device needs no programmed reference and no reset.
"""

from __future__ import annotations

import math

import torch

from .chopped import ChoppedTransferTile
from .compound import _generator

__all__ = ["DynamicTransferTile", "chopper_samples"]


def chopper_samples(in_chop_prob: float) -> int:
    """Reads of a column per chopper period: ``max(ceil(1 / in_chop_prob), 2)``."""
    return max(math.ceil(1.0 / in_chop_prob), 2) if in_chop_prob > 0 else 2


class DynamicTransferTile(ChoppedTransferTile):
    """See the module docstring.

    ``buffers`` add ``running_mean`` and ``past_mean`` (``[out, in + bias]``: the running
    mean of each column's reads, and the reference of the current chopper period) and
    ``switched`` (``[1, in + bias]``: 1 where the column's chopper flipped after its last
    read).
    """

    def _initial_buffers(self) -> dict[str, torch.Tensor]:
        buffers = super()._initial_buffers()
        d, x = self.d_size, self.x_size
        buffers.update(
            running_mean=torch.zeros(d, x), past_mean=torch.zeros(d, x), switched=torch.zeros(1, x)
        )
        return buffers

    @property
    def n_samples(self) -> int:
        return chopper_samples(float(self.resistive_device.params.in_chop_prob))

    def _signed_reads(self, indices: list[int], read: torch.Tensor) -> torch.Tensor:
        buffers = self.buffers
        cols = torch.tensor(indices, dtype=torch.long)
        switched = buffers["switched"][0, cols] != 0
        # A flipped chopper starts a new period: its reference is the last period's mean.
        past = buffers["past_mean"]
        past[:, cols] = torch.where(switched, buffers["running_mean"][:, cols], past[:, cols])
        buffers["switched"][0, cols] = 0.0
        change = read.t() - past[:, cols]
        signs = buffers["in_chopper"][0, cols].unsqueeze(0) * buffers["out_chopper"]
        return change * signs

    def _cap_buffer(self, kept: torch.Tensor) -> torch.Tensor:
        params = self.resistive_device.params
        cap = float(params.buffer_cap) * float(params.transfer_update.desired_bl)
        if cap <= 0:
            return kept
        limit = cap * self.buffer_threshold()
        return kept.clamp(-limit, limit)

    def _after_reads(self, indices: list[int], read: torch.Tensor) -> None:
        params = self.resistive_device.params
        weight = min(float(params.tail_weightening) / self.n_samples, 1.0)
        mean = self.buffers["running_mean"]
        cols = torch.tensor(indices, dtype=torch.long)
        mean[:, cols] = mean[:, cols] * (1.0 - weight) + read.t() * weight

    def _writable(self, indices: list[int]) -> torch.Tensor:
        # No writes while a column has not yet been read over a few chopper periods.
        reads = self.buffers["reads"][0, indices]
        return (reads > self.n_samples).to(reads.dtype).unsqueeze(0)

    def _flip_choppers(self, indices: list[int]) -> None:
        """After reading ``indices``: a column's input chopper flips after every
        ``n_samples``-th read of it, and (``in_chop_random``) also with probability
        ``in_chop_prob``; the output choppers do not flip."""
        params = self.resistive_device.params
        buffers = self.buffers
        reads = buffers["reads"]
        cols = torch.tensor(indices, dtype=torch.long)
        reads[0, cols] += 1
        before = self.counters["reads"]
        self.counters["reads"] = before + len(indices)
        flip = torch.remainder(reads[0, cols], self.n_samples) == 0
        if params.in_chop_random:
            gen = _generator(self.seed, 3, before)
            drawn = torch.rand(len(indices), generator=gen) < float(params.in_chop_prob)
            flip = flip | drawn.to(flip.device)
        chopper = buffers["in_chopper"]
        chopper[0, cols] = torch.where(flip, -chopper[0, cols], chopper[0, cols])
        buffers["switched"][0, cols] = flip.to(reads.dtype)

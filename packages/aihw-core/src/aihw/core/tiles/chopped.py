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
        # m_x, m_d: running averages of the largest |x| and |d| (auto_scale); count_lr:
        # the fast device's learning rate of the last update (correct_gradient_magnitudes).
        counters.update(reads=0, written=0, m_x=0.0, m_d=0.0, count_lr=0.0)
        return counters

    def fast_lr(self, lr: float) -> float:
        """The fast device's learning rate for the tile's ``lr``; with ``auto_scale``,
        times ``desired_bl * granularity / (m_x m_d)``."""
        base = super().fast_lr(lr)
        params = self.resistive_device.params
        if not (params.auto_scale and params.fast_lr > 0):
            return base
        scale = float(self.update_parameters.desired_bl) * self.units[0].granularity
        m_x, m_d = float(self.counters["m_x"]), float(self.counters["m_d"])
        if m_x > 0 and m_d > 0:
            scale /= m_x * m_d
        return base * scale

    def transfer_lr(self, index: int, lr: float) -> float:
        """The transfer rate; with ``correct_gradient_magnitudes``, divided by the fast
        device's learning rate of the last update."""
        rate = super().transfer_lr(index, lr)
        count_lr = float(self.counters["count_lr"])
        if self.resistive_device.params.correct_gradient_magnitudes and count_lr != 0:
            rate /= abs(count_lr)
        return rate

    def buffer_threshold(self) -> float:
        """What one pulse on the slow device stands for in the buffer: ``buffer_granularity``
        (times ``thres_scale`` where the compound has it) times the slow device's granularity, times ``auto_granularity / (columns *
        transfer_every)`` when ``auto_granularity > 0``."""
        params = self.resistive_device.params
        scale = float(params.buffer_granularity) * float(getattr(params, "thres_scale", 1.0))
        threshold = scale * self.units[1].granularity
        if params.auto_granularity > 0:
            period = self.n_vectors * float(params.transfer_every)
            threshold *= float(params.auto_granularity) / period
        return threshold

    def _update_units(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        params = self.resistive_device.params
        if params.auto_scale:
            self._update_auto_scale(x, d)
        self.counters["count_lr"] = self.fast_lr(lr)
        return super()._update_units(x, d, lr)

    def _update_auto_scale(self, x: torch.Tensor, d: torch.Tensor) -> None:
        """Fold each vector's largest ``|x|`` and ``|d|`` into the running averages, in
        order, with the weight ``(1 - auto_momentum) / rows`` (the first nonzero value
        starts an average)."""
        rows = x.shape[0]
        tau = (1.0 - float(self.resistive_device.params.auto_momentum)) / rows
        counters = self.counters
        for key, values in (("m_x", x), ("m_d", d)):
            m = float(counters[key])
            for value in values.abs().amax(dim=1).tolist():
                if m <= 0:
                    m = value
                elif value > 0:
                    m = (1.0 - tau) * m + tau * value
            counters[key] = m

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
        read = read_vectors(fast, indices, True)  # [n_reads, out]
        h = self.transfer_lr(source, lr) * self._signed_reads(indices, read)
        if not params.no_buffer:
            h = buffers["buffer"][:, indices] + h
        threshold = self.buffer_threshold()
        cap = float(params.transfer_update.desired_bl)
        counts = trunc((h / threshold).clamp(-cap, cap))
        written = counts != 0
        if params.forget_buffer:
            kept = h * float(params.momentum)
        else:
            kept = self._cap_buffer(h - (1.0 - float(params.momentum)) * counts * threshold)
        buffers["buffer"][:, indices] = torch.where(written, kept, h)
        self._after_reads(indices, read)
        counts = counts * self._writable(indices)
        pulses = write_pulse_counts(slow, indices, counts)
        self.counters["written"] += int(counts.abs().sum().item())
        if params.with_reset_prob > 0:
            for index in indices:
                fast.reset_columns(index, 1, float(params.with_reset_prob))
        self._flip_choppers(indices)
        return pulses

    def _signed_reads(self, indices: list[int], read: torch.Tensor) -> torch.Tensor:
        """What a read adds to the buffer before the transfer rate, ``[out, len(indices)]``:
        the read with the choppers undone."""
        buffers = self.buffers
        signs = buffers["in_chopper"][0, indices].unsqueeze(1) * buffers["out_chopper"][:, 0]
        return (read * signs).t()

    def _cap_buffer(self, kept: torch.Tensor) -> torch.Tensor:
        """The buffer kept after a write without ``forget_buffer`` (no cap here)."""
        return kept

    def _after_reads(self, indices: list[int], read: torch.Tensor) -> None:
        """Bookkeeping of the reads once the buffer is updated (none here)."""

    def _writable(self, indices: list[int]) -> torch.Tensor:
        """``[1, len(indices)]``: 1 where the read column may be written (all here)."""
        return torch.ones(1, len(indices), device=self.buffers["buffer"].device)

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

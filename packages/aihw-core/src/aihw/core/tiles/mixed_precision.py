"""``MixedPrecisionTile``: a digital rank-update accumulator in front of one analog device
(mixed precision, Nandakumar et al. 2020; docs/physics/compounds.md#mixed-precision-compound).

Every update adds ``-lr d^T x`` (``x`` and ``d`` optionally quantised) to a digital
matrix ``chi``; on a schedule, the rows due write whole multiples of the granularity onto
the device as exact pulse counts, and ``chi`` keeps the rest.
"""

from __future__ import annotations

from typing import Any

import torch

from .chopped import write_pulse_counts
from .compound import CompoundTile, _generator
from .unit_ops import floor, trunc

__all__ = ["MixedPrecisionTile", "quantize"]


def quantize(
    values: torch.Tensor, n_bins: int, stochastic: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """Each row of ``values`` on ``n_bins`` levels of its own ``max |v|`` (0: unchanged),
    rounded to nearest (halves up) or stochastically."""
    if n_bins <= 0:
        return values
    scale = values.abs().amax(dim=1, keepdim=True) / n_bins
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    steps = values / safe
    if stochastic:
        noise = torch.rand(steps.shape, generator=generator).to(steps.device)
        steps = floor(steps + noise)
    else:
        steps = floor(steps + 0.5)  # to nearest, halves up
    return steps * safe


class MixedPrecisionTile(CompoundTile):
    """See the module docstring. ``buffers["chi"]`` is the accumulator; ``counters``:
    ``units`` (update calls), ``row`` (the next row to transfer), ``written`` (pulses)."""

    def _initial_counters(self) -> dict[str, Any]:
        return {"units": 0, "row": 0, "written": 0}

    def _initial_buffers(self) -> dict[str, torch.Tensor]:
        return {"chi": torch.zeros(self.d_size, self.x_size)}

    @property
    def threshold(self) -> float:
        """The weight change of one pulse as the accumulator counts it."""
        params = self.resistive_device.params
        granularity = float(params.granularity)
        return granularity if granularity > 0 else self.units[0].granularity

    def _program_units(self, target: torch.Tensor) -> None:
        self._set_unit(self.units[0], target)

    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self.units[0]._check_device_ops()

    def _update_units(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        params = self.resistive_device.params
        gen_x = _generator(self.seed, 5, self.update_index)
        gen_d = _generator(self.seed, 6, self.update_index)
        xq = quantize(x, int(params.n_x_bins), bool(params.stoc_round_x), gen_x)
        dq = quantize(d, int(params.n_d_bins), bool(params.stoc_round_d), gen_d)
        chi = self.buffers["chi"]
        chi.addmm_(dq.t(), xq, alpha=-lr)
        self.counters["units"] += 1
        if self.counters["units"] % int(params.transfer_every):
            return 0
        return self.transfer()

    def transfer(self) -> int:
        """Write the whole multiples of the threshold in the rows due onto the device;
        returns the pulses written."""
        params = self.resistive_device.params
        d_size = self.d_size
        n_rows = int(params.n_rows_per_transfer)
        n_rows = d_size if n_rows < 0 or n_rows > d_size else n_rows
        if params.random_row:
            gen = _generator(self.seed, 7, self.counters["units"])
            start = int(torch.randint(0, d_size, (1,), generator=gen).item())
        else:
            start = int(self.counters["row"])
        self.counters["row"] = (start + n_rows) % d_size
        rows = torch.tensor([(start + i) % d_size for i in range(n_rows)], dtype=torch.long)
        chi = self.buffers["chi"]
        threshold = self.threshold
        lr = float(params.transfer_lr)
        if n_rows == d_size:
            counts = trunc(chi * (lr / threshold))
        else:
            counts = torch.zeros_like(chi)
            counts[rows] = trunc(chi[rows] * (lr / threshold))
        chi.sub_(counts * (threshold / lr))
        columns = torch.nonzero(counts.any(dim=0)).flatten().tolist()
        if not columns:
            return 0
        self.counters["written"] += int(counts.abs().sum().item())
        return write_pulse_counts(self.units[0], columns, counts[:, columns])

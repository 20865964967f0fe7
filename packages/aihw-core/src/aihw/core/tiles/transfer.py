"""``TransferTile``: the tile of a transfer compound (Tiki-Taka).

Device 0 (fast) takes the SGD update; on a schedule, device ``k`` is read with one-hot
vectors through the transfer periphery and what was read is written onto device ``k+1``
by a pulsed rank-1 update (docs/physics/compounds.md#transfer-compound).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..io_parameters import IOParameters
from ..parameters import UpdateParameters
from .compound import CompoundTile, _generator
from .unit_ops import one_hot, read_io, read_vectors, write_pulsed

__all__ = ["TransferTile", "transfer_periods"]


def transfer_periods(params: Any, n_devices: int, n_vectors: int) -> list[float]:
    """How often each device transfers (in update calls or vectors; 0: never).

    ``transfer_every_vec`` when given, else ``transfer_every * (n_vectors / n_reads)^k``
    (device ``k+1`` transfers once per full sweep of device ``k``'s transfers); the last
    device does not transfer when ``no_self_transfer``.
    """
    n_reads = min(int(params.n_reads_per_transfer), n_vectors)
    if params.transfer_every_vec:
        periods = [float(p) for p in params.transfer_every_vec]
    else:
        periods = [float(params.transfer_every) * (n_vectors / n_reads) ** k
                   for k in range(n_devices)]  # fmt: skip
    if params.no_self_transfer:
        periods[-1] = 0.0
    return periods


def _next_point(count: int, period: float) -> int:
    """The smallest unit count ``> count`` at which a device with ``period`` transfers."""
    target = math.floor(count / period) + 1
    point = max(count + 1, math.ceil(target * period))
    while math.floor(point / period) < target:
        point += 1
    return point


class TransferTile(CompoundTile):
    """Tiki-Taka's tile: see the module docstring.

    ``counters``: ``units`` (update calls, or vectors when not ``units_in_mbatch``) and
    ``transfers`` (per device, the transfers it has done; they pick its next columns).
    """

    def _unit_update(self, index: int) -> UpdateParameters:
        if index == 0:
            return self.update_parameters
        update: UpdateParameters = self.resistive_device.params.transfer_update
        return update

    def _unit_io(self, index: int) -> IOParameters | None:
        return read_io(self.resistive_device.params.transfer_forward, managed=False)

    def _initial_counters(self) -> dict[str, Any]:
        return {"units": 0, "transfers": [0] * len(self.units)}

    @property
    def n_vectors(self) -> int:
        """How many vectors one device has: columns (``transfer_columns``) or rows."""
        return self.x_size if self.resistive_device.params.transfer_columns else self.d_size

    @property
    def periods(self) -> list[float]:
        return transfer_periods(self.resistive_device.params, len(self.units), self.n_vectors)

    def fast_lr(self, lr: float) -> float:
        """The learning rate of the fast device's SGD update for the tile's ``lr``."""
        params = self.resistive_device.params
        if params.fast_lr <= 0:
            return lr
        return float(params.fast_lr) * lr if params.scale_fast_lr else float(params.fast_lr)

    def transfer_lr(self, index: int, lr: float) -> float:
        """The learning rate of the transfer from device ``index`` at the tile's ``lr``."""
        params = self.resistive_device.params
        vec = params.transfer_lr_vec
        base = float(vec[index]) if vec else float(params.transfer_lr)
        return base * lr if params.scale_transfer_lr else base

    def _program_units(self, target: torch.Tensor) -> None:
        # The slowest device holds the weight; the others start at 0.
        last = len(self.units) - 1
        zero = torch.zeros_like(target)
        for index, unit in enumerate(self.units):
            if index == last:
                self._set_unit(unit, target / self.gammas[last])
            else:
                self._set_unit(unit, zero)

    def _check_update(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> None:
        self.units[0]._check_update(x, d, self.fast_lr(lr))

    def _update_units(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int | torch.Tensor:
        params = self.resistive_device.params
        fast_lr = self.fast_lr(lr)
        periods = self.periods
        pulses = 0
        if params.units_in_mbatch:
            pulses += self._update_fast(x, d, fast_lr)
            pulses += self._transfers(1, periods, lr)
            return pulses
        # Vectors are the unit: the batch is cut where a transfer falls due.
        rows, done = x.shape[0], 0
        while done < rows:
            count = self.counters["units"]
            nxt = min((_next_point(count, p) for p in periods if p > 0), default=count + rows)
            chunk = min(rows - done, nxt - count)
            pulses += self._update_fast(x[done : done + chunk], d[done : done + chunk], fast_lr)
            pulses += self._transfers(chunk, periods, lr)
            done += chunk
        return pulses

    def _update_fast(self, x: torch.Tensor, d: torch.Tensor, lr: float) -> int:
        """The SGD update of the fast device; returns its pulses."""
        fast = self.units[0]
        fast._update_rows(x, d, lr)
        return int(fast.last_update_pulses)

    def _transfers(self, units: int, periods: list[float], lr: float) -> int:
        """Count ``units`` more and run the transfers that fell due, device by device."""
        before = self.counters["units"]
        after = before + units
        self.counters["units"] = after
        pulses = 0
        last = len(self.units) - 1
        for index, period in enumerate(periods):
            if period <= 0:
                continue
            for _ in range(math.floor(after / period) - math.floor(before / period)):
                pulses += self.transfer(index, min(index + 1, last), lr)
        return pulses

    def transfer(self, source: int, target: int, lr: float) -> int:
        """One transfer: read ``n_reads_per_transfer`` vectors of device ``source`` and
        write them onto device ``target`` at the transfer learning rate for ``lr``; the
        source vectors are then reset with probability ``with_reset_prob``. Returns the
        pulses written."""
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
        columns = bool(params.transfer_columns)
        src, dst = self.units[source], self.units[target]
        read = read_vectors(src, indices, columns)
        t_lr = self.transfer_lr(source, lr)
        unit_vectors = one_hot(indices, self.x_size if columns else self.d_size).to(self.device)
        # W_dst += t_lr * r e_j^T (columns) or e_i r^T (rows): W -= lr d^T x, d = -r or -e_i.
        if columns:
            pulses = write_pulsed(dst, unit_vectors, -read, t_lr)
        else:
            pulses = write_pulsed(dst, read, -unit_vectors, t_lr)
        if params.with_reset_prob > 0:
            for index in indices:
                src.reset_columns(index, 1, float(params.with_reset_prob))
        return pulses

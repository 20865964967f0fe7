"""A test device with every per-device operation: decay, diffusion, reset, write noise.

A constant step with spread bounds; each operation's array is there only when its
parameter turns it on, as for the built-in devices.
"""

from __future__ import annotations

import dataclasses

import torch

from aihw.core.device_model import DeviceModel
from aihw.core.device_ops import DECAY_SCALE, DIFFUSION_RATE, RESET_BIAS


@dataclasses.dataclass
class OpsParameters:
    dw_min: float = 0.001
    dw_min_std: float = 0.3
    w_min: float = -0.6
    w_max: float = 0.6
    w_min_dtod: float = 0.3
    w_max_dtod: float = 0.3
    lifetime: float = 0.0
    diffusion: float = 0.0
    reset: float = 0.0
    reset_spread: float = 0.0
    reset_std: float = 0.01
    write_noise_std: float = 0.0
    apply_write_noise_on_set: bool = True


class OpsDevice(DeviceModel):
    """A constant step with spread bounds, plus the arrays of the device operations."""

    name = "TestOpsStep"
    law = "constant_step"
    parameters_class = OpsParameters

    def granularity(self):
        return self.params.dw_min

    def law_scalars(self):
        return {"dw_min_std": self.params.dw_min_std}

    def reset_std(self):
        return self.params.reset_std

    def write_noise_scale(self):
        return self.params.write_noise_std * self.params.dw_min

    def apply_write_noise_on_set(self):
        return self.params.apply_write_noise_on_set

    def sample(self, d_size, x_size, generator):
        p = self.params
        shape = (d_size, x_size)
        step = torch.full(shape, p.dw_min)
        w_max = (p.w_max * (1 + p.w_max_dtod * torch.randn(shape, generator=generator))).abs()
        w_min = -(p.w_min * (1 + p.w_min_dtod * torch.randn(shape, generator=generator))).abs()
        arrays = {"dw_up": step.clone(), "dw_down": step, "w_min": w_min, "w_max": w_max}
        if p.lifetime > 0:
            arrays[DECAY_SCALE] = torch.full(shape, 1.0 - 1.0 / p.lifetime)
        if p.diffusion > 0:
            arrays[DIFFUSION_RATE] = torch.full(shape, p.diffusion)
        if p.reset != 0 or p.reset_spread > 0:
            spread = p.reset_spread * torch.randn(shape, generator=generator)
            arrays[RESET_BIAS] = p.reset + spread
        return arrays

"""A short run through every entry point of the compiled engine, for a sanitized build.

The nox session ``sanitizers`` runs it with ``aihw.core._core`` built with
``-fsanitize=address,undefined`` and the sanitizer runtime preloaded; any finding aborts
the process. It exercises: tile forward and backward through the periphery (every noise-
and bound-management path, weight noise, the MAC non-idealities, the compiled first pass),
the pulsed update of every step law and pulse type, decay, diffusion, column reset and
write noise, inference through a tile grid (shared first pass, several column splits, the
fused bias), and training of layers through ``AnalogSGD``, also from several threads.

Run it directly to try it on any build: ``python tools/sanitizer_smoke.py``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import torch

import aihw.core._core as core
from aihw.core import AnalogTile, IOParameters, PulseType, TileConfig, UpdateParameters
from aihw.devices import (
    ConstantStepDevice,
    ExpStepDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowStepDevice,
    SoftBoundsDevice,
    SoftBoundsReferenceDevice,
)
from aihw.nn import AnalogLinear, MappingParameters
from aihw.optim import AnalogSGD

__all__ = ["main"]

DEVICE_OPS = {"lifetime": 50.0, "diffusion": 0.01, "reset": 0.1, "reset_std": 0.01}
DEVICES = [
    ConstantStepDevice(**DEVICE_OPS),
    LinearStepDevice(gamma_up=0.1, gamma_down=0.2, mult_noise=False),
    SoftBoundsDevice(**DEVICE_OPS, reset_dtod=0.05, write_noise_std=0.5),
    ExpStepDevice(),
    PowStepDevice(),
    PiecewiseStepDevice(piecewise_up=[1.0, 0.8, 0.4], piecewise_down=[0.5, 0.9, 1.2]),
    SoftBoundsReferenceDevice(),
]
PERIPHERIES = [
    IOParameters(),  # the compiled first pass
    IOParameters(out_bound=0.5, out_noise=0.1),  # bound-management re-runs
    IOParameters(bound_management="IterativeWorstCase", out_bound=0.3, inp_sto_round=True),
    IOParameters(noise_management="AbsMaxNPSum", w_noise=0.02, w_noise_type="PCMRead"),
    IOParameters(mv_type="PosNegSeparateDigitalSum", inp_noise=0.05, out_res=0.0),
    IOParameters(
        mv_type="PosNegSeparate",
        w_read_asymmetry_dtod=0.1,
        ir_drop=1.0,
        v_offset_std=0.05,
        out_nonlinearity=0.3,
        slope_calibration=0.5,
    ),
]


def _check_sanitized() -> None:
    """Refuse to report a clean run of a module that was not built with ASan."""
    if b"__asan_init" not in Path(core.__file__).read_bytes():
        sys.exit(f"{core.__file__} is not built with -fsanitize=address")


def _tiles() -> int:
    gen = torch.Generator().manual_seed(0)
    runs = 0
    for k, device in enumerate(DEVICES):
        for io in PERIPHERIES:
            for pulse_type in (
                PulseType.STOCHASTIC_COMPRESSED,
                PulseType.DETERMINISTIC_IMPLICIT,
                PulseType.MEAN_COUNT,
            ):
                update = UpdateParameters(pulse_type=pulse_type, res=0.05, sto_round=True)
                config = TileConfig(device=device, forward=io, backward=io, update=update)
                # 1030 inputs: more than one 1024-column chunk of the stages.
                tile = AnalogTile(9, 1030, bias=True, seed=k, rpu_config=config)
                tile.num_threads = 1 + runs % 3
                x = torch.randn(5, 1030, generator=gen)
                x[2] = 0.0  # a zero row (scale 0)
                d = torch.randn(5, 9, generator=gen)
                tile.forward(x)
                tile.backward(d)
                tile.update(x, d, 0.1)
                tile.update(x[:0], d[:0], 0.1)  # an empty batch
                tile.decay_weights(0.5)
                tile.diffuse_weights()
                tile.reset_columns(3, 5, 0.5)
                runs += 1
    return runs


def _train(layer: AnalogLinear, steps: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    opt = AnalogSGD(layer.parameters(), lr=0.05)
    for _ in range(steps):
        x = torch.randn(8, layer.in_features, generator=gen)
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()


def _layers() -> None:
    config = TileConfig(
        device=SoftBoundsDevice(**DEVICE_OPS, write_noise_std=0.5), forward=IOParameters()
    )
    mapping = MappingParameters(max_input_size=24, max_output_size=16)
    layers = [
        AnalogLinear(70, 40, bias=True, rpu_config=config, mapping=mapping, seed=s)
        for s in range(3)
    ]
    for layer in layers:
        _train(layer, 3, seed=1)
        with torch.no_grad():  # the grid's shared first pass, bias fused
            for batch in (1, 7, 0):
                layer(torch.randn(batch, 70))
            layer(torch.randn(7, 140)[:, ::2])  # a strided input
    threads = [threading.Thread(target=_train, args=(layer, 3, 2)) for layer in layers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    if "--any-build" not in sys.argv:
        _check_sanitized()
    runs = _tiles()
    _layers()
    print(f"sanitizer smoke run: {runs} tile configurations and 3 layers ran clean")


if __name__ == "__main__":
    main()

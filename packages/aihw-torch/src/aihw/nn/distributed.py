"""``prepare_for_ddp``: analog layers under :class:`torch.nn.parallel.DistributedDataParallel`.

Why a preparation step is needed: DDP would treat an analog weight like any parameter,
all-reduce a zero gradient for it at every step (an analog weight never gets a ``.grad``
of its own: its update is recorded on its tiles) and broadcast rank 0's weights into the
tiles at start-up without their device state; and each replica's tiles would apply only
their own samples. :func:`prepare_for_ddp` therefore

1. checks that every rank built the same analog layers with the same tile configurations
   (a fingerprint per layer; a clear error naming the first layer that differs) and the
   same tile states (seeds, counters and weights: build the model after the same
   ``torch.manual_seed`` on every rank, or load one checkpoint);
2. tells DDP to leave the analog weights alone (``_ddp_params_and_buffers_to_ignore``, the
   documented workaround of torch); digital parameters (biases, ``torch.nn`` layers) keep
   DDP's gradient all-reduce;
3. marks the analog weights (:func:`aihw.core.distributed.mark_distributed`), so that
   :class:`aihw.optim.AnalogSGD` and :class:`aihw.optim.AnalogOptimizer` gather the
   recorded inputs and errors of all ranks before each step and every replica applies the
   same pulsed update.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import torch
from torch.nn import Module

from aihw.core.distributed import all_gather_held, mark_distributed

from .modules.base import AnalogLayerBase

__all__ = ["config_fingerprint", "prepare_for_ddp", "state_fingerprint"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_MASK = (1 << 63) - 1


def _digest(*parts: Any) -> int:
    text = _ADDRESS.sub("", "\x1f".join(map(repr, parts)))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & _MASK


def config_fingerprint(layer: AnalogLayerBase) -> int:
    """A 63-bit hash of what decides how ``layer``'s tiles compute and update: its class,
    weight shape, tile grid, mapping, configuration and each tile's class, update and
    periphery parameters (not its weights or seeds)."""
    grid = layer.grid
    tiles = [
        (
            type(tile).__name__,
            tile.out_size,
            tile.in_size,
            tile.bias,
            getattr(tile, "update_parameters", None),
            getattr(tile.forward_periphery, "io", None),
            getattr(tile.backward_periphery, "io", None),
        )
        for tile in grid.tiles
    ]
    return _digest(
        type(layer).__name__,
        grid.weight_shape,
        grid.shape,
        grid.analog_bias,
        layer.mapping,
        layer.rpu_config,
        layer.resistive_device,
        tiles,
    )


def state_fingerprint(layer: AnalogLayerBase) -> int:
    """A 63-bit hash of the state of ``layer``'s tiles: seeds, update counters, weights."""
    digest = hashlib.sha256()
    for tile in layer.analog_tiles():
        digest.update(f"{tile.seed}/{tile.update_index}/".encode())
        digest.update(tile.weights.detach().cpu().contiguous().numpy().tobytes())
    return int.from_bytes(digest.digest()[:8], "little") & _MASK


def _gather(values: list[int], group: Any, device: torch.device) -> list[list[int]]:
    dist = torch.distributed
    tensor = torch.tensor(values, dtype=torch.int64, device=device)
    gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
    all_gather_held(gathered, tensor, group)  # see aihw.core.distributed._IN_FLIGHT
    return [[int(v) for v in t.tolist()] for t in gathered]


def _check_ranks(layers: list[tuple[str, AnalogLayerBase]], group: Any) -> None:
    """Raise (on every rank alike) unless all ranks hold the same analog layers, with the
    same configurations and tile states."""
    dist = torch.distributed
    backend = dist.get_backend(group)
    if backend == "gloo" or (not layers and backend != "nccl"):
        device = torch.device("cpu")
    elif layers:
        device = layers[0][1].grid.device
    else:
        device = torch.device("cuda", torch.cuda.current_device())
    counts = _gather([len(layers)], group, device)
    if len({c[0] for c in counts}) > 1:
        found = ", ".join(f"rank {r}: {c[0]}" for r, c in enumerate(counts))
        raise RuntimeError(
            "prepare_for_ddp: the ranks hold different numbers of analog layers "
            f"({found}); every rank must build the same model"
        )
    if not layers:
        return
    rank = dist.get_rank(group)
    for kind, fingerprint, advice in (
        (
            "tile configuration",
            config_fingerprint,
            "build every rank's model with the same layers, rpu_config, resistive_device, "
            "mapping and update parameters",
        ),
        (
            "tile state (seeds, update counters or weights)",
            state_fingerprint,
            "build the model after the same torch.manual_seed on every rank (or pass the "
            "same seed= to each layer), or load the same checkpoint on every rank, before "
            "prepare_for_ddp",
        ),
    ):
        prints = _gather([fingerprint(layer) for _, layer in layers], group, device)
        for r, theirs in enumerate(prints):
            for index, (ours, other) in enumerate(zip(prints[0], theirs, strict=True)):
                if ours != other:
                    name, layer = layers[index]
                    raise RuntimeError(
                        f"prepare_for_ddp: rank {r} has a different {kind} than rank 0 for "
                        f"analog layer '{name or '<root>'}' ({type(layer).__name__}); "
                        f"{advice} (this is rank {rank})"
                    )


def prepare_for_ddp(model: Module, group: Any = None) -> Module:
    """Make ``model`` ready to be wrapped in ``DistributedDataParallel``; returns it.

    Call it on every rank after ``torch.distributed.init_process_group`` and before
    ``DistributedDataParallel(model)``. It checks that the ranks' analog layers agree
    (configuration and state; a ``RuntimeError`` names the first layer that differs),
    makes DDP ignore the analog weights and marks them so that the analog optimizers gather
    every rank's recorded inputs and errors before each step (the errors averaged over the
    ranks, like DDP's gradients): every replica applies the same update and the replicas
    stay bit-identical. Calling it again is harmless.

    Args:
        model: the module that will be wrapped (the analog layers anywhere inside).
        group: the ``torch.distributed`` process group DDP will use (``None``: default).
    """
    if not isinstance(model, Module):
        raise TypeError(
            f"prepare_for_ddp: model must be a torch.nn.Module; got {type(model).__name__}"
        )
    dist = torch.distributed
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "prepare_for_ddp: torch.distributed is not initialised; call "
            "torch.distributed.init_process_group first (torchrun sets up its environment)"
        )
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, AnalogLayerBase)]
    _check_ranks(layers, group)
    ignore = list(getattr(model, "_ddp_params_and_buffers_to_ignore", []))
    for prefix, layer in layers:
        for name in layer._weight_param_names():
            full = f"{prefix}.{name}" if prefix else name
            if full not in ignore:
                ignore.append(full)
            mark_distributed(layer._parameters[name], group)  # type: ignore[arg-type]
    ddp = torch.nn.parallel.DistributedDataParallel
    ddp._set_params_and_buffers_to_ignore_for_model(model, ignore)  # type: ignore[no-untyped-call]
    return model

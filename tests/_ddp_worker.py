"""What the ranks of the DDP tests and benchmark run (spawned by torch.multiprocessing).

Each rank trains the digits MLP (pulsed constant-step tiles) under
``DistributedDataParallel`` on its share of every global batch, rank ``r`` taking rows
``r * n : (r + 1) * n``; :func:`train_single` trains the same model on one process over
the whole global batches.
"""

from __future__ import annotations

import socket
import traceback
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aihw.core.io_parameters import IOParameters
from aihw.devices import ConstantStepResistiveDevice, TransferCompound, UnitCellRPUConfig
from aihw.nn import (
    AnalogLinear,
    AnalogLSTM,
    AnalogSequential,
    MappingParameters,
    prepare_for_ddp,
)
from aihw.optim import AnalogOptimizer, AnalogSGD

HIDDEN = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def digits(count: int) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data[:count], dtype=torch.float32) / 16.0
    y = torch.tensor(data.target[:count], dtype=torch.long)
    return x, y


def build_model(
    dw_min: float = 0.001,
    seed: int = 0,
    tile_rows: int = 512,
    analog_bias: bool = False,
    compound: bool = False,
) -> nn.Module:
    """The digits MLP; ``tile_rows`` < 32 splits the hidden layer onto several tiles;
    ``analog_bias``: the biases are analog columns (no digital parameter at all);
    ``compound``: Tiki-Taka tiles (two constant-step devices each) instead."""
    torch.manual_seed(seed)
    mapping = MappingParameters(max_output_size=tile_rows, digital_bias=not analog_bias)
    last = MappingParameters(digital_bias=not analog_bias)

    def device() -> dict[str, Any]:
        if compound:  # an exact periphery, as the single devices' (forward noise is
            # addressed by the row within the call, which differs between a rank's share
            # and the whole batch)
            exact = IOParameters(is_perfect=True)
            config = UnitCellRPUConfig(device=TransferCompound(), forward=exact, backward=exact)
            return {"rpu_config": config}
        return {"resistive_device": ConstantStepResistiveDevice(dw_min=dw_min)}

    return AnalogSequential(
        AnalogLinear(64, HIDDEN, mapping=mapping, **device()),
        nn.Sigmoid(),
        AnalogLinear(HIDDEN, 10, mapping=last, **device()),
    )


def optimizer_for(
    model: nn.Module, lr: float, digital_lr: float, kind: str = "sgd"
) -> torch.optim.Optimizer:
    """AnalogSGD, or (``kind="adam"``) AnalogOptimizer with Adam for the digital ones."""
    analog = [p for n, p in model.named_parameters() if "weight" in n]
    digital = [p for n, p in model.named_parameters() if "weight" not in n]
    groups = [{"params": analog, "lr": lr}, {"params": digital, "lr": digital_lr}]
    groups = [g for g in groups if g["params"]]
    if kind == "adam":
        return AnalogOptimizer(torch.optim.Adam, groups)
    return AnalogSGD(groups)


def state(model: nn.Module) -> dict[str, Any]:
    """Everything that must agree between replicas: weights, biases, tile counters."""
    result: dict[str, Any] = {
        name: p.detach().clone() for name, p in model.named_parameters() if "weight" not in name
    }
    for index, tile in enumerate(model.analog_tiles()):  # type: ignore[operator]
        result[f"tile{index}.weights"] = tile.weights.detach().clone()
        result[f"tile{index}.update_index"] = tile.update_index
    return result


def train_single(
    steps: int,
    batch: int,
    digital_lr: float,
    tile_rows: int = 512,
    optimizer: str = "sgd",
    analog_bias: bool = False,
    compound: bool = False,
) -> dict[str, Any]:
    model = build_model(tile_rows=tile_rows, analog_bias=analog_bias, compound=compound)
    optimizer_ = optimizer_for(model, 0.1, digital_lr, optimizer)
    x, y = digits(steps * batch)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        rows = slice(step * batch, (step + 1) * batch)
        optimizer_.zero_grad()
        loss_fn(model(x[rows]), y[rows]).backward()
        optimizer_.step()
    return state(model)


def _train_ddp(
    rank: int,
    world: int,
    steps: int,
    batch: int,
    digital_lr: float,
    tile_rows: int,
    optimizer: str = "sgd",
    uneven: bool = False,
    analog_bias: bool = False,
    compound: bool = False,
) -> dict[str, Any]:
    """``uneven``: rank 1 gets 5 rows fewer in the last step (a short last batch);
    ``analog_bias``: a model without digital parameters, which DDP refuses to wrap and
    which needs no wrapper: prepare_for_ddp alone; ``compound``: Tiki-Taka tiles."""
    model = build_model(tile_rows=tile_rows, analog_bias=analog_bias, compound=compound)
    prepare_for_ddp(model)
    ddp = model if analog_bias else nn.parallel.DistributedDataParallel(model)
    optimizer_ = optimizer_for(model, 0.1, digital_lr, optimizer)
    x, y = digits(steps * batch)
    share = batch // world
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        start = step * batch + rank * share
        short = 5 if uneven and rank == 1 and step == steps - 1 else 0
        rows = slice(start, start + share - short)
        optimizer_.zero_grad()
        loss_fn(ddp(x[rows]), y[rows]).backward()
        optimizer_.step()
    return state(model)


class _LSTMRegressor(nn.Module):
    """An LSTM (pulsed tiles) with a digital head."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = AnalogLSTM(4, 8, resistive_device=ConstantStepResistiveDevice())
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[-1])  # type: ignore[no-any-return]


def _train_lstm(rank: int) -> dict[str, Any]:
    """Every tile of the LSTM records once per time step."""
    torch.manual_seed(0)
    model = _LSTMRegressor()
    ddp = nn.parallel.DistributedDataParallel(prepare_for_ddp(model))
    optimizer = AnalogSGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(100 + rank)  # each rank its own samples
    for _ in range(3):
        x, y = torch.randn(6, 3, 4, generator=gen), torch.randn(3, 1, generator=gen)
        optimizer.zero_grad()
        (ddp(x) - y).pow(2).mean().backward()
        optimizer.step()
    result: dict[str, Any] = {n: p.detach().clone() for n, p in model.named_parameters()}
    tiles = [t for m in model.modules() if hasattr(m, "grid") for t in m.grid.tiles]
    result["update_index"] = [t.update_index for t in tiles]
    return result


def _unprepared(rank: int) -> list[str]:
    """The warnings of a step of a model wrapped without prepare_for_ddp."""
    model = build_model()
    ddp = nn.parallel.DistributedDataParallel(model)
    optimizer = AnalogSGD(model.parameters(), lr=0.1)
    x, y = digits(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.CrossEntropyLoss()(ddp(x[rank::2]), y[rank::2]).backward()
        optimizer.step()
    return [str(w.message) for w in caught]


def _errors(rank: int) -> dict[str, str]:
    """The messages of prepare_for_ddp on ranks whose models differ."""
    messages = {}
    for name, kwargs in (
        ("config", {"dw_min": 0.001 if rank == 0 else 0.002}),
        ("state", {"seed": rank}),
    ):
        try:
            prepare_for_ddp(build_model(**kwargs))
        except RuntimeError as error:
            messages[name] = str(error)
    return messages


def worker(rank: int, world: int, port: int, out: str, cases: list[dict[str, Any]]) -> None:
    """One rank: the error cases, then each training case; results saved to ``out``."""
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        result: dict[str, Any] = {
            "errors": _errors(rank),
            "runs": [],
            "lstm": _train_lstm(rank),
            "unprepared": _unprepared(rank),
        }
        for case in cases:
            result["runs"].append(_train_ddp(rank, world, **case))
        torch.save(result, Path(out) / f"rank{rank}.pt")
    except Exception:
        (Path(out) / f"rank{rank}.err").write_text(traceback.format_exc())
        raise
    finally:
        torch.distributed.destroy_process_group()

"""Train the analog digits MLP on several processes with DistributedDataParallel.

Launch it with torchrun (gloo on CPU); each process trains on its share of every batch,
and every step applies the same pulsed update on all of them:

    torchrun --standalone --nproc_per_node=2 examples/train_digits_ddp.py [--epochs 20]

At the end, rank 0 prints the test accuracy and whether the replicas' tiles are
bit-identical (they must be).
"""

from __future__ import annotations

import argparse
import gc

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from aihw.devices import ConstantStepResistiveDevice
from aihw.nn import AnalogLinear, AnalogSequential, prepare_for_ddp
from aihw.optim import AnalogSGD


def replicas_identical(model: nn.Module) -> bool:
    """Whether every rank holds the same tile weights as rank 0."""
    weights = torch.cat([t.weights.reshape(-1) for t in model.analog_tiles()])  # type: ignore[operator]
    gathered = [torch.empty_like(weights) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(gathered, weights)
    return all(torch.equal(gathered[0], w) for w in gathered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16, help="global batch")
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    torch.distributed.init_process_group("gloo")  # torchrun sets rank, world size, address
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    torch.set_num_threads(1)

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=0, stratify=y
    )
    train = TensorDataset(x_train, y_train)
    sampler = DistributedSampler(train, num_replicas=world, rank=rank, seed=0)
    loader = DataLoader(train, batch_size=args.batch_size // world, sampler=sampler)

    torch.manual_seed(0)  # the same model (tile seeds, weights) on every rank
    model = AnalogSequential(
        AnalogLinear(64, 32, resistive_device=ConstantStepResistiveDevice()),
        nn.Sigmoid(),
        AnalogLinear(32, 10, resistive_device=ConstantStepResistiveDevice()),
    )
    prepare_for_ddp(model)
    ddp = DistributedDataParallel(model)
    optimizer = AnalogSGD(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(ddp(xb), yb).backward()
            optimizer.step()  # gathers every rank's recorded rows, then updates the tiles

    identical = replicas_identical(model)
    if rank == 0:
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
        print(f"{world} processes, {args.epochs} epochs: test accuracy {accuracy:.1%}")
        print(f"replicas bit-identical: {identical}")
    # DDP and its reducer keep the process group alive in a reference cycle; freed first,
    # destroy_process_group() joins gloo's worker threads here. Left to the interpreter's
    # shutdown, a worker may free its last collective then and abort the process
    # ("terminate called without an active exception"; about half the runs on a 2-core
    # machine with 3 busy processes, none of 20 with this).
    del ddp, optimizer
    gc.collect()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()

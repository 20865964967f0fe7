"""The reused buffers of large temporaries (aihw.core.scratch): reused only when nobody
holds what was handed out, never a view in autograd's sense, and no change of results."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch

from aihw.core import scratch as scratch_module
from aihw.core.io_parameters import IOParameters
from aihw.core.periphery import Periphery
from aihw.core.scratch import MIN_SCRATCH_ELEMENTS, Scratch

pytestmark = pytest.mark.skipif(
    getattr(torch._C, "_storage_Use_Count", None) is None, reason="torch cannot count users"
)

SHAPE = (MIN_SCRATCH_ELEMENTS // 64, 64)


def test_a_free_buffer_is_reused() -> None:
    scratch = Scratch()
    first = scratch.take(SHAPE)
    ptr = first.data_ptr()
    del first
    second = scratch.take(SHAPE)
    assert second.data_ptr() == ptr and second.shape == SHAPE and second.is_contiguous()
    assert second._base is None  # an alias, not a view that autograd tracks


@pytest.mark.parametrize(
    "hold",
    [
        lambda t: t,  # the tensor itself
        lambda t: t[1:],  # a view
        lambda t: t.detach(),  # another tensor on the storage
        lambda t: [t.view(-1)],  # inside a container
    ],
)
def test_a_held_buffer_is_not_reused(hold) -> None:
    scratch = Scratch()
    held = hold(scratch.take(SHAPE))
    flat = held[0] if isinstance(held, list) else held
    flat.fill_(7.0)
    other = scratch.take(SHAPE)
    other.fill_(-1.0)
    assert other.data_ptr() != flat.data_ptr()
    assert bool((flat == 7.0).all())  # what the holder has stays as it was


def test_a_buffer_saved_by_autograd_is_not_reused() -> None:
    scratch = Scratch()
    w = torch.randn(64, 3, requires_grad=True)
    x = scratch.take(SHAPE).normal_()
    y = (x @ w).sum()  # saves x for the backward
    ptr = x.data_ptr()
    del x
    assert scratch.take(SHAPE).data_ptr() != ptr
    y.backward()


def test_small_or_resized_requests_get_new_tensors() -> None:
    scratch = Scratch()
    small = scratch.take((3, 4))
    assert small.shape == (3, 4)
    big = scratch.take(SHAPE)
    ptr = big.data_ptr()
    del big
    other = scratch.take((SHAPE[0] * 2, SHAPE[1]))
    assert other.data_ptr() != ptr and other.shape == (SHAPE[0] * 2, SHAPE[1])


def test_copies_and_pickles_start_empty() -> None:
    scratch = Scratch()
    kept = scratch.take(SHAPE)
    for clone in (copy.deepcopy(scratch), pickle.loads(pickle.dumps(scratch))):
        assert clone._base is None
        assert clone.take(SHAPE).data_ptr() != kept.data_ptr()


@pytest.mark.parametrize("io", [IOParameters(), IOParameters(is_perfect=True)])
def test_periphery_output_reuse_keeps_the_numbers(io, monkeypatch) -> None:
    """The same passes with and without the reused output buffer give the same bits, and
    an output the caller still holds is never written again."""
    gen = torch.Generator().manual_seed(3)
    xs = [torch.randn(1024, 40, generator=gen) for _ in range(3)]
    matrix = torch.randn(40, 48, generator=gen) * 0.1

    def passes(reuse: bool) -> list[torch.Tensor]:
        monkeypatch.setattr(scratch_module, "MIN_SCRATCH_ELEMENTS", 1 if reuse else 1 << 62)
        p = Periphery(io, "forward", 48, seed=11)
        held = p.run(xs[0], matrix, "native", 1)
        kept = held.clone()
        out = [held]
        for x in xs[1:]:
            out.append(p.run(x, matrix, "native", 1).clone())  # frees the buffer again
        assert torch.equal(held, kept)
        return out

    for a, b in zip(passes(True), passes(False), strict=True):
        assert torch.equal(a, b)

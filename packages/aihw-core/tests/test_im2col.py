"""The engine's convolution patches (im2col) and their adjoint (col2im) against their
plain-torch twins (torch's unfold and fold)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from aihw.core import engine
from aihw.core.reference import patches as reference

pytestmark = pytest.mark.skipif(not engine.native_available(), reason="needs the compiled core")

GEOMETRIES = [
    # (n, c, h, w), kernel, stride, dilation
    ((2, 1, 28, 28), (5, 5), (1, 1), (1, 1)),
    ((3, 16, 12, 12), (5, 5), (1, 1), (1, 1)),
    ((2, 3, 11, 9), (3, 2), (2, 1), (1, 1)),
    ((1, 4, 13, 17), (3, 3), (2, 3), (2, 1)),
    ((2, 2, 7, 7), (1, 1), (1, 1), (1, 1)),
    ((1, 1, 5, 6), (5, 6), (1, 1), (1, 1)),  # one patch
    ((2, 3, 12, 14), (2, 3), (1, 2), (1, 2)),  # a common kernel width, dilated
    ((1, 2, 9, 30), (2, 7), (1, 3), (1, 1)),  # the widest one with its own copy loop
]


@pytest.mark.parametrize("shape, kernel, stride, dilation", GEOMETRIES)
@pytest.mark.parametrize("threads", [1, 2])
def test_patches_equal_unfold_rows(shape, kernel, stride, dilation, threads) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    got = engine.im2col_2d(x, kernel, stride, dilation, threads)
    cols = F.unfold(x, kernel, dilation=dilation, stride=stride)  # [n, c k, L]
    assert torch.equal(got, cols.transpose(1, 2).reshape(-1, cols.shape[1]))
    assert torch.equal(got, reference.im2col_2d(x, kernel, stride, dilation))


@pytest.mark.parametrize("shape, kernel, stride, dilation", GEOMETRIES)
@pytest.mark.parametrize("threads", [1, 2])
def test_col2im_is_the_adjoint(shape, kernel, stride, dilation, threads) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2))
    rows = engine.im2col_2d(x, kernel, stride, dilation)
    grad = torch.randn(rows.shape, generator=torch.Generator().manual_seed(3))
    got = engine.col2im_2d(grad, shape, kernel, stride, dilation, threads)
    n, length, cols = shape[0], rows.shape[0] // shape[0], rows.shape[1]
    want = F.fold(
        grad.reshape(n, length, cols).transpose(1, 2),
        shape[2:],
        kernel,
        dilation=dilation,
        stride=stride,
    )
    # overlapping patches are summed in another order than fold's: float32 rounding apart
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(got, reference.col2im_2d(grad, shape, kernel, stride, dilation))
    # the same bits whatever the thread count
    assert torch.equal(got, engine.col2im_2d(grad, shape, kernel, stride, dilation, 1))


def test_bad_geometry_is_refused() -> None:
    x = torch.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        engine.im2col_2d(x, (5, 5), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="stride must be positive"):
        engine.im2col_2d(x, (2, 2), (0, 1), (1, 1))
    with pytest.raises(ValueError, match=r"x must be \[n, c, h, w\]"):
        engine.im2col_2d(x[0], (2, 2), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="contiguous torch.float32 CPU tensor"):
        engine.im2col_2d(x.double(), (2, 2), (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"patches must be \[9, 4\]"):
        engine.col2im_2d(torch.zeros(8, 4), (1, 1, 4, 4), (2, 2), (1, 1), (1, 1))


def test_the_compiled_functions_check_the_geometry_themselves() -> None:
    """Called past engine.py's checks, the bindings refuse a geometry that does not add up
    before touching a buffer (the addresses here are never read)."""
    core = engine.load()
    with pytest.raises(ValueError, match=r"oh, ow = 3, 4 do not match the geometry; allowed: 3, 3"):
        core.im2col_2d(1, 1, 1, 1, 4, 4, 2, 2, 1, 1, 1, 1, 3, 4, 1)
    with pytest.raises(ValueError, match=r"kh=0 is invalid; allowed: >= 1"):
        core.col2im_2d(1, 1, 1, 1, 4, 4, 0, 2, 1, 1, 1, 1, 3, 3, 1)


@pytest.mark.parametrize("shape, kernel, stride, dilation", GEOMETRIES[:3])
def test_patches_into_a_given_buffer(shape, kernel, stride, dilation) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(4))
    expected = engine.im2col_2d(x, kernel, stride, dilation)
    for im2col in (engine.im2col_2d, reference.im2col_2d):
        out = torch.full(expected.shape, float("nan"))
        got = im2col(x, kernel, stride, dilation, 1, out)
        assert got.data_ptr() == out.data_ptr()
        assert torch.equal(out, expected)


def test_patches_refuse_a_buffer_of_another_shape() -> None:
    x = torch.randn(2, 3, 8, 8)
    for im2col in (engine.im2col_2d, reference.im2col_2d):
        out = torch.zeros(72, 28)
        with pytest.raises(ValueError, match=r"out must be \[72, 27\] .* got \[72, 28\]"):
            im2col(x, (3, 3), (1, 1), (1, 1), 1, out)
        assert torch.equal(out, torch.zeros(72, 28))  # a rejected call writes nothing
    with pytest.raises(ValueError, match=r"not contiguous"):
        engine.im2col_2d(x, (3, 3), (1, 1), (1, 1), 1, torch.zeros(27, 72).t())

"""``TileGrid``: a logical weight ``[out, in]`` mapped onto a grid of tiles.

The weight is split into ``groups`` blocks (one per convolution group, block-diagonal
layout) times ``row splits`` (outputs) times ``column splits`` (inputs), each tile at most
``max_output_size x max_input_size`` (:class:`~aihw.core.mapping.MappingParameters`).
Tiles are numbered group by group, row split by row split, column split by column split.
The partial outputs of the column splits are summed digitally.

The tiles of one column split are row slices of one contiguous tensor (the split's
*storage*); :meth:`TileGrid.weight_views` gives views of it that a layer turns into its
weight ``Parameter`` objects and hands back with :meth:`TileGrid.bind_weights`, so that
autograd knows which of them are trained.

Inference (no autograd) runs prepared passes (:mod:`aihw.core.grid_inference`) where
they apply; they are kept while nothing they depend on changes: the tiles' ``version``,
their forward IO parameters' ``version`` and their weights' storage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ._memory import LARGE_GRID_ELEMENTS, release_free_memory
from .autograd import analog_matmul
from .first_pass import GridPass
from .grid_inference import DATA_PTR, TILE_KEY, WEIGHTS, Columns, PreparedInference
from .mapping import MappingParameters, split_sizes
from .scratch import Scratch
from .tiles import create_tile
from .tiles.base import draw_seed

__all__ = ["SEED_STEP", "TileGrid", "all_finite", "check_finite_input"]

#: Whether dynamo is tracing (``torch.compiler.is_compiling``; torch 2.3 and later).
_is_compiling = getattr(torch.compiler, "is_compiling", lambda: False)

#: With ``seed=s``, tile ``k`` of a grid gets ``s + k * SEED_STEP mod 2**64``.
SEED_STEP = 0x9E3779B97F4A7C15


def all_finite(x: Tensor) -> bool:
    """Whether ``x`` holds no NaN and no infinity.

    A NaN or an infinity makes the sum non-finite; a finite sum answers with one cheap
    reduction (about 2% of an inference pass of a 1024 x 1024 tile at batch 64). Only a
    sum that is not finite (possibly an overflow of finite values) needs the exact answer
    (a NaN propagates to both the minimum and the maximum).
    """
    if math.isfinite(x.sum().item()):
        return True
    low, high = torch.aminmax(x)
    return math.isfinite(low.item()) and math.isfinite(high.item())


def check_finite_input(name: str, x: Tensor) -> None:
    """Raise ``ValueError`` naming ``name`` (a layer) if ``x`` holds a NaN or an infinity."""
    if x.numel():
        if not all_finite(x):
            raise ValueError(
                f"{name}: the input contains NaN or Inf; an analog tile needs finite inputs"
            )


class TileGrid:
    """The tiles holding one logical weight, and the products through them.

    Args:
        weight_shape: ``[out, ...]``; ``in`` is the product of the other sizes (per group).
        groups: independent blocks (convolution groups); ``out`` must be divisible by it.
        bias: whether the weight has a bias; it is an analog column of the last column
            split's tiles unless ``mapping.digital_bias`` (then the grid has no bias).
        mapping: the tile sizes and weight scaling (default: ``rpu_config.mapping``, else
            the defaults; when given, it is used).
        resistive_device, update, rpu_config: as for :func:`aihw.core.tiles.create_tile`.
        seed: the seed of tile 0, the others derived from it (:data:`SEED_STEP`);
            ``None`` draws one per tile from torch's global generator.
        name: who owns the grid, for error messages (a layer's class name).

    Attributes:
        tiles: the tiles, in grid order.
        weights: per column split, the tensor that autograd sees for its tiles (see
            :meth:`bind_weights`).
        scales: per tile, the ``[out]`` mapping scales (float32, on the tiles' device) when
            ``mapping.weight_scaling_omega > 0``, else ``None``.
    """

    def __init__(
        self,
        weight_shape: Sequence[int],
        *,
        groups: int = 1,
        bias: bool = False,
        mapping: MappingParameters | None = None,
        resistive_device: Any = None,
        update: Any = None,
        rpu_config: Any = None,
        seed: int | None = None,
        name: str = "TileGrid",
    ) -> None:
        if mapping is None:
            mapping = MappingParameters() if rpu_config is None else rpu_config.mapping
        self.name = name
        self.mapping = mapping
        self.weight_shape = tuple(int(s) for s in weight_shape)
        out_size = self.weight_shape[0]
        in_size = 1
        for size in self.weight_shape[1:]:
            in_size *= size
        if out_size % groups:
            raise ValueError(f"out size {out_size} is not divisible by groups={groups}")
        _check_lr_compensation(mapping, resistive_device, update, rpu_config)
        self.groups = groups
        self.analog_bias = bool(bias) and not mapping.digital_bias
        self.row_splits = split_sizes(out_size // groups, mapping.max_output_size)
        self.col_splits = split_sizes(in_size, mapping.max_input_size)
        tiles: list[Any] = []
        n_c = len(self.col_splits)
        # A large grid returns each tile's freed sampling temporaries to the system at
        # once (aihw.core._memory): otherwise they stay resident between the kept arrays.
        large = out_size * in_size >= LARGE_GRID_ELEMENTS
        for index in range(groups * len(self.row_splits) * n_c):
            _, r, c = self.position(index)
            tile_seed = seed
            if seed is not None and index:
                tile_seed = (seed + index * SEED_STEP) % 2**64
            elif seed is None:
                tile_seed = draw_seed()
            tiles.append(
                create_tile(
                    None if rpu_config is not None else resistive_device,
                    self.row_splits[r][1],
                    self.col_splits[c][1],
                    bias=self.analog_bias and c == n_c - 1,
                    seed=tile_seed,
                    update=update,
                    rpu_config=rpu_config,
                )
            )
            setup = getattr(tiles[-1], "setup_ir_drop_t", None)
            if setup is not None:
                # the time-dependent IR drop pads a tile to the mapping's tile size
                setup(max(mapping.max_input_size, tiles[-1].x_size))
            if large:
                release_free_memory()
        self.tiles = tiles
        self.scales: list[Tensor] | None = None
        if mapping.weight_scaling_omega > 0:
            self.scales = [
                torch.ones(t.out_size, dtype=torch.float32, device=t.device) for t in tiles
            ]
        self._storage: list[Tensor] = []
        self.prepared = PreparedInference()
        #: A buffer for the layer's own temporary input (a convolution's patches).
        self.input_scratch = Scratch()
        self.relink()  # frees the tiles' own weight tensors
        if large:
            release_free_memory()
        self.weights: list[Tensor] = self.weight_views()

    # -- layout -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(groups, row splits, column splits)``."""
        return self.groups, len(self.row_splits), len(self.col_splits)

    @property
    def out_size(self) -> int:
        """Outputs of the whole grid (all groups)."""
        return self.weight_shape[0]

    @property
    def in_size(self) -> int:
        """Inputs of one group (the columns of the logical weight, without a bias)."""
        return self.col_splits[-1][0] + self.col_splits[-1][1]

    @property
    def device(self) -> torch.device:
        """The torch device of the tiles."""
        device: torch.device = self.tiles[0].weights.device
        return device

    def position(self, index: int) -> tuple[int, int, int]:
        """``(group, row split, column split)`` of tile ``index``."""
        n_c = len(self.col_splits)
        n_r = len(self.row_splits)
        return index // (n_r * n_c), (index // n_c) % n_r, index % n_c

    def rows(self, index: int) -> tuple[int, int]:
        """The logical output rows ``(start, length)`` of tile ``index``."""
        g, r, _ = self.position(index)
        start, length = self.row_splits[r]
        return g * (self.out_size // self.groups) + start, length

    def column_tiles(self, c: int) -> list[Any]:
        """The tiles of column split ``c`` (every group, row split by row split)."""
        return self.tiles[c :: len(self.col_splits)]

    # -- shared storage -----------------------------------------------------------------
    def relink(self) -> None:
        """Make the tiles of each column split row slices of one contiguous tensor.

        Cheap when already linked; after pickling, deep copies or device moves (which give
        each tile a tensor of its own) it copies the tiles' weights into new tensors.
        """
        n_c = len(self.col_splits)
        device = self.device
        storage: list[Tensor] = []
        for c in range(n_c):
            indices = range(c, len(self.tiles), n_c)
            x_size = self.tiles[c].x_size
            master = self._storage[c] if c < len(self._storage) else None
            if master is None or not (
                master.device == device
                and all(
                    self.tiles[i].weights.data_ptr() == master[self.rows(i)[0]].data_ptr()
                    and self.tiles[i].weights.shape == (self.rows(i)[1], x_size)
                    and self.tiles[i].weights.device == device
                    for i in indices
                )
            ):
                master = torch.empty(self.out_size, x_size, dtype=torch.float32, device=device)
                for i in indices:
                    start, length = self.rows(i)
                    tile = self.tiles[i]
                    master[start : start + length].copy_(tile.weights.to(device))
                    tile.weights = master[start : start + length]
            storage.append(master)
        self._storage = storage

    def column_storage(self, c: int) -> Tensor:
        """The contiguous ``[out, x_size]`` tensor whose row slices are column split ``c``'s
        tiles' weights."""
        return self._storage[c]

    def weight_views(self) -> list[Tensor]:
        """Per column split, its weights (no bias column) as a view of its storage: of the
        weight shape when the grid has one column split, else ``[out, in_c]``."""
        views = []
        for c, master in enumerate(self._storage):
            view = master[:, : self.col_splits[c][1]]
            if len(self._storage) == 1 and len(self.weight_shape) > 1:
                view = view.unflatten(1, self.weight_shape[1:])  # type: ignore[no-untyped-call]
            views.append(view)
        return views

    def bind_weights(self, weights: Sequence[Tensor]) -> None:
        """Use ``weights`` (one per column split, e.g. a layer's ``Parameter`` objects made
        from :meth:`weight_views`) as what autograd sees for the tiles: the backward pass
        records an update for a split whose tensor requires a gradient."""
        if len(weights) != len(self.col_splits):
            raise ValueError(
                f"{self.name}: {len(weights)} weight tensors for {len(self.col_splits)} "
                "column splits"
            )
        self.weights = list(weights)

    def replace_tiles(self, tiles: Sequence[Any]) -> None:
        """Put ``tiles`` (same sizes, grid order) in place of the grid's tiles: each is moved
        to the grid's device and its weights copied into the grid's storage, which stays
        the same tensors (views of it stay valid)."""
        if len(tiles) != len(self.tiles):
            raise ValueError(
                f"{self.name}.replace_tiles: tiles has {len(tiles)} tiles; allowed: exactly "
                f"{len(self.tiles)}, one per position of the grid"
            )
        for old, new in zip(self.tiles, tiles, strict=True):
            if tuple(new.weights.shape) != tuple(old.weights.shape):
                raise ValueError(
                    f"{self.name}: cannot put a {tuple(new.weights.shape)} tile in place of a "
                    f"{tuple(old.weights.shape)} one"
                )
        device = self.device
        for index, new in enumerate(tiles):
            new.to(device)
            weights = self.tiles[index].weights
            with torch.no_grad():
                weights.copy_(new.weights)
            new.weights = weights
            self.tiles[index] = new
        self.prepared.plan = None

    def to(self, device: torch.device | str | int) -> TileGrid:
        """Move every tile to ``device`` (the storage follows); returns the grid."""
        device = torch.device(device)
        if self.device != device:
            for tile in self.tiles:
                tile.to(device)
        if self.scales is not None:  # (tiles moved one by one leave them behind)
            self.scales = [s.to(device) for s in self.scales]
        self.relink()
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state.setdefault("input_scratch", Scratch())  # pickled before it existed
        self.__dict__.update(state)
        self.relink()

    # -- weights --------------------------------------------------------------------------
    def get_weights(self) -> tuple[Tensor, Tensor | None]:
        """Copies of the logical ``(weight, analog bias)`` (mapping scales applied): the
        weight of ``weight_shape``, float32; the bias ``None`` without an analog bias."""
        out_size, in_size, device = self.out_size, self.in_size, self.device
        weight = torch.empty(out_size, in_size, dtype=torch.float32, device=device)
        bias = (
            torch.empty(out_size, dtype=torch.float32, device=device) if self.analog_bias else None
        )
        for index, tile in enumerate(self.tiles):
            start, length = self.rows(index)
            c0, c_len = self.col_splits[self.position(index)[2]]
            w, b = tile.get_weights()
            if self.scales is not None:
                scale = self.scales[index].to(device)
                w = w * scale.unsqueeze(1)
                b = None if b is None else b * scale
            weight[start : start + length, c0 : c0 + c_len] = w
            if b is not None and bias is not None:
                bias[start : start + length] = b
        return weight.reshape(self.weight_shape), bias

    def check_weights(self, weight: Any, bias: Any = None, *, has_bias: bool) -> Tensor:
        """Check what :meth:`set_weights` gets; return the weight as float32 ``[out, in]``
        on the grid's device. ``has_bias``: whether the owner takes a bias (analog or its
        own digital one); the messages start with the grid's ``name``."""
        name = self.name
        out_size, in_size = self.out_size, self.in_size
        if not isinstance(weight, Tensor) or not weight.is_floating_point():
            got = weight.dtype if isinstance(weight, Tensor) else type(weight).__name__
            raise TypeError(
                f"{name}.set_weights: weight must be a floating-point tensor; got {got}"
            )
        if tuple(weight.shape) not in (self.weight_shape, (out_size, in_size)):
            raise ValueError(
                f"{name}.set_weights: weight has shape {tuple(weight.shape)}; expected "
                f"{self.weight_shape}"
            )
        if not all_finite(weight):  # isfinite would make temporaries of the weight's size
            raise ValueError(f"{name}.set_weights: weight must be finite")
        if bias is not None:
            if not has_bias:
                raise ValueError(f"{name}.set_weights: got a bias but the layer has bias=False")
            if not isinstance(bias, Tensor) or not bias.is_floating_point():
                got = bias.dtype if isinstance(bias, Tensor) else type(bias).__name__
                raise TypeError(
                    f"{name}.set_weights: bias must be a floating-point tensor; got {got}"
                )
            if tuple(bias.shape) != (out_size,):
                raise ValueError(
                    f"{name}.set_weights: bias has shape {tuple(bias.shape)}; expected ({out_size},)"
                )
            if not bool(torch.isfinite(bias).all()):
                raise ValueError(f"{name}.set_weights: bias must be finite")
        matrix = weight.detach().to(dtype=torch.float32).reshape(out_size, in_size)
        return matrix.to(self.device)

    def program(self, matrix: Tensor, bias: Tensor | None = None) -> int:
        """Program the tiles with a checked ``[out, in]`` float32 ``matrix`` and, with an
        analog bias, ``bias`` (``None``: 0); a pulsed tile clips to its device bounds. With
        weight scaling the scales are recomputed. Returns how many values were clipped."""
        clipped = 0
        device = self.device
        analog_bias = None
        if self.analog_bias:
            analog_bias = (
                torch.zeros(self.out_size, device=device)
                if bias is None
                else bias.detach().to(device=device, dtype=torch.float32)
            )
        omega = self.mapping.weight_scaling_omega
        for index, tile in enumerate(self.tiles):
            start, length = self.rows(index)
            c0, c_len = self.col_splits[self.position(index)[2]]
            w = matrix[start : start + length, c0 : c0 + c_len]
            b = None
            if tile.bias and analog_bias is not None:
                b = analog_bias[start : start + length]
            if self.scales is not None:
                block = w if b is None else torch.cat((w, b.unsqueeze(1)), dim=1)
                if self.mapping.weight_scaling_columnwise:
                    peak = block.abs().amax(dim=1)
                else:
                    peak = block.abs().amax().expand(length)
                scale = torch.where(peak > 0, peak / omega, torch.ones_like(peak))
                self.scales[index] = scale.detach().to(self.device, copy=True)
                w = w / scale.unsqueeze(1)
                if b is not None:
                    b = b / scale
            block = w if b is None else torch.cat((w, b.unsqueeze(1)), dim=1)
            bounded = tile._clip_weights(block)
            if bounded is not block:
                clipped += int((bounded != block).sum())
            tile.set_weights(w.contiguous(), None if b is None else b.contiguous())
        self.relink()
        if self.out_size * self.in_size >= LARGE_GRID_ELEMENTS:  # the tiles' temporaries
            release_free_memory()
        return clipped

    def set_weights(self, weight: Tensor, bias: Tensor | None = None) -> None:
        """Program the tiles with the logical ``weight`` (the weight shape or ``[out, in]``)
        and analog ``bias``; a rejected call changes nothing."""
        self.program(self.check_weights(weight, bias, has_bias=self.analog_bias), bias)

    def update_scale(self, index: int) -> Tensor | None:
        """What the recorded error of tile ``index`` is multiplied by (weight scaling).

        The tile sees ``d * s`` (the gradient of its own output); the logical update needs
        ``d / s``, so the record is divided by ``s**2``. A learning-rate compensation would
        multiply the tile's learning rate and divide the error by the same factor, which
        leaves their product, and so the update, unchanged: it is folded in here.
        """
        if self.scales is None:
            return None
        return 1.0 / self.scales[index] ** 2

    # -- products -------------------------------------------------------------------------
    def matmul(
        self,
        x: Tensor,
        bias: Tensor | None = None,
        out_scale: Tensor | None = None,
        *,
        input_owned: bool = False,
    ) -> Tensor:
        """``[N, groups * in] -> [N, out]`` through the tiles, mapping scales included, times
        ``out_scale`` (e.g. a learned output scale) and plus ``bias`` (``[out]``) when given.

        With autograd (a trained weight or an input that needs a gradient) each tile's
        product is an :class:`~aihw.core.autograd.AnalogFunction`; otherwise the prepared
        inference passes run where they apply. An input with a NaN or an infinity is
        refused (``ValueError`` naming the grid's owner). The bias is added in the
        input's dtype.

        Under ``torch.compile`` this runs eagerly (a graph break, without dynamo tracing
        the tiles, which it could not compile): the digital layers around it compile.

        ``input_owned``: ``x`` is a temporary of the caller's that nobody else holds or
        changes (im2col patches): the tiles' update records keep it without a copy.
        """
        if _is_compiling():
            # Made here: torch.compiler.disable imports dynamo (a second at import time).
            eager = torch.compiler.disable(TileGrid._matmul)  # type: ignore[no-untyped-call]
            return eager(self, x, bias, out_scale, input_owned)  # type: ignore[no-any-return]
        return self._matmul(x, bias, out_scale, input_owned)

    def _matmul(
        self,
        x: Tensor,
        bias: Tensor | None = None,
        out_scale: Tensor | None = None,
        input_owned: bool = False,
    ) -> Tensor:
        check_finite_input(self.name, x)
        if bias is not None and bias.dtype != x.dtype:
            bias = bias.to(x.dtype)  # the output keeps the input's dtype
        grad = torch.is_grad_enabled()
        if not grad or not (x.requires_grad or any(w.requires_grad for w in self.weights)):
            # Without autograd the result is a tensor of our own: the bias can go in place,
            # or into the last column split's pass, where that keeps ``out + bias``'s dtype.
            in_place = bias is not None and not (grad and bias.requires_grad)
            fuse = (
                bias is not None
                and in_place
                and out_scale is None
                and x.dtype == torch.float32
                and bias.dtype == torch.float32
                and bias.is_contiguous()
            )
            out = self.inference(x, bias if fuse else None)
            if out is not None:
                if out_scale is not None:
                    out = out * out_scale
                if bias is None or fuse:
                    return out
                return out.add_(bias) if in_place and out.dtype == bias.dtype else out + bias
        n_c = len(self.col_splits)
        in_size = self.in_size
        outputs: list[Tensor] = []
        # The tiles of one column split share its input slice: copy it once, not per tile.
        slices: dict[tuple[int, int], Tensor] = {}
        owned_slices: dict[tuple[int, int], bool] = {}
        finite = x.dtype is not torch.float64
        for index, tile in enumerate(self.tiles):
            g, _, c = self.position(index)
            owned = input_owned
            if self.groups == 1 and n_c == 1:
                xc = x
            else:
                cached = slices.get((g, c))
                if cached is None:
                    start, length = self.col_splits[c]
                    offset = g * in_size + start
                    view = x[:, offset : offset + length]
                    cached = slices[(g, c)] = view.contiguous()
                    owned_slices[(g, c)] = input_owned or cached is not view
                xc = cached
                owned = owned_slices[(g, c)]
            # x was checked above, so the records need not check it again (unless float64
            # values overflow float32).
            y = analog_matmul(tile, self.weights[c], xc, self.update_scale(index),
                              input_owned=owned, input_finite=finite)  # fmt: skip
            if self.scales is not None:
                y = y * self.scales[index].to(y)
            if c == 0:
                outputs.append(y)
            else:
                outputs[-1] = outputs[-1] + y
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
        if out_scale is not None:
            out = out * out_scale
        return out if bias is None else out + bias

    def prepared_forward(self, x: Any, bias: Tensor | None = None) -> Tensor | None:
        """The prepared :class:`~aihw.core.first_pass.GridPass` on a plain 2-D float32 CPU
        input under ``no_grad``, plus ``bias``; ``None`` (nothing done) where anything else
        applies (or before the first :meth:`inference` prepared it).

        The hot path of inference, in one frame: it checks only what decides that
        :meth:`matmul` would take the same route (which also raises the errors for bad
        input), since every Python step after a matrix product runs with cold caches.
        """
        plan = self.prepared.plan
        if (
            plan is None
            or plan[2] is None
            or _is_compiling()
            or torch.is_grad_enabled()
            or type(x) is not Tensor
            or x.dtype is not torch.float32
            or not x.is_cpu
            or not x.is_contiguous()
            or (
                bias is not None
                and (bias.dtype is not torch.float32 or not bias.is_cpu or not bias.is_contiguous())
            )
        ):
            return None
        shape = x.shape  # (each read makes a new torch.Size)
        # An empty batch takes the general path: no tile sees one.
        if len(shape) != 2 or shape[0] == 0 or shape[1] != plan[2].in_size:
            return None
        n, ld = shape
        # grid_inference.inference_key, with C-level calls only (no Python frame).
        tiles = self.tiles
        try:
            attributes = tuple(map(TILE_KEY, tiles))
        except AttributeError:  # a periphery was removed since: the general path
            return None
        if plan[0] != (
            self.scales is None,
            attributes,
            tuple(map(DATA_PTR, map(WEIGHTS, tiles))),
        ):
            return None
        if not (plan[2].checks_finite or all_finite(x)):
            return None  # the general path raises, naming the layer
        # None: a zero row, or a NaN or an infinity in x; the general path then runs.
        return plan[2].run_checked(x, bias, n, ld)  # (x and bias checked above)

    @property
    def inference_passes(self) -> tuple[Columns | None, GridPass | None] | None:
        """The prepared inference as last built: per column split its first pass and
        matrix (``None``: not applicable), and the grid pass; ``None`` before any."""
        plan = self.prepared.plan
        return None if plan is None else (plan[1], plan[2])

    def inference(self, x: Tensor, bias: Tensor | None = None) -> Tensor | None:
        """Inference (no autograd) through the prepared passes
        (:class:`~aihw.core.grid_inference.PreparedInference`), plus ``bias`` (float32,
        contiguous, with a float32 ``x``); ``None`` where they do not apply (groups, weight
        scaling, an analog bias column, tiles not on the compiled CPU path)."""
        return self.prepared.run(self, x, bias)

    def __repr__(self) -> str:
        return (
            f"TileGrid(weight_shape={self.weight_shape}, shape={self.shape}, "
            f"analog_bias={self.analog_bias}, device={self.device})"
        )


def _check_lr_compensation(
    mapping: MappingParameters, resistive_device: Any, update: Any, rpu_config: Any
) -> None:
    """Refuse ``weight_scaling_lr_compensation`` where it would change the pulses.

    The compensation scales the tile's learning rate up and its error down by the same
    factor; with update management (the default) the pulse probabilities depend on their
    product only, so it is folded away (docs/physics/mapping.md#weight-scaling). Without
    update management the reference toolkit's pulses would differ, which aihw does not
    simulate.
    """
    if not (mapping.weight_scaling_lr_compensation and mapping.weight_scaling_omega > 0):
        return
    if rpu_config is not None:
        pulsed, update = not rpu_config.is_floating_point, rpu_config.update
    else:
        pulsed = resistive_device is not None and not resistive_device.is_floating_point
    if pulsed and update is not None and not update.update_management:
        raise ValueError(
            "mapping.weight_scaling_lr_compensation=True is not simulated with "
            "update_management=False (it would change the pulse probabilities); allowed: "
            "weight_scaling_lr_compensation=False, or update_management=True"
        )

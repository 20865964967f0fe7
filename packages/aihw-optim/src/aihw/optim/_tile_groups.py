"""What both optimizers do with parameter groups that hold analog tiles: one group per
analog weight (``regroup_param_groups``), state dicts without the tile objects, and a
``zero_grad`` that also discards the tiles' recorded updates. A mixin placed before the
torch optimizer class, so that ``super()`` reaches that optimizer.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.nn import Module

from aihw.core.links import clear_recorded_updates, shares_storage, tiles_of

__all__ = ["TileGroups", "group_tiles"]


def group_tiles(group: dict[str, Any]) -> list[Any]:
    """The live tiles of a parameter group: those linked to its parameters, else (a weight
    found by shared storage) the group's ``analog_tile``."""
    tiles = [tile for param in group["params"] for tile in tiles_of(param)]
    if tiles:
        return tiles
    tile = group.get("analog_tile")
    return [] if tile is None else [tile]


class TileGroups:
    """Parameter groups with analog tiles (a mixin for :class:`torch.optim.Optimizer`
    subclasses)."""

    param_groups: list[dict[str, Any]]

    def regroup_param_groups(self, model: Module | None = None) -> None:
        """Move each analog weight into a parameter group of its own.

        The new group is ``{'params': [weight], 'analog_tile': tile, ...}`` with the
        hyperparameters of the group the weight came from. Calling it again changes
        nothing. Parameter state (momentum buffers) is kept.

        Args:
            model: optional; its modules with ``analog_tiles()`` tell which of the
                optimizer's parameters hold a tile's weights (besides parameters with an
                ``analog_tile`` attribute). Parameters not in the optimizer are not added.
        """
        if model is not None and not isinstance(model, Module):
            raise TypeError(f"model must be a torch.nn.Module or None; got {type(model).__name__}")
        tiles_by_param: dict[int, Any] = {}
        if model is not None:
            for module in model.modules():
                analog_tiles = getattr(module, "analog_tiles", None)
                if not callable(analog_tiles):
                    continue
                tiles = list(analog_tiles())
                for param in module.parameters(recurse=False):
                    for tile in tiles:
                        if shares_storage(param, tile):
                            tiles_by_param[id(param)] = tile
        new_groups: list[dict[str, Any]] = []
        for group in self.param_groups:
            if group.get("analog_tile") is not None:
                new_groups.append(group)  # already an analog group
                continue
            digital: list[tuple[Tensor, Any]] = []
            analog: list[tuple[Tensor, Any]] = []
            for param in group["params"]:
                linked = tiles_of(param)
                tile = linked[0] if linked else None
                if tile is None:
                    tile = tiles_by_param.get(id(param))
                (digital if tile is None else analog).append((param, tile))
            options = {k: v for k, v in group.items() if k != "params"}
            if digital or not analog:
                group["params"] = [p for p, _ in digital]
                new_groups.append(group)
            for weight, tile in analog:
                new_groups.append({"params": [weight], "analog_tile": tile, **options})
        self.param_groups[:] = new_groups

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`torch.optim.Optimizer.state_dict`, without the tile objects.

        A group's ``analog_tile`` is saved as ``None``; :meth:`load_state_dict` puts the
        live tiles back.
        """
        state: dict[str, Any] = super().state_dict()  # type: ignore[misc]
        for group in state["param_groups"]:
            if "analog_tile" in group:
                group["analog_tile"] = None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As :meth:`torch.optim.Optimizer.load_state_dict`, keeping the live tiles."""
        live = [group.get("analog_tile") for group in self.param_groups]
        super().load_state_dict(state_dict)  # type: ignore[misc]
        for group, tile in zip(self.param_groups, live, strict=True):
            if "analog_tile" in group:
                tiles = group_tiles(group)
                group["analog_tile"] = tiles[0] if tiles else tile

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters and discard the tiles' recorded updates.

        Args:
            set_to_none: as for :meth:`torch.optim.Optimizer.zero_grad`.
        """
        super().zero_grad(set_to_none)  # type: ignore[misc]
        for group in self.param_groups:
            clear_recorded_updates(group_tiles(group))

"""``MappingParameters``: how a layer's logical weight is laid out on tiles.

They live in :mod:`aihw.core.mapping`, next to the tile grid that uses them.
"""

from aihw.core.mapping import MappingParameters, split_sizes

__all__ = ["MappingParameters", "split_sizes"]

"""``MappingParameters``: how a layer's logical weight is laid out on tiles.

They live in :mod:`aihw.core.mapping`, next to the tile grid that uses them;
``MappingParameter`` is the reference toolkit's spelling of the same class.
"""

from aihw.core.mapping import MappingParameter, MappingParameters, split_sizes

__all__ = ["MappingParameter", "MappingParameters", "split_sizes"]

"""Analog-aware optimizers (distribution ``aihw-optim``).

:class:`AnalogSGD` trains digital parameters exactly like :class:`torch.optim.SGD` and
analog weights inside their tiles (``aihw.core.tiles``); :class:`AnalogOptimizer` pairs
the tiles' update with any torch optimizer (``AnalogOptimizer(torch.optim.Adam, ...)``).
"""

from .analog_optimizer import AnalogOptimizer
from .analog_sgd import AnalogSGD

__all__ = ["AnalogOptimizer", "AnalogSGD"]

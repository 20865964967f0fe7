"""Analog-aware optimizers (distribution ``aihw-optim``).

:class:`AnalogSGD` trains digital parameters exactly like :class:`torch.optim.SGD` and
analog weights inside their tiles (``aihw.core.tiles``).
"""

from .analog_sgd import AnalogSGD

__all__ = ["AnalogSGD"]

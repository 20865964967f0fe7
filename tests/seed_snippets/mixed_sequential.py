from aihw.nn import AnalogLinear
from torch.nn import Linear, Sequential

model = Sequential(
    AnalogLinear(2, 3),
    Linear(3, 3),
    AnalogLinear(3, 1)
)

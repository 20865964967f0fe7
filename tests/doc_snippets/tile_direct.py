import torch

from aihw.core.tiles import AnalogTile
from aihw.devices import ConstantStepResistiveDevice

tile = AnalogTile(3, 4, ConstantStepResistiveDevice(), seed=7)
tile.set_weights(torch.full((3, 4), 0.1))

x = torch.rand(8, 4)  # 8 input vectors
y = tile.forward(x)  # [8, 3]
d = torch.randn(8, 3) * 0.1  # errors dL/dy
z = tile.backward(d)  # [8, 4]
tile.update(x, d, lr=0.05)  # pulsed: W -= 0.05 * d^T x, in expectation
print(tile.last_update_pulses, "pulses applied")

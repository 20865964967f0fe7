from aihw.nn import AnalogLinear
from aihw.optim.analog_sgd import AnalogSGD

model = AnalogLinear(5, 3)

optimizer = AnalogSGD(model.parameters(), lr=0.1)
optimizer.regroup_param_groups(model)

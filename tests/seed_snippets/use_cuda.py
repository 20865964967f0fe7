from aihw.nn import AnalogLinear

model = AnalogLinear(5, 3)
model = model.cuda()

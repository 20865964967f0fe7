from aihw.nn import AnalogLinear

model = AnalogLinear(5, 3)
model.sync_parameters_from_tile()

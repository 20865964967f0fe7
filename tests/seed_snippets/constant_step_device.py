from aihw.nn import AnalogLinear
from aihw.devices import ConstantStepResistiveDevice
from aihw.devices import PulsedResistiveDeviceParameters

parameters = PulsedResistiveDeviceParameters(w_min=-0.4)
resistive_device = ConstantStepResistiveDevice(parameters)
model = AnalogLinear(5, 3, bias=False, resistive_device=resistive_device)

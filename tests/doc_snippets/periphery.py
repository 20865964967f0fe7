import torch

from aihw.core import IOParameters
from aihw.devices import InferenceRPUConfig, SingleRPUConfig
from aihw.nn import AnalogLinear

# Inference / hardware-aware training: noisy forward (docs/physics/periphery.md#io-parameters
# defaults), exact backward.
model = AnalogLinear(64, 10, rpu_config=InferenceRPUConfig(), seed=0)

# Pulsed training with the default periphery in both directions, the ADC made coarser.
config = SingleRPUConfig(forward=IOParameters(out_res=1 / 126, out_noise=0.1))
trained = AnalogLinear(64, 10, rpu_config=config, seed=1)

x = torch.randn(32, 64)
y = model(x)
periphery = model.analog_tile.forward_periphery
print(periphery.last_passes, "bound-management pass(es)")

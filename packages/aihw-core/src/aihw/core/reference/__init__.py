"""The plain-torch reference of the engine (docs/architecture/engine-contract.md).

Every function of the compiled engine (:mod:`aihw.core.engine`) has its twin here, by the
same name and signature, computing the same numbers on CPU or CUDA tensors:

- :mod:`~aihw.core.reference.philox`: Philox4x32-10 and the normals drawn from its words;
- :mod:`~aihw.core.reference.update`: the pulsed update (``pulsed_update``);
- :mod:`~aihw.core.reference.periphery`: the periphery stages (``input_stage``,
  ``output_stage``, ``row_abs_max``);
- :mod:`~aihw.core.reference.device_ops`: decay, diffusion, column reset, write noise;
- :mod:`~aihw.core.reference.patches`: convolution patches (``im2col_2d``, ``col2im_2d``).

The tiles run these wherever the compiled engine cannot (CUDA tensors, a missing engine,
a step law that exists only in Python); tests compare the two for the same seed.
"""

from __future__ import annotations

from .philox import (
    key_from_seed,
    normals_from_words,
    periphery_normals_from_words,
    philox4x32_10,
    uniform_from_words,
)
from .update import (
    STREAM_C2C,
    STREAM_D,
    STREAM_ROUND_D,
    STREAM_ROUND_X,
    STREAM_X,
    deterministic_counts,
    pulse_coincidences,
    pulse_counts,
    pulse_scales,
    pulsed_update,
    sequence_columns,
)

#: The name this function had before the reference became a package.
pulsed_update_reference = pulsed_update

__all__ = [
    "philox4x32_10",
    "key_from_seed",
    "uniform_from_words",
    "normals_from_words",
    "periphery_normals_from_words",
    "pulse_scales",
    "pulse_coincidences",
    "deterministic_counts",
    "pulse_counts",
    "pulsed_update",
    "pulsed_update_reference",
    "sequence_columns",
    "STREAM_X",
    "STREAM_D",
    "STREAM_C2C",
    "STREAM_ROUND_X",
    "STREAM_ROUND_D",
]

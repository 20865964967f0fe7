"""Which implementation of the engine functions runs for tensors on a device.

Three implementations share the names and signatures of the functions of
docs/architecture/engine-contract.md §0: the compiled CPU engine (:mod:`aihw.core.engine`),
the CUDA kernels (:mod:`aihw.core.engine_cuda`) and the plain-torch reference
(:mod:`aihw.core.reference`). A tile picks one per call from its ``backend`` and the device
of its tensors: ``"auto"`` takes the compiled implementation for that device where it can run,
else the reference; ``"native"`` requires the compiled one (CPU engine or CUDA kernels) and
raises with the reason when it cannot run; ``"reference"`` always takes the reference.
"""

from __future__ import annotations

from typing import Literal

import torch

from . import engine

#: What :func:`compiled_engine_for` names: the CPU engine or the CUDA kernels.
Compiled = Literal["native", "cuda"]
#: What a tile runs: a compiled implementation or the plain-torch reference.
EngineName = Literal["native", "cuda", "reference"]


def compiled_engine_for(device: torch.device) -> Compiled | None:
    """The compiled implementation that runs on ``device``: ``"native"`` on the CPU when
    the engine imports, ``"cuda"`` on a GPU when :func:`aihw.core.engine.cuda_available`,
    else ``None`` (:func:`why_not_compiled` says why)."""
    if device.type == "cpu":
        return "native" if engine.native_available() else None
    if device.type == "cuda":
        return "cuda" if engine.cuda_available() else None
    return None


def why_not_compiled(device: torch.device) -> str:
    """Why :func:`compiled_engine_for` gives ``None`` on ``device`` (for the error of
    ``backend='native'``)."""
    if device.type == "cpu":
        try:
            engine.load()
        except ImportError as exc:
            return str(exc)
        return "the compiled engine imports"  # not reached when compiled_engine_for is None
    if device.type == "cuda":
        if not engine.native_available():
            return "the compiled engine does not import: " + why_not_compiled(torch.device("cpu"))
        if not engine.load().cuda_compiled():
            return (
                "this aihw-core was built without the CUDA kernels (no nvcc at build time, or "
                "AIHW_CUDA=OFF); rebuild it with AIHW_CUDA=ON"
            )
        return "torch sees no usable GPU (torch.cuda.is_available() is False)"
    return f"the compiled engine runs on the CPU and on CUDA GPUs only, not on {device.type}"


def engine_for(device: torch.device, backend: str) -> EngineName:
    """The implementation a tile with ``backend`` runs for tensors on ``device``.

    Raises:
        RuntimeError: ``backend='native'`` and no compiled implementation can run on
            ``device``; the message says why.
    """
    if backend == "reference":
        return "reference"
    compiled = compiled_engine_for(device)
    if compiled is not None:
        return compiled
    if backend == "native":
        raise RuntimeError(f"backend='native' cannot run on {device}: {why_not_compiled(device)}")
    return "reference"

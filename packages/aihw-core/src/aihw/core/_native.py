"""Lazy access to the compiled engine ``aihw.core._core``.

The module is imported on first use only, so ``import aihw.core`` works (with the
plain-torch reference) even when the compiled engine is missing or broken; code that
needs it calls :func:`load` and gets an ``ImportError`` that says what failed and how to
repair the installation.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import torch

__all__ = ["load", "native_available", "cuda_available", "law_known", "pulse_kind"]

_MODULE_NAME = "aihw.core._core"
_module: ModuleType | None = None
_failure: ImportError | None = None

_REINSTALL_HINT = (
    "The compiled engine of aihw-core is missing or broken. Reinstall it with "
    "`python -m pip install --force-reinstall --no-cache-dir aihw-core`; in a source "
    "checkout, rebuild it with `tools/build_core_inplace.sh`."
)


def load() -> ModuleType:
    """Return the compiled module ``aihw.core._core``, importing it once.

    Raises:
        ImportError: the module could not be imported; the message names the original
            error and how to reinstall.
    """
    global _module, _failure
    if _module is not None:
        return _module
    if _failure is None:
        try:
            _module = importlib.import_module(_MODULE_NAME)
            return _module
        except ImportError as exc:  # remember: importing again would fail the same way
            _failure = exc
    raise ImportError(
        f"could not import aihw.core._core ({type(_failure).__name__}: {_failure}). "
        + _REINSTALL_HINT
    ) from _failure


def native_available() -> bool:
    """Whether the compiled engine imports (else the plain-torch reference is used)."""
    try:
        load()
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    """Whether CUDA kernels can run: the engine was built with CUDA and torch sees a GPU."""
    if not native_available():
        return False
    assert _module is not None
    compiled = getattr(_module, "cuda_compiled", None)
    return bool(compiled is not None and compiled()) and torch.cuda.is_available()


def law_known(engine_id: int) -> bool:
    """Whether the compiled engine executes the step law with this engine id."""
    if not native_available():
        return False
    assert _module is not None
    info = getattr(_module, "law_info", None)
    # An engine without law_info predates the query: it knows the laws of its contract.
    return engine_id == 1 if info is None else info(int(engine_id)) is not None


#: The pulse types every engine executes (pulse_kind 0); an engine without ``pulse_kinds``
#: predates the deterministic types.
_STOCHASTIC_KINDS = {"StochasticCompressed": 0, "Stochastic": 0}


def pulse_kind(pulse_type: str) -> int | None:
    """The engine's ``pulse_kind`` code for this pulse type (its value, e.g. ``"MeanCount"``),
    or ``None`` when the compiled engine (missing, or too old) does not execute it."""
    if not native_available():
        return None
    assert _module is not None
    kinds = getattr(_module, "pulse_kinds", None)
    known = _STOCHASTIC_KINDS if kinds is None else kinds()
    return known.get(str(pulse_type))

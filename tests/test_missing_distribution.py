"""With only aihw-core installed, ``import aihw.nn`` (``aihw.optim``, ``aihw.devices``)
names the distribution to install; ``importlib.util.find_spec`` probes still get ``None``."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

# Run in a fresh interpreter where only aihw.core can be found: a directory whose aihw/
# holds a link to the real aihw/core, and no other finder or path entry that knows aihw.
_SCRIPT = textwrap.dedent(
    """
    import importlib.util, os, sys
    import torch  # before the path is trimmed

    root, core = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(root, "aihw"))
    os.symlink(core, os.path.join(root, "aihw", "core"))
    standard = ("BuiltinImporter", "FrozenImporter", "PathFinder")
    sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "__name__", "") in standard]
    sys.path[:] = [root] + [
        p for p in sys.path
        if "aihw" not in p and not os.path.isdir(os.path.join(p or ".", "aihw"))
    ]
    sys.path_importer_cache.clear()
    import aihw.core
    assert importlib.util.find_spec("aihw.nn") is None
    for statement in ("import aihw.nn", "from aihw.optim import AnalogSGD",
                      "import aihw.devices"):
        try:
            exec(statement)
        except ModuleNotFoundError as error:
            print(error.name, "|", error)
        else:
            print("imported", statement)
    """
)


def test_a_missing_part_names_its_distribution(tmp_path: Path) -> None:
    import aihw.core

    core = str(Path(aihw.core.__file__).resolve().parent)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "site"), core],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "aihw.nn | No module named 'aihw.nn': it is provided by the distribution "
        "'aihw-torch', which is not installed (pip install aihw-torch)",
        "aihw.optim | No module named 'aihw.optim': it is provided by the distribution "
        "'aihw-optim', which is not installed (pip install aihw-optim)",
        "aihw.devices | No module named 'aihw.devices': it is provided by the distribution "
        "'aihw-devices', which is not installed (pip install aihw-devices)",
    ]


def test_installed_parts_import_as_before() -> None:
    import aihw.devices
    import aihw.nn
    import aihw.optim  # noqa: F401

    assert importlib.util.find_spec("aihw.no_such_part") is None

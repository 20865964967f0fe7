"""docs/migrating.md: its ported script runs, and every aihw path of its table imports."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "migrating.md"
#: The preset configurations come with issue 13's preset item (aihw.devices.presets).
PRESET_CONFIGS = {
    "GokmenVlasovPreset",
    "ReRamSBPreset",
    "ReRamESPreset",
    "CapacitorPreset",
    "EcRamPreset",
    "EcRamMOPreset",
    "IdealizedPreset",
    "PCMPreset",
    "PresetIOParameters",
    "PresetUpdateParameters",
    "StandardIOParameters",
}


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_ported_script_runs(capsys):
    reference, ported = _blocks()
    assert "aihwkit" in reference and "aihwkit" not in ported
    # Only the imports differ.
    body = [line for line in reference.splitlines() if "import" not in line]
    assert body == [line for line in ported.splitlines() if "import" not in line]
    namespace: dict[str, object] = {}
    exec(compile(ported, str(PAGE), "exec"), namespace)
    model = namespace["model"]
    assert model[0].tile_grid == (1, 2, 4)  # type: ignore[index]
    assert "input (1, 784) -> output (1, 300)" in capsys.readouterr().out


def _table_rows() -> list[tuple[list[str], list[str]]]:
    rows = []
    for line in PAGE.read_text().splitlines():
        if line.startswith("| `aihwkit"):
            reference, ours = line.split("|")[1:3]
            rows.append((re.findall(r"`([^`]+)`", reference), re.findall(r"`([^`]+)`", ours)))
    return rows


def _resolve(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_aihw_name_of_the_table_imports():
    rows = _table_rows()
    assert len(rows) >= 15
    missing = []
    for reference, ours in rows:
        # The reference's names of the row: the first is a full path, the rest short.
        names = [path.rpartition(".")[2] for path in reference]
        for path in ours:
            targets = [path.replace("<Name>", n) for n in names] if "<Name>" in path else [path]
            for target in targets:
                if target.rpartition(".")[2] in PRESET_CONFIGS:
                    presets = importlib.import_module("aihw.devices.presets")
                    if not hasattr(presets, "GokmenVlasovPreset"):
                        continue  # before the preset configurations are merged
                try:
                    _resolve(target)
                except (ImportError, AttributeError):
                    missing.append(target)
    assert not missing, f"docs/migrating.md names what does not import: {missing}"


@pytest.mark.parametrize(
    ("ours", "alias"),
    [
        ("aihw.nn.MappingParameters", "aihw.devices.MappingParameter"),
        ("aihw.core.RuntimeParameters", "aihw.core.RuntimeParameter"),
        ("aihw.core.RPUDataType", "aihw.devices.RPUDataType"),
        ("aihw.nn.AnalogMatrix", "aihw.nn.matrix.AnalogMatrix"),
    ],
)
def test_aliases_are_the_same_objects(ours, alias):
    assert _resolve(ours) is _resolve(alias)

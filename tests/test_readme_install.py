"""The README's install commands: torch from an explicit index, never a bare install."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_torch_install_in_the_readme_names_its_index():
    text = (ROOT / "README.md").read_text()
    # `pip install torch` commands, in code blocks and inline code alike
    commands = re.findall(r"pip install torch\b[^`\n]*(?:\n[^`\n]*)?", text)
    assert commands, "the README no longer says how to install torch"
    for command in commands:
        assert "--index-url https://download.pytorch.org/whl/" in command, command
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    # what a GPU user and a nox user do instead
    assert (
        "NVIDIA GPU" in text and "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    )

"""The docs' API reference covers the public API, and the pages' links point into it.

Sphinx is not needed: the checks read the .rst sources. The docs session (nitpicky, ``-W``)
is what fails on any unresolved reference; these tests say *which* public name has no
entry, or which page links to nothing, without a docs build.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = DOCS / "api"
# The packages whose __all__ the API pages must cover, one page per distribution.
PACKAGES = {
    "aihw.nn": "aihw-torch.rst",
    "aihw.optim": "aihw-optim.rst",
    "aihw.devices": "aihw-devices.rst",
    "aihw.core": "aihw-core.rst",
    "aihw.core.tiles": "aihw-core.rst",
}
_MODULE = re.compile(
    r"^\.\. (currentmodule|automodule|py:module|module|py:currentmodule)::\s+(\S+)"
)
_OBJECT = re.compile(r"^\.\. (?:auto\w+|py:\w+)::\s+([\w.]+)")
_ROLE = re.compile(
    r"(?::py)?:(?:class|func|meth|mod|exc|attr|data|obj):`~?([\w.]+)`"
    r"|\{(?:py:)?(?:class|func|meth|mod|exc|attr|data|obj)\}`~?([\w.]+)`"
)
_MISSING = object()


def _import(path: str) -> Any:
    """The object at a dotted path (the longest importable module, then attributes)."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


def _documented(page: Path) -> list[str]:
    """Full names of the objects an API page documents with a directive."""
    names, module = [], ""
    for line in page.read_text().splitlines():
        if match := _MODULE.match(line):
            module = match.group(2)
            if "currentmodule" not in match.group(1):  # the others document the module
                names.append(module)
        elif match := _OBJECT.match(line):
            name = match.group(1)
            names.append(name if name.startswith("aihw.") else f"{module}.{name}")
    return names


def _all_documented() -> list[str]:
    return [name for page in sorted(API.glob("*.rst")) for name in _documented(page)]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_public_name_has_an_api_entry(package: str) -> None:
    """Each name of the package's ``__all__`` is documented, under that name, on its page."""
    page = API / PACKAGES[package]
    assert page.is_file(), f"no API page {page.relative_to(DOCS)} for {package}"
    module = importlib.import_module(package)
    documented = _documented(page)
    missing = []
    for name in module.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(module, name)
        if not any(d.rsplit(".", 1)[-1] == name and _import(d) is obj for d in documented):
            missing.append(name)
    assert not missing, f"{page.relative_to(DOCS)} has no entry for {package}: {missing}"


def test_api_pages_are_in_the_toctree() -> None:
    index = (API / "index.rst").read_text()
    for page in sorted(set(PACKAGES.values())):
        assert f"\n   {page.removesuffix('.rst')}\n" in index
    assert "   api/index\n" in (DOCS / "index.rst").read_text()


def _pages() -> list[Path]:
    return sorted(p for p in [*DOCS.rglob("*.rst"), *DOCS.rglob("*.md")] if "_build" not in p.parts)


def test_page_links_point_into_the_api_reference() -> None:
    """Every ``:class:`aihw...``` (and the like) on a page names an object that exists and
    is documented: itself, or as a member of a documented class or module."""
    documented = {id(obj) for obj in map(_import, _all_documented()) if obj is not _MISSING}
    broken = []
    for page in _pages():
        for match in _ROLE.finditer(page.read_text()):
            target = match.group(1) or match.group(2)
            if not target.startswith("aihw."):
                continue
            obj = _import(target)
            owner = _import(target.rsplit(".", 1)[0])
            if obj is _MISSING or (id(obj) not in documented and id(owner) not in documented):
                broken.append(f"{page.relative_to(DOCS)}: {target}")
    assert not broken, "links to nothing documented:\n" + "\n".join(broken)


def test_simple_tables_start_their_own_block() -> None:
    """A simple table's top border follows a blank line; right under a title it is read
    as the title's underline and the table comes out as raw ``====`` text."""
    border = re.compile(r"^=+( +=+)+$")
    bad = set()
    for page in sorted(DOCS.rglob("*.rst")):
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if border.match(line):
                start = i
                while start > 0 and lines[start - 1].strip():
                    start -= 1
                if not border.match(lines[start]):
                    bad.add(f"{page.relative_to(DOCS)}:{start + 1}: {lines[start]!r}")
    assert not bad, "tables run into the text above them:\n" + "\n".join(sorted(bad))

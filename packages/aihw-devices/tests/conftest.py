"""Fixtures: a clean registry per test, and fake plugins injected as entry points."""

from __future__ import annotations

import importlib.metadata
import os
import textwrap
import uuid
from collections.abc import Callable, Iterator

import pytest

from aihw.devices import plugins, registry
from aihw.devices.plugins import EntryPointRecord


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the installed plugins with nothing disabled, and leaves them so."""
    monkeypatch.delenv(plugins.DISABLE_ENV, raising=False)
    registry.reload_plugins()
    yield
    monkeypatch.undo()
    registry.reload_plugins()


@pytest.fixture
def needs_matplotlib() -> None:
    """Skip a plot test without matplotlib, or fail when ``AIHW_REQUIRE_PLOT`` is set.

    The nox session of these tests installs matplotlib and sets the variable, so that
    the plot tests cannot silently skip in CI.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if os.environ.get("AIHW_REQUIRE_PLOT"):
            pytest.fail(
                "AIHW_REQUIRE_PLOT is set but matplotlib is not installed: "
                "pip install 'aihw-devices[plot]'"
            )
        pytest.skip("needs matplotlib (set AIHW_REQUIRE_PLOT=1 to fail instead)")


MakePlugin = Callable[..., EntryPointRecord]


@pytest.fixture
def make_plugin(tmp_path, monkeypatch: pytest.MonkeyPatch) -> MakePlugin:
    """Write a plugin module and return an entry-point record pointing at it.

    ``make_plugin(source, name="fake", distribution="aihw-device-fake")``; the module gets a
    unique name so that tests never share an imported module.
    """
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(
        source: str,
        name: str = "fake",
        distribution: str | None = "aihw-device-fake",
        version: str | None = "1.2.3",
    ) -> EntryPointRecord:
        module = f"aihw_device_test_{uuid.uuid4().hex}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        entry_point = importlib.metadata.EntryPoint(name=name, value=module, group="aihw")
        return EntryPointRecord(entry_point, distribution, version)

    return make


@pytest.fixture
def install_plugins(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make discovery return the real entry points plus the given records (not loaded yet)."""
    real = plugins.discover_entry_points()

    def install(*records: EntryPointRecord) -> None:
        monkeypatch.setattr(plugins, "discover_entry_points", lambda: [*real, *records])

    return install

"""The noxfile's sessions, run against a recording stand-in for nox's Session.

Needs nox itself (the development environment has it; the nox sessions do not, and skip).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

nox = pytest.importorskip("nox")

ROOT = Path(__file__).resolve().parents[1]
# A test that plots: the fixture of aihw-devices' conftest, or a skip without matplotlib.
_PLOTS = re.compile(r"needs_matplotlib|importorskip\(\s*[\"']matplotlib")


@functools.cache  # loaded once: loading registers the sessions with nox
def _noxfile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aihw_noxfile", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingSession:
    """What a session function installs and runs, without doing either."""

    posargs: list[str] = []

    def __init__(self) -> None:
        self.installed: list[str] = []
        self.runs: list[tuple[tuple[str, ...], dict[str, str]]] = []

    def install(self, *args: str) -> None:
        self.installed.extend(args)

    def run(self, *args: str, env: dict[str, str] | None = None, **_: Any) -> None:
        self.runs.append((args, dict(env or {})))

    def log(self, *_: Any) -> None:
        pass


def _sessions_running_pytest(noxfile: ModuleType) -> list[tuple[str, RecordingSession]]:
    calls: list[tuple[str, dict[str, str]]] = [
        (f"tests({name})", {"package": name}) for name in noxfile.SIBLINGS
    ]
    calls += [("integration", {}), ("example_plugin", {})]
    recorded = []
    for label, kwargs in calls:
        session = RecordingSession()
        getattr(noxfile, label.split("(")[0]).func(session, **kwargs)
        recorded.append((label, session))
    return recorded


def test_every_session_that_runs_plot_tests_installs_matplotlib(monkeypatch):
    noxfile = _noxfile()
    monkeypatch.setattr(noxfile, "_core_wheel", lambda session: Path("aihw_core.whl"))
    plotting = []
    for label, session in _sessions_running_pytest(noxfile):
        for args, env in session.runs:
            if args[0] != "pytest":
                continue
            files = [p for p in Path(args[1]).rglob("*.py") if p != Path(__file__).resolve()]
            if not any(_PLOTS.search(p.read_text()) for p in files):
                continue
            plotting.append(label)
            assert any(req.startswith("matplotlib") for req in session.installed), label
            # ... and the plot tests fail instead of skipping without it
            assert env.get("AIHW_REQUIRE_PLOT") == "1", label
    assert "tests(aihw-devices)" in plotting


def test_nox_does_not_announce_that_uv_is_missing(caplog):
    _noxfile()
    from nox import virtualenv

    caplog.set_level(logging.INFO, logger="nox")
    # nox probes for uv before creating every session's environment
    assert virtualenv.uv_version("aihw-no-such-uv-binary") == virtualenv.version.Version("0.0")
    assert "uv binary not found" not in caplog.text
    logging.getLogger("nox").info("other messages pass")
    assert "other messages pass" in caplog.text

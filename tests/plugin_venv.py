"""Fresh virtual environments for the plugin tests: real installs and uninstalls.

A new venv (``--without-pip``) sees the running interpreter's site-packages through a
``.pth`` file, so aihw-core, aihw-devices, aihw-torch, aihw-optim, torch and pip come
from the test session's environment, while the plugin distributions are installed into
(and uninstalled from) the new venv only: the session's environment is never changed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "aihw-device-example"
FIXTURES = ROOT / "tests" / "plugins"


@dataclasses.dataclass
class PluginVenv:
    path: Path
    work: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def run(
        self, *args: str, disable: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("AIHW_DISABLE_PLUGINS", "PYTHONPATH")
        }
        if disable is not None:
            env["AIHW_DISABLE_PLUGINS"] = disable
        proc = subprocess.run(
            [self.python, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.work,
            timeout=600,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{args} exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def install(self, *sources: Path) -> None:
        """pip install (not editable) copies of the source trees, so they stay clean."""
        copies = []
        for source in sources:
            copy = self.work / "src" / source.name
            if not copy.exists():
                shutil.copytree(source, copy, ignore=shutil.ignore_patterns("build", "*.egg-info"))
            copies.append(str(copy))
        self.run(
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            *copies,
        )

    def uninstall(self, *names: str) -> None:
        self.run("-m", "pip", "uninstall", "--yes", "--quiet", *names)

    def devices(self, disable: str | None = None) -> dict[str, dict]:
        """``python -m aihw.devices --json``, by device name."""
        out = self.run("-m", "aihw.devices", "--json", disable=disable).stdout
        return {info["name"]: info for info in json.loads(out)}


def make_venv(where: Path) -> PluginVenv:
    path = where / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    parents = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    purelib = subprocess.run(
        [
            str(path / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({p!r})" for p in sorted(parents)]
    Path(purelib, "_aihw_parent_env.pth").write_text("\n".join(lines) + "\n")
    work = where / "work"
    work.mkdir()
    return PluginVenv(path, work)


__all__ = ["EXAMPLE", "FIXTURES", "PluginVenv", "make_venv"]

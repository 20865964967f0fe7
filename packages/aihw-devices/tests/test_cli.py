"""``python -m aihw.devices``: the device listing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from aihw.devices import cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "AIHW_DISABLE_PLUGINS"}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "aihw.devices", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def test_json_listing_in_a_fresh_interpreter():
    result = run("--json")
    assert result.returncode == 0, result.stderr
    devices = {entry["name"]: entry for entry in json.loads(result.stdout)}
    constant = devices["ConstantStep"]
    assert constant["distribution"] == "aihw-devices"
    assert constant["plugin"] == "builtin"
    assert constant["law"] == "constant_step"
    assert constant["native"] is True
    assert constant["aliases"] == ["ConstantStepDevice", "ConstantStepResistiveDevice"]
    assert devices["FloatingPoint"]["law"] is None


def test_table_listing():
    out = io.StringIO()
    assert cli.main([], stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "name",
        "aliases",
        "law",
        "native",
        "plugin",
        "distribution",
        "version",
    ]
    assert set(lines[1]) <= {"-", " "}
    (row,) = [line for line in lines if line.startswith("ConstantStep ")]
    assert row.split()[-5:] == ["constant_step", "yes", "builtin", "aihw-devices", "0.1.0"]


def test_list_is_the_default_command():
    explicit, default = io.StringIO(), io.StringIO()
    assert cli.main(["list", "--json"], stdout=explicit) == 0
    assert cli.main(["--json"], stdout=default) == 0
    assert explicit.getvalue() == default.getvalue()


def test_disabled_plugins_are_mentioned(monkeypatch):
    monkeypatch.setenv("AIHW_DISABLE_PLUGINS", "builtin")
    from aihw.devices import reload_plugins

    reload_plugins()
    out = io.StringIO()
    assert cli.main([], stdout=out) == 0
    assert (
        "disabled by AIHW_DISABLE_PLUGINS: entry point 'builtin = aihw.devices.builtin'"
        in out.getvalue()
    )


def test_help_and_bad_arguments(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    assert "list" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        cli.main(["list", "--no-such-option"])
    assert info.value.code == 2


def test_a_broken_plugin_is_an_error_message_not_a_traceback(make_plugin, install_plugins, capsys):
    install_plugins(make_plugin("import aihw_no_such_module\n"))
    from aihw.devices import registry

    registry._state = None
    assert cli.main(["--json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: aihw plugin from entry point 'fake = ")
    assert "AIHW_DISABLE_PLUGINS=fake" in err
    assert "Traceback" not in err


def test_the_top_level_help_shows_every_command_and_option(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "python -m aihw.devices [list] [--json]" in out
    assert "--json" in out and "print JSON instead of a table" in out
    for option in ("-o, --output FILE", "--pulses N", "--size N", "--seed N"):
        assert option in out


@pytest.mark.parametrize(
    "output, problem",
    [
        ("missing/dir/x.png", "the directory {tmp}/missing/dir does not exist"),
        (".", "it is a directory"),
        ("file.txt/x.png", "{tmp}/file.txt is not a directory"),
    ],
)
def test_plot_to_an_unwritable_path_is_a_message_not_a_traceback(
    tmp_path, capsys, needs_matplotlib, output, problem
):
    (tmp_path / "file.txt").write_text("")
    target = str(tmp_path / output)
    assert cli.main(["plot", "SoftBounds", "-o", target, "--pulses", "2", "--size", "2"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: cannot write {target}: {problem.format(tmp=tmp_path)}\n"


def test_plot_to_a_missing_directory_in_a_fresh_interpreter(tmp_path, needs_matplotlib):
    target = tmp_path / "missing" / "x.png"
    result = run("plot", "SoftBounds", "-o", str(target), "--pulses", "2", "--size", "2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        f"error: cannot write {target}: the directory {target.parent} does not exist\n"
    )

"""The ``python -m aihw.devices`` command: list the registered devices and their plugins.

Subcommands (``list`` is the default)::

    python -m aihw.devices [list] [--json]
    python -m aihw.devices noise-models [--json]
    python -m aihw.devices plot NAME -o response.png [--pulses N] [--size N] [--seed N]

``plot`` needs matplotlib (``pip install 'aihw-devices[plot]'``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .catalog import DeviceInfo
from .errors import PluginError
from .noise_catalog import NoiseModelInfo
from .registry import disabled_plugins, list_devices, list_noise_models

__all__ = ["main"]

_COLUMNS = ("name", "aliases", "law", "native", "plugin", "distribution", "version")
_NOISE_COLUMNS = ("name", "aliases", "parameters", "plugin", "distribution", "version")


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the command.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
        stdout: where to write (default: ``sys.stdout``).

    Returns:
        The exit status: 0; 1 when a plugin fails to load, ``plot`` lacks matplotlib or
        does not know the device; 2 when ``plot`` cannot write its output file. The
        message goes to stderr.
    """
    parser = _parser()
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in _COMMANDS and args[0] not in ("-h", "--help")):
        args.insert(0, "list")
    options = parser.parse_args(args)
    out = sys.stdout if stdout is None else stdout
    try:
        return _COMMANDS[options.command](options, out)
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        sys.stdout = None  # no flush at exit
        return 0


_USAGE = """python -m aihw.devices [list] [--json]
       python -m aihw.devices noise-models [--json]
       python -m aihw.devices plot NAME [-o FILE] [--pulses N] [--size N] [--seed N]"""

_EPILOG = """\
list options (list is the default command):
  --json                print JSON instead of a table

noise-models options (lists the noise models of inference programming and drift):
  --json                print JSON instead of a table

plot options (needs matplotlib: pip install 'aihw-devices[plot]'):
  NAME                  a registered device name, e.g. SoftBounds
  -o, --output FILE     the image file to write (default: response.png)
  --pulses N            pulses in each direction (default: 500)
  --size N              number of devices (default: 100)
  --seed N              the tile seed (default: 0)

`python -m aihw.devices COMMAND --help` describes one command."""


def _parser() -> argparse.ArgumentParser:
    # The top-level help shows each command's options: `list` is the default command,
    # so `python -m aihw.devices --json` is the form users type.
    parser = argparse.ArgumentParser(
        prog="python -m aihw.devices",
        usage=_USAGE,
        description="Inspect the resistive device models of aihw and the plugins providing them.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser("list", help="list the registered devices (the default command)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    noise = commands.add_parser(
        "noise-models", help="list the registered noise models (programming and drift)"
    )
    noise.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plot = commands.add_parser(
        "plot", help="draw a device's pulse response (n up then n down pulses; needs matplotlib)"
    )
    plot.add_argument("name", help="a registered device name, e.g. SoftBounds")
    plot.add_argument("-o", "--output", default="response.png", help="the image file to write")
    plot.add_argument("--pulses", type=int, default=500, help="pulses in each direction")
    plot.add_argument("--size", type=int, default=100, help="number of devices")
    plot.add_argument("--seed", type=int, default=0, help="the tile seed")
    return parser


def _list(options: argparse.Namespace, out: TextIO) -> int:
    infos = list_devices()
    if options.json:
        json.dump([dataclasses.asdict(info) for info in infos], out, indent=2)
        out.write("\n")
    else:
        out.write(_table(infos))
        for source in disabled_plugins():
            out.write(f"disabled by AIHW_DISABLE_PLUGINS: {source}\n")
    return 0


def _noise_models(options: argparse.Namespace, out: TextIO) -> int:
    infos = list_noise_models()
    if options.json:
        json.dump([dataclasses.asdict(info) for info in infos], out, indent=2)
        out.write("\n")
    else:
        out.write(_table(infos, _NOISE_COLUMNS, _noise_row))
    return 0


def _noise_row(info: NoiseModelInfo) -> list[str]:
    return [
        info.name,
        ", ".join(info.aliases) or "-",
        ", ".join(info.parameters) or "-",
        info.plugin or "(register_noise_model)",
        info.distribution or "-",
        info.version or "-",
    ]


def _table(
    infos: Sequence[Any],
    columns: Sequence[str] = _COLUMNS,
    row: Callable[[Any], list[str]] | None = None,
) -> str:
    make = _row if row is None else row
    rows = [list(columns)] + [make(info) for info in infos]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _row(info: DeviceInfo) -> list[str]:
    return [
        info.name,
        ", ".join(info.aliases) or "-",
        _law_cell(info),
        "yes" if info.native else "no",
        info.plugin or "(register_device)",
        info.distribution or "-",
        info.version or "-",
    ]


def _plot(options: argparse.Namespace, out: TextIO) -> int:
    from .errors import UnknownDeviceError
    from .response import plot_pulse_response, pulse_response

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            "error: `plot` needs matplotlib; install it with pip install 'aihw-devices[plot]'",
            file=sys.stderr,
        )
        return 1
    problem = _unwritable(options.output)
    if problem is not None:  # before the pulses are simulated
        return _cannot_write(options.output, problem)
    try:
        response = pulse_response(
            options.name, n_pulses=options.pulses, size=options.size, seed=options.seed
        )
    except (UnknownDeviceError, ValueError, NotImplementedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        plot_pulse_response(response, options.output, title=options.name)
    except OSError as exc:  # e.g. no permission: found only on writing
        return _cannot_write(options.output, exc.strerror or str(exc))
    out.write(f"wrote {options.output}\n")
    return 0


def _cannot_write(path: str, problem: str) -> int:
    print(f"error: cannot write {path}: {problem}", file=sys.stderr)
    return 2


def _unwritable(path: str) -> str | None:
    """Why ``path`` cannot be written, as far as can be told without writing it, or None."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        return "it is a directory"
    if not folder.exists():
        return f"the directory {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a directory"
    return None


def _law_cell(info: DeviceInfo) -> str:
    if info.law_kind == "compound":
        return "(compound)"
    if info.law is None:
        return "(floating point)"
    if info.law_kind in ("python", "tabulated", "unknown"):
        return f"{info.law} ({info.law_kind})"
    return info.law


_COMMANDS = {"list": _list, "noise-models": _noise_models, "plot": _plot}

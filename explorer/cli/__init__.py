"""Headless command line: ``mqttws-explorer SUBCOMMAND ...``.

Never imports Qt or Textual. Each subcommand lives in its own module with a
``register(subparsers)`` function that adds its parser and sets ``func`` to a function
taking the parsed ``argparse.Namespace`` and returning the exit code. Errors derived
from :class:`explorer.errors.ExplorerError` are printed as one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from explorer import __version__
from explorer.errors import ExplorerError
from explorer.gcpolicy import tune_gc

__all__ = ["COMMANDS", "SUBCOMMAND_MODULES", "build_parser", "main"]

# Order is the order shown in --help.
COMMANDS: dict[str, str] = {
    "sub": "explorer.cli.sub",
    "pub": "explorer.cli.pub",
    "trace": "explorer.cli.trace_cmd",
    "decode": "explorer.cli.decode",
    "record": "explorer.cli.record",
    "search": "explorer.cli.search",
    "stats": "explorer.cli.stats",
    "replay": "explorer.cli.replay",
    "probe": "explorer.cli.probe",
    "broker": "explorer.cli.broker",
    "profiles": "explorer.cli.profiles_cmd",
}
"""Subcommand name -> the module that registers it. A command line that names its
subcommand imports only that module, so a command starts without the others' imports."""
SUBCOMMAND_MODULES: tuple[str, ...] = tuple(COMMANDS.values())


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``command`` alone when it is one."""
    parser = _Parser(
        prog="mqttws-explorer",
        description="Explore MQTT over WebSocket: handshakes, frames, packets and topics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else SUBCOMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    tune_gc()
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        code: int = func(args)
    except ExplorerError as exc:
        print(f"mqttws-explorer: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return code

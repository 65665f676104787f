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
from explorer.workspace.runtime import tune_gc

__all__ = ["SUBCOMMAND_MODULES", "build_parser", "main"]

# Order is the order shown in --help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "explorer.cli.sub",
    "explorer.cli.pub",
    "explorer.cli.trace_cmd",
    "explorer.cli.decode",
    "explorer.cli.record",
    "explorer.cli.search",
    "explorer.cli.stats",
    "explorer.cli.replay",
    "explorer.cli.probe",
    "explorer.cli.broker",
    "explorer.cli.profiles_cmd",
)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mqttws-explorer",
        description="Explore MQTT over WebSocket: handshakes, frames, packets and topics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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

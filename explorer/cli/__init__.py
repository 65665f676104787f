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

__all__ = ["COMMANDS", "SUBCOMMAND_MODULES", "SUMMARIES", "build_parser", "main"]

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

SUMMARIES: dict[str, str] = {
    "sub": "subscribe and print messages (and, with --trace, every frame)",
    "pub": "publish one message",
    "trace": "record a connection's frames and packets to pcapng or JSON lines",
    "decode": "decode the MQTT over WebSocket traffic of a pcap/pcapng capture",
    "record": "record messages (and with --frames every frame) into an SQLite recording",
    "search": "search the messages of a recording or capture",
    "stats": "top talkers per topic and subtree, of a recording, a capture or a live broker",
    "replay": "publish the messages of a recording or capture to a broker, in order",
    "probe": "diagnose a connection layer by layer (DNS, TCP, TLS, HTTP, WebSocket, MQTT)",
    "broker": "run the embedded MQTT broker (WebSocket and TCP)",
    "profiles": "list, show, add, edit, remove, export and import connection profiles",
}
"""Each subcommand's one-line help, as its module registers it (a test keeps them equal):
``mqttws-explorer --help`` lists them without importing any subcommand module."""


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
    if command in COMMANDS:
        importlib.import_module(COMMANDS[command]).register(subparsers)
    elif command is not None and command.startswith("-") and command not in ("-h", "--help"):
        for name in SUBCOMMAND_MODULES:  # an option first: the full parser says what is wrong
            importlib.import_module(name).register(subparsers)
    else:
        # The overview (--help, nothing, an unknown word): the names and their one-line help.
        for name, summary in SUMMARIES.items():
            subparsers.add_parser(name, help=summary, add_help=False)
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

"""The command line shared by the two front ends (``mqttws-tui`` and the desktop window).

Both take the same start arguments: a broker URL or ``--profile NAME`` (neither: the
embedded broker with demo traffic) or a recording, pcap or pcapng file to show read-only,
``-t FILTER`` subscriptions, ``--no-demo``, and every connection flag of the headless
commands. Parsing and resolving them lives here once so
the two front ends cannot drift apart.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.cli.codecopts import registry_from_args
from explorer.cli.connopts import add_connection_arguments, options_from_args, profile_from_args
from explorer.client.options import ConnectionOptions, parse_url
from explorer.errors import ExplorerError
from explorer.profiles.format import Profile

if TYPE_CHECKING:
    from explorer.codecs.registry import CodecRegistry

__all__ = ["FrontendStart", "add_frontend_arguments", "is_file_argument", "resolve_frontend_start"]

_FILE_SUFFIXES = (".sqlite", ".db", ".recording", ".pcap", ".pcapng", ".cap")


@dataclass(frozen=True, slots=True)
class FrontendStart:
    """What a front end connects to at start.

    ``options`` is ``None`` for the embedded broker. ``subscriptions`` is ``None`` when
    neither ``-t`` nor the profile names any: the front end then uses its default.
    """

    options: ConnectionOptions | None
    subscriptions: tuple[tuple[str, int], ...] | None
    profile_name: str | None
    file: str | None = None
    codecs: CodecRegistry | None = None  # --codec / --proto / the profile's rules, when any


def add_frontend_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the URL, ``-t``, ``--no-demo`` and the connection flags to ``parser``."""
    parser.add_argument(
        "url",
        nargs="?",
        help="broker URL (ws://localhost:9001/mqtt, wss://host/mqtt), or a recording, pcap or pcapng "
        "file to show read-only",
    )
    parser.add_argument(
        "--subscribe",
        "-t",
        action="append",
        metavar="FILTER",
        help="topic filter to subscribe to after connecting (repeatable; default: the profile's, else '#')",
    )
    parser.add_argument("--no-demo", action="store_true", help="embedded broker without demo traffic")
    parser.add_argument(
        "--tls-demo",
        action="store_true",
        help="the embedded broker also listens on wss:// and mqtts:// (a local CA made once) and the "
        "explorer connects over wss://, trusting that CA",
    )
    add_connection_arguments(parser, codecs=True)


def is_file_argument(text: str) -> bool:
    """Whether the start argument names a file (a recording or a capture), not a URL.

    Raises:
        ExplorerError: it looks like a file name (no ``scheme://``) but there is no such file.
    """
    if "://" in text:
        return False
    path = Path(text)
    if path.is_file():
        return True
    if path.suffix.lower() in _FILE_SUFFIXES or os.sep in text:
        raise ExplorerError(f"{text}: no such file")
    return False


def resolve_frontend_start(args: argparse.Namespace) -> FrontendStart:
    """Turn parsed front-end arguments into what to connect to.

    Raises:
        ExplorerError: a bad URL, an unknown profile or a secret that cannot be read, as
            one sentence (before any window opens).
    """
    subscriptions: tuple[tuple[str, int], ...] | None = None
    if args.subscribe:
        subscriptions = tuple((topic, 0) for topic in args.subscribe)
    if args.url is None and args.profile is None:
        return FrontendStart(None, subscriptions, None, codecs=_codecs(args, None))
    if args.url is not None and is_file_argument(args.url):
        if args.profile is not None:
            raise ExplorerError("give a file or --profile, not both: a file is shown read-only")
        return FrontendStart(None, None, None, file=args.url, codecs=_codecs(args, None))
    options = options_from_args(args)
    parse_url(options.url)  # a bad URL is a sentence now, not a failed connect later
    profile = profile_from_args(args)
    if subscriptions is None and profile is not None and profile.subscriptions:
        subscriptions = tuple((s.topic_filter, int(s.qos)) for s in profile.subscriptions)
    return FrontendStart(options, subscriptions, args.profile, codecs=_codecs(args, profile))


def _codecs(args: argparse.Namespace, profile: Profile | None) -> CodecRegistry | None:
    """The codec registry the flags and the profile ask for; None for the defaults."""
    if not (getattr(args, "codec", None) or getattr(args, "proto", None) or (profile and profile.codecs)):
        return None
    return registry_from_args(args, profile)

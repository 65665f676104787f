"""Payload codec flags: ``--codec FILTER=NAME[:MESSAGE]`` and ``--proto FILE``, and the registry they make.

Rules given on the command line come first, then the profile's (``codecs = [...]`` in
its TOML table); the first rule whose filter matches a topic wins. ``.proto`` files
from ``--proto`` and from the profile's rules are compiled once, at start, so a file
that does not compile is a one-line error before connecting.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from explorer.codecs.rules import CODEC_NAMES, CodecRule, parse_codec_rule
from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.codecs.registry import CodecRegistry
    from explorer.profiles.format import Profile

__all__ = ["add_codec_arguments", "codec_rules_from_args", "registry_from_args"]


def add_codec_arguments(parser: argparse.ArgumentParser | Any, *, rules: bool = True) -> None:
    """``--codec FILTER=NAME[:MESSAGE]`` (with ``rules``) and ``--proto FILE``, both repeatable."""
    group = parser.add_argument_group("payload codecs") if hasattr(parser, "add_argument_group") else parser
    if rules:
        group.add_argument(
            "--codec",
            action="append",
            metavar="FILTER=NAME[:MESSAGE]",
            help=f"decode payloads on FILTER with codec NAME ({', '.join(CODEC_NAMES)}; "
            "protobuf:MESSAGE names the message type); repeatable, the first match wins",
        )
    group.add_argument(
        "--proto",
        action="append",
        metavar="FILE",
        help=".proto file whose message types Protobuf payloads use; repeatable",
    )


def codec_rules_from_args(args: argparse.Namespace) -> tuple[CodecRule, ...]:
    """The ``--codec`` rules, each carrying the ``--proto`` files given."""
    protos = tuple(getattr(args, "proto", None) or ())
    rules = []
    for text in getattr(args, "codec", None) or ():
        try:
            rule = parse_codec_rule(text)
        except ExplorerError as exc:
            raise ExplorerError(f"--codec {exc}") from None
        if rule.message:
            rule = CodecRule(rule.topic_filter, rule.codec, rule.message, protos)
        rules.append(rule)
    return tuple(rules)


def registry_from_args(
    args: argparse.Namespace, profile: Profile | None = None, *, rules: bool = True
) -> CodecRegistry:
    """A codec registry with the command line's rules, then the profile's, and their schemas.

    ``rules=False`` where ``--codec`` means something else (``pub --codec NAME``).

    Raises:
        ExplorerError: a bad rule, a .proto file that is missing or does not compile, or a
            message type that no loaded file defines (one line each).
    """
    chosen = list(codec_rules_from_args(args)) if rules else []
    if profile is not None:
        chosen.extend(profile.codecs)
    files = list(getattr(args, "proto", None) or ())
    for rule in chosen:
        files.extend(file for file in rule.proto_files if file not in files)
    from explorer.codecs.base import CodecError
    from explorer.codecs.protoc import load_schemas
    from explorer.codecs.registry import CodecRegistry

    try:
        schemas = load_schemas(files)
        return CodecRegistry(chosen, schemas)
    except CodecError as exc:
        raise ExplorerError(str(exc)) from None

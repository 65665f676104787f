"""``mqttws-explorer pub URL -t TOPIC (-m TEXT | -f FILE | -n) [--qos N] [--retain] [--property NAME=VALUE]``.

Publishes one message and returns when its QoS flow is complete (PUBACK for QoS 1,
PUBCOMP for QoS 2), then disconnects cleanly. Connection flags are the shared ones of
:mod:`explorer.cli.connopts`. MQTT 5 properties are given as ``--property NAME=VALUE``
with the names below; ``--property user:KEY=VALUE`` adds a user property.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from explorer.cli.codecopts import add_codec_arguments, registry_from_args
from explorer.cli.connopts import add_connection_arguments, options_from_args
from explorer.cli.notices import connection_warnings
from explorer.client.options import ConnectionOptions
from explorer.errors import ConnectionFailed, ExplorerError, LocalProtocolError
from explorer.model.events import PacketEvent, TraceEvent
from explorer.mqtt.enums import ProtocolVersion
from explorer.mqtt.packets import NO_PROPERTIES, Connack, Properties
from explorer.mqtt.topics import validate_topic_name
from explorer.profiles.files import read_bounded
from explorer.workspace import Workspace

__all__ = [
    "PUBLISH_PROPERTIES",
    "UNANNOUNCED_LIMIT_WARNING",
    "parse_publish_properties",
    "read_payload",
    "register",
    "size_warning",
]

MAX_PAYLOAD = 268_435_455  # the largest Remaining Length [MQTT-2.2.3]; a payload is less
UNANNOUNCED_LIMIT_WARNING = 256 * 1024
"""Warn above this payload size when the broker announced no Maximum Packet Size: a common
limit of managed brokers and cloud services (Azure IoT Hub and Event Grid among them)."""

# name -> (Properties field, kind); MQTT 5.0 §3.3.2.3
PUBLISH_PROPERTIES: dict[str, tuple[str, str]] = {
    "payload-format": ("payload_format_indicator", "byte"),
    "message-expiry": ("message_expiry_interval", "u32"),
    "topic-alias": ("topic_alias", "u16"),
    "response-topic": ("response_topic", "str"),
    "correlation-data": ("correlation_data", "bytes"),
    "content-type": ("content_type", "str"),
}
_ALIASES = {
    "payload-format-indicator": "payload-format",
    "message-expiry-interval": "message-expiry",
}
_LIMITS = {"byte": 1, "u16": 0xFFFF, "u32": 0xFFFFFFFF}


def _property_value(name: str, kind: str, text: str) -> Any:
    if kind == "str":
        return text
    if kind == "bytes":
        if text.startswith("hex:"):
            try:
                return bytes.fromhex(text[4:])
            except ValueError:
                raise ExplorerError(f"--property {name}: {text[4:]!r} is not hex") from None
        return text.encode("utf-8")
    try:
        value = int(text, 0)
    except ValueError:
        raise ExplorerError(f"--property {name}: {text!r} is not a number") from None
    if not 0 <= value <= _LIMITS[kind]:
        raise ExplorerError(f"--property {name}: {value} is out of range 0..{_LIMITS[kind]}")
    return value


def parse_publish_properties(items: Sequence[str]) -> Properties:
    """``NAME=VALUE`` strings to MQTT 5 PUBLISH properties.

    Raises:
        ExplorerError: an unknown name or a bad value, naming the flag.
    """
    if not items:
        return NO_PROPERTIES
    values: dict[str, Any] = {}
    user: list[tuple[str, str]] = []
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise ExplorerError(f"--property {item!r}: use NAME=VALUE")
        if name.startswith("user:"):
            user.append((name[5:], text))
            continue
        key = name.strip().lower().replace("_", "-")
        key = _ALIASES.get(key, key)
        if key not in PUBLISH_PROPERTIES:
            known = ", ".join([*PUBLISH_PROPERTIES, "user:KEY"])
            raise ExplorerError(f"unknown --property {name!r}: use one of {known}")
        field_name, kind = PUBLISH_PROPERTIES[key]
        values[field_name] = _property_value(key, kind, text)
    return Properties(user_properties=tuple(user), **values)


def read_payload(args: argparse.Namespace) -> bytes:
    """The payload from ``-m``, ``-f FILE``, ``-f -`` (stdin) or ``-n``."""
    if args.message is not None:
        text: str = args.message
        return text.encode("utf-8")
    if args.file is not None:
        if args.file == "-":
            data = read_bounded(sys.stdin.buffer, MAX_PAYLOAD + 1)
        else:
            try:
                with open(args.file, "rb") as handle:
                    data = read_bounded(handle, MAX_PAYLOAD + 1)
            except OSError as exc:
                raise ExplorerError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        if len(data) > MAX_PAYLOAD:
            where = "standard input" if args.file == "-" else args.file
            raise ExplorerError(
                f"{where} holds more than {MAX_PAYLOAD:,} bytes, more than one MQTT message can carry"
            )
        return data
    return b""


def _encode(args: argparse.Namespace, payload: bytes) -> tuple[bytes, str | None]:
    """The input encoded with ``--codec``, and the MQTT 5 content type that says so."""
    from explorer.codecs.base import CodecError
    from explorer.codecs.registry import content_type_for

    spec, _, message = str(args.codec).partition(":")
    spec = spec.strip().lower()
    registry = registry_from_args(args, rules=False)
    try:
        if message:
            message = registry.schemas.resolve(message.strip())
        encoded = registry.encode(spec, payload, message or None)
    except CodecError as exc:
        raise ExplorerError(f"--codec {args.codec}: {exc}") from None
    except UnicodeDecodeError:
        raise ExplorerError(f"--codec {args.codec}: the input is not UTF-8 text") from None
    return encoded, content_type_for(spec, message or None)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pub",
        help="publish one message",
        description="Publish one message and wait until its QoS flow completes.",
        epilog="MQTT 5 properties: " + ", ".join(PUBLISH_PROPERTIES) + ", user:KEY (correlation-data takes "
        "text or hex:BYTES).",
    )
    parser.add_argument("url", nargs="?", help="broker URL, e.g. ws://localhost:8080/mqtt")
    parser.add_argument("-t", "--topic", required=True, help="topic name to publish to")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-m", "--message", help="payload text (UTF-8)")
    source.add_argument("-f", "--file", metavar="FILE", help="payload from a file; '-' reads stdin")
    source.add_argument(
        "-n",
        "--null-message",
        action="store_true",
        help="empty payload (with --retain: clear a retained message)",
    )
    parser.add_argument("-q", "--qos", type=int, choices=(0, 1, 2), default=0, help="QoS (default 0)")
    parser.add_argument("-r", "--retain", action="store_true", help="ask the broker to retain the message")
    parser.add_argument(
        "--property",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="MQTT 5 PUBLISH property; repeatable",
    )
    parser.add_argument(
        "--codec",
        metavar="NAME[:MESSAGE]",
        help="encode the -m/-f input: json, msgpack, cbor or protobuf:MESSAGE from JSON text; hex or "
        "base64 text; sparkplug from JSON; text; raw (the bytes as given); gzip+NAME, zlib+NAME or "
        "zstd+NAME compress the result. With MQTT 5 the content type is set to match",
    )
    add_codec_arguments(parser, rules=False)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        validate_topic_name(args.topic)
    except LocalProtocolError as exc:
        raise ExplorerError(f"invalid topic {args.topic!r}: {exc}") from None
    properties = parse_publish_properties(args.property)
    stdin_secrets = [
        flag
        for flag, given in (
            ("--password-stdin", args.password_stdin),
            ("--http-password-stdin", args.http_password_stdin),
            ("--key-password-stdin", args.key_password_stdin),
        )
        if given
    ]
    if args.file == "-" and stdin_secrets:
        raise ExplorerError(
            f"-f - and {stdin_secrets[0]} both read standard input: "
            "give the password with --password-env VAR or the payload with -f FILE"
        )
    payload = read_payload(args)
    content_type = None
    if args.codec:
        payload, content_type = _encode(args, payload)
    options = options_from_args(args)
    if properties and options.mqtt_version != ProtocolVersion.V5:
        raise ExplorerError("--property needs MQTT 5: add --mqtt-version 5")
    if content_type and properties.content_type is None and options.mqtt_version == ProtocolVersion.V5:
        properties = replace(properties, content_type=content_type)  # MQTT 5.0 §3.3.2.3.9
    return asyncio.run(_publish(options, args, payload, properties))


def _server_maximum_packet_size(events: Iterable[TraceEvent]) -> int | None:
    """The Maximum Packet Size of the broker's CONNACK (MQTT 5 only), None when it set none."""
    for event in events:
        if isinstance(event, PacketEvent) and isinstance(event.packet, Connack):
            return event.packet.properties.maximum_packet_size
    return None


def size_warning(payload_size: int, server_maximum: int | None) -> str | None:
    """A warning for a large message to a broker that did not say how large it accepts."""
    if server_maximum is not None or payload_size <= UNANNOUNCED_LIMIT_WARNING:
        return None
    return (
        f"mqttws-explorer: warning: the message is {payload_size:,} bytes and the broker did not say the "
        "largest packet it accepts (MQTT 3.1.1 cannot; an MQTT 5 broker may leave it out); many brokers "
        f"and cloud services drop packets above {UNANNOUNCED_LIMIT_WARNING // 1024} KiB or close the "
        "connection: publish with -q 1 to know that it arrived"
    )


async def _publish(
    options: ConnectionOptions, args: argparse.Namespace, payload: bytes, properties: Properties
) -> int:
    async with Workspace(trace_limit=1_000, history_count=1) as workspace:
        await workspace.connect(options)
        events = list(workspace.trace.since(-1))
        for warning in connection_warnings(events):
            print(warning, file=sys.stderr)
        too_large = size_warning(len(payload), _server_maximum_packet_size(events))
        if too_large is not None:
            print(too_large, file=sys.stderr)
        await workspace.publish(args.topic, payload, qos=args.qos, retain=args.retain, properties=properties)
        if args.qos == 0:
            await _confirm_read(workspace, options)
        await workspace.disconnect()
    return 0


async def _confirm_read(workspace: Workspace, options: ConnectionOptions) -> None:
    """A QoS 0 message gets no answer: a PINGREQ after it does, once the broker has read it.

    A broker that drops the connection instead (a packet above its limit, a topic its ACL
    refuses under MQTT 3.1.1) did not take the message; that is an error, not exit 0.

    Raises:
        ConnectionFailed: the connection ended before the PINGRESP.
    """
    try:
        await asyncio.wait_for(workspace.ping(), timeout=options.handshake_timeout)
    except TimeoutError:
        print(
            f"mqttws-explorer: warning: no PINGRESP within {options.handshake_timeout:g} s after the QoS 0 "
            "message: whether the broker took it is unknown",
            file=sys.stderr,
        )
    except ConnectionFailed as exc:
        raise ConnectionFailed(
            f"the broker ended the connection after the QoS 0 message, so it was not delivered: {exc}"
        ) from None

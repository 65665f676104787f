"""What ``decode --json`` writes: JSON lines, a connection object and then its events.

:class:`JsonOutput` is the JSON form of :class:`explorer.cli.decodeout.Output` (which
spools, narrows and writes connections in order). A frame carries the packets it
completes, each with its whole bytes (``packet_hex``); a PUBLISH carries its payload's
``codec`` and ``decoded`` value (or ``decode_error``), from :func:`codec_fields`. A
compact record (:data:`explorer.decoder.fastpath.FastPublish`) is written from a
template of its shape, without making its events.
"""

from __future__ import annotations

import argparse
from binascii import b2a_base64
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from explorer.capture.pipeline import Stream
from explorer.capture.reader import CaptureFile
from explorer.capture.tcp import TcpConnection
from explorer.cli.codecopts import registry_from_args
from explorer.cli.decodeout import _COMPACT_ONLY, _MAX_TOPICS, _TLS, Narrowing, Output, _Conn
from explorer.cli.jsontext import dumps
from explorer.decoder.fastpath import FastPublish, expand_fast
from explorer.model.events import FrameEvent, PacketEvent, TraceEvent
from explorer.model.trace import event_to_json, packet_to_json
from explorer.mqtt.packets import Publish

__all__ = ["JsonOutput", "PublishFields", "codec_fields"]


PublishFields = Callable[[PacketEvent], dict[str, Any]]
"""Extra JSON fields for a PUBLISH packet event (``decode --json`` sets one for payload codecs)."""


class JsonOutput(Output):
    """JSON lines: a connection object, then its events; a frame carries its packets.

    ``publish_fields``, when set, adds fields to each PUBLISH packet's object.
    """

    publish_fields: PublishFields | None = None
    # The same for a compact record, as JSON members (None: the raw view of its payload).
    publish_members: Callable[[FastPublish], str | None] | None = None
    binary = True  # lines are spooled as UTF-8 bytes, encoded as the output stream would

    def __init__(self, out: TextIO, capture: CaptureFile, narrowing: Narrowing) -> None:
        super().__init__(out, capture, narrowing)
        self._templates: dict[tuple[Any, ...], tuple[str, ...]] = {}  # see _line
        self._errors = self.out.errors
        # A batch of n compact records is spooled as a list of the n records and then their
        # n codec fields, a fifth of their lines, and written out as lines at the end (Spool).
        self.spool.expand = self._expand

    def format(self, conn: _Conn, events: list[TraceEvent | FastPublish]) -> None:
        write = conn.body.lines.append
        if not conn.held and {*map(type, events)} == _COMPACT_ONLY:
            write([*events, *map(self.publish_members or self._extra, events)])  # type: ignore[arg-type]
            return
        if conn.held:
            events = [*conn.held, *events]
            conn.held = []
        lines: list[str] = []
        packets = {(e.direction, e.packet_no): e for e in events if type(e) is PacketEvent}
        for position, event in enumerate(events):
            if isinstance(event, tuple):
                lines.append(self._fast(event))
                continue
            kind = type(event)
            if kind is PacketEvent and event.frames:  # type: ignore[union-attr]
                continue  # reported inside the frame that completed it
            if kind is FrameEvent:
                assert isinstance(event, FrameEvent)
                direction = event.direction
                if any((direction, no) not in packets for no in event.completed) and not conn.done:
                    conn.held = events[position:]  # its packets come with the next batch
                    break
                obj = event_to_json(event, frame_payload=event.payload)
                obj["packets"] = [
                    _packet_json(packets[(direction, no)], self.publish_fields)
                    for no in event.completed
                    if (direction, no) in packets
                ]
            else:
                obj = event_to_json(event)
                if kind is PacketEvent:
                    obj["packet_hex"] = event.raw.hex()  # type: ignore[union-attr]
                    if self.publish_fields is not None:
                        obj.update(self.publish_fields(event))  # type: ignore[arg-type]
            lines.append(dumps(obj) + "\n")
        if lines:
            write("".join(lines).encode("utf-8", self._errors))

    def _expand(self, batch: list[Any]) -> Iterator[bytes]:
        """The JSON lines of a spooled batch of compact records (see ``__init__``), 1,024
        at a time (a batch may hold many thousands)."""
        half = len(batch) // 2
        for start in range(0, half, 1024):
            stop = min(start + 1024, half)
            lines = map(self._line, batch[start:stop], batch[half + start : half + stop])
            yield "".join(lines).encode("utf-8", self._errors)

    def _fast(self, item: FastPublish) -> str:
        return self._line(item, self._extra(item))

    def _line(self, item: FastPublish, members: str | None) -> str:
        """The JSON line of a compact record: the same object as for its two events,
        written from a template (a listing of a capture writes millions of them); what
        repeats from record to record (connection, topic, sizes) is in the template.
        ``members``: its codec fields, as JSON members (None: the raw view of its payload)."""
        time, conn, direction, index, offset, header, key, payload, no, fed, topic, body, retain, seq = item
        size = len(payload)
        shape = (conn, direction, topic, payload[0], size, len(body), len(header), key is None)
        template = self._templates.get(shape)
        if template is None:
            if len(self._templates) >= _MAX_TOPICS:
                self._templates.clear()
            template = self._templates[shape] = _fast_template(shape, retain)
        t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15 = template
        hexed = payload.hex()
        mask = f'"{key.hex()}"' if key else "null"
        if members is None:  # as orjson writes it
            text = b2a_base64(body, newline=False).decode()
            members = f',"codec":"raw","decoded":{{"bytes":{len(body)},"base64":"{text}"}}'
        number, frame = str(no), str(index)  # each written more than once
        inner = hexed[2 * (size - len(body)) :]
        return (
            f"{t0}{seq}{t1}{time!r}{t2}{frame}{t3}{offset}{t4}{mask}{t5}{header.hex()}{t6}{hexed}{t7}{number}"
            f"{t8}{number}{t9}{inner}{t10}{number}{t11}{frame}{t12}{fed}{t13}{hexed}{t14}{members}{t15}"
        )

    def _extra(self, item: FastPublish) -> str | None:
        """The ``publish_fields`` of a compact record, as JSON members (or nothing)."""
        if self.publish_members is not None:
            return self.publish_members(item)
        if self.publish_fields is None:
            return ""
        fields = self.publish_fields(expand_fast(item)[1])
        return "," + dumps(fields)[1:-1] if fields else ""

    def end(self, conn: _Conn, stream: Stream, tcp: TcpConnection) -> None:
        if conn.held:
            conn.done = True
            self.format(conn, [])
            conn.done = False

    def header(self, conn: _Conn, index: int, kind: str, tcp: TcpConnection, stream: Stream) -> str:
        info: dict[str, Any] = {
            "kind": "connection",
            "conn": index,
            "client": str(tcp.client),
            "server": str(tcp.server),
            "protocol": kind,
            "start": tcp.first_time,
        }
        if conn.request is not None:
            info["request_uri"] = conn.request.target
            offered = [v for k, v in conn.request.headers if k.lower() == "sec-websocket-protocol"]
            info["subprotocol_offered"] = ", ".join(offered) if offered else None
        if conn.response is not None:
            info["status"] = conn.response.status
            info["reason"] = conn.response.reason
            info["subprotocol_negotiated"] = conn.response.subprotocol
        if kind == "tls":
            info["note"] = _TLS
        info["problems"] = list(tcp.problems)
        return dumps(info) + "\n"

    def preamble(self, connections: int) -> None:
        for problem in self.capture.state.problems:
            self.out.write(
                dumps({"kind": "error", "layer": "capture", "conn": None, "message": problem}) + "\n"
            )


def _fast_template(shape: tuple[Any, ...], retain: bool) -> tuple[str, ...]:
    """The JSON line of compact records of one shape (see ``JsonOutput._line``): the 16
    pieces of text around the 15 values that differ between them (at the NUL characters)."""
    conn, direction, topic, first, size, body_size, header_size, unmasked = shape
    name = dumps(topic)[1:-1]  # JSON escapes a NUL in a topic: the pieces are split at ours only
    pieces = tuple(
        (
            f'{{"kind":"frame","seq":\x00,"time":\x00,"conn":{conn},"dir":"{direction}","index":\x00,'
            f'"stream_offset":\x00,"opcode":2,"fin":true,"rsv":0,"masked":{"false" if unmasked else "true"},'
            f'"mask_key":\x00,"payload_length":{size},"length_encoding":"7bit","header_length":{header_size},'
            f'"header_hex":"\x00","payload_hex":"\x00","parts":[{{"packet_no":\x00,"role":"whole",'
            f'"frame_start":0,"frame_end":{size},"packet_start":0,"packet_end":{size}}}],"completed":[\x00],'
            f'"packets":[{{"type":"PUBLISH","summary":"PUBLISH QoS0 {name} {body_size} B'
            f'{" retain" if retain else ""}","flags":{first & 0x0F},"length":{size},"topic":"{name}",'
            f'"payload_length":{body_size},"payload_hex":"\x00","qos":0,'
            f'"retain":{"true" if retain else "false"},"dup":false,"packet_id":null,"properties":{{}},'
            f'"packet_no":\x00,"frames":[\x00],'
            f'"stream_offset":\x00,"packet_hex":"\x00"\x00}}]}}\n'
        ).split("\x00")
    )
    assert len(pieces) == 16
    return pieces


def _packet_json(event: PacketEvent, publish_fields: PublishFields | None = None) -> dict[str, Any]:
    obj = packet_to_json(event.packet, event.raw)
    obj["packet_no"] = event.packet_no
    obj["frames"] = list(event.frames)
    obj["stream_offset"] = event.stream_offset
    obj["packet_hex"] = event.raw.hex()  # the whole packet, whatever frames carried it
    if publish_fields is not None:
        obj.update(publish_fields(event))
    return obj


def codec_fields(
    args: argparse.Namespace,
) -> tuple[Callable[[PacketEvent], dict[str, Any]], Callable[[FastPublish], str | None]]:
    """``codec`` and ``decoded`` (or ``decode_error``) of each PUBLISH payload, for ``--json``:
    as fields of a packet event, and as JSON members (``,"codec":...``) of a compact record,
    None for the raw view of its payload (the line writes it).

    Sparkplug B state is kept per connection and direction, in capture order.
    """
    from explorer.codecs.base import DecodeContext
    from explorer.codecs.stream import SPARKPLUG_PREFIX, MessageDecoder

    registry = registry_from_args(args)
    choose = registry.choose

    decoders: dict[tuple[int, str], MessageDecoder] = {}
    plain: dict[str, DecodeContext | None] = {}  # topic -> detection alone decides, in this context
    unseen = DecodeContext("")

    def fields(event: PacketEvent) -> dict[str, Any]:
        packet = event.packet
        if type(packet) is not Publish:
            return {}
        key = (event.conn, event.direction)
        decoder = decoders.get(key)
        if decoder is None:
            decoder = decoders[key] = MessageDecoder(registry)
        decoded = decoder.message(packet.topic, packet.payload, packet.properties.content_type, event.time)
        out = decoded.decoded.to_json()
        if decoded.sparkplug is not None:
            out["sparkplug"] = decoded.sparkplug.to_json()
        return out

    def members(item: FastPublish) -> str | None:
        # A compact record is a PUBLISH without properties (no content type): unless a
        # rule or Sparkplug B applies to its topic, detection alone picks the codec.
        topic = item[10]
        context = plain.get(topic, unseen)
        if context is unseen:
            rule = registry.rule_for(topic)
            simple = not topic.startswith(SPARKPLUG_PREFIX) and (rule is None or rule.codec == "auto")
            if len(plain) >= 10_000:
                plain.clear()
            context = plain[topic] = DecodeContext(topic) if simple else None
        if context is None:
            return "," + dumps(fields(expand_fast(item)[1]))[1:-1]
        payload = item[11]
        name, data, decoded = choose(payload, context)
        if decoded is None:  # the raw view, the common case of binary payloads, as orjson writes it
            if data is payload:
                return None  # of the payload itself: written with the line
            text = b2a_base64(data, newline=False).decode()
            return f',"codec":"{name}","decoded":{{"bytes":{len(data)},"base64":"{text}"}}'
        return "," + dumps({"codec": name, "decoded": decoded.value})[1:-1]

    return fields, members

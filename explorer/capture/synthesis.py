"""A live session's trace written as pcapng, so Wireshark and tshark can open it.

Each connection of the trace becomes one synthesized TCP connection (see
:mod:`explorer.capture.writer`) from the loopback address (``127.0.0.1``, or ``::1``
for an IPv6 server) and a random high port to the server address the caller gives,
over IPv4 or IPv6 as that address is. The bytes are the ones the events recorded, put
back as they were on the wire: the HTTP upgrade request and response, then every
WebSocket frame with its header and its payload masked again with the frame's own
mask key (RFC 6455 §5.3). For a wss session these are the decrypted bytes. A
native MQTT connection (no handshake, no frames) is written as its packets' bytes.

Secrets stay out: HTTP credentials are blanked and CONNECT password bytes are
replaced by ``*`` wherever they appear (packet bytes and frame payloads).

Messages compressed with permessage-deflate (RFC 7692) are written decompressed, RSV1
cleared, because the trace keeps only their inflated bytes; the rest of each frame
(FIN, opcode, mask key) is kept.
"""

from __future__ import annotations

import ipaddress
import random
import time as _time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from explorer.capture.writer import PcapngWriter, TcpConversationWriter
from explorer.errors import ExplorerError
from explorer.masking import mask_credentials
from explorer.model.events import (
    FrameEvent,
    HandshakeRequest,
    HandshakeResponse,
    PacketEvent,
    TraceEvent,
)
from explorer.model.trace import masked_frame_payloads
from explorer.ws.framing import OP_BINARY, OP_CONTINUATION, OP_TEXT, build_frame
from explorer.ws.mask import apply_mask

__all__ = ["export_pcapng"]

_DATA_OPCODES = frozenset({OP_TEXT, OP_BINARY})
_OP_CONTINUATION = OP_CONTINUATION
_EPOCH_2001 = 978_307_200.0  # anything earlier is a monotonic clock, not wall time


def _endpoints(address: str) -> tuple[str, str]:
    """The client and server addresses written for a server at ``address``: IPv4 or
    IPv6 as the server's, from the loopback of that family; a host name (no address
    known) becomes ``127.0.0.2``."""
    try:
        server = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return "127.0.0.1", "127.0.0.2"
    return ("::1" if server.version == 6 else "127.0.0.1"), str(server)


def export_pcapng(
    events: Iterable[TraceEvent],
    path: str | Path | BinaryIO,
    server: tuple[str, int] = ("127.0.0.1", 1883),
    *,
    servers: Mapping[int, tuple[str, int]] | None = None,
    seed: int | None = None,
    epoch_offset: float | None = None,
) -> int:
    """Write ``events`` as a pcapng file; return the number of connections written.

    Args:
        server: the server address and port every connection is shown going to
            (an address that is not IPv4 is shown as ``127.0.0.2``).
        servers: per-connection overrides of ``server``, keyed by ``conn``.
        seed: makes the client ports reproducible.
        epoch_offset: added to event times. By default, times that are not wall-clock
            (a monotonic clock) are shifted so the trace appears at the current time.

    Raises:
        ExplorerError: the file cannot be written.
    """
    events = list(events)
    masked = masked_frame_payloads(events)
    if epoch_offset is None:
        first = min((e.time for e in events), default=0.0)
        epoch_offset = 0.0 if first >= _EPOCH_2001 else _time.time() - _time.monotonic()
    by_conn: dict[int, list[TraceEvent]] = {}
    for event in events:
        by_conn.setdefault(event.conn, []).append(event)
    rng = random.Random(seed)
    ports = rng.sample(range(49152, 65536), len(by_conn)) if by_conn else []
    if isinstance(path, str | Path):
        try:
            with open(path, "wb") as out:
                _write(
                    out,
                    by_conn=by_conn,
                    ports=ports,
                    server=server,
                    servers=servers or {},
                    masked=masked,
                    offset=epoch_offset,
                )
        except OSError as exc:
            raise ExplorerError(f"cannot write {path}: {exc.strerror or exc}") from None
    else:
        _write(
            path,
            by_conn=by_conn,
            ports=ports,
            server=server,
            servers=servers or {},
            masked=masked,
            offset=epoch_offset,
        )
    return len(by_conn)


def _frame_bytes(event: FrameEvent, payload: bytes, inflated: bool) -> bytes:
    """The frame as it goes into the file.

    An uncompressed frame is its own header plus its payload masked again with its key
    (RFC 6455 §5.3): the bytes that were on the wire. A frame of a permessage-deflate
    message holds inflated bytes (the compressed ones are not kept), so it is written
    uncompressed: same FIN, opcode and mask key, RSV1 cleared (RFC 7692 §6), the length
    of the inflated bytes.
    """
    if inflated:
        rsv = (event.rsv2 << 1) | int(event.rsv3)
        return build_frame(event.opcode, payload, fin=event.fin, mask_key=event.mask_key, rsv=rsv)
    if event.masked and event.mask_key is not None:
        payload = apply_mask(payload, event.mask_key)
    return event.header + payload


def _write(
    out: BinaryIO,
    *,
    by_conn: dict[int, list[TraceEvent]],
    ports: list[int],
    server: tuple[str, int],
    servers: Mapping[int, tuple[str, int]],
    masked: Mapping[tuple[int, str, int], bytes],
    offset: float,
) -> None:
    writer = PcapngWriter(out)
    for (conn, conn_events), port in zip(sorted(by_conn.items()), ports, strict=True):
        address, server_port = servers.get(conn, server)
        client_address, server_address = _endpoints(address)
        tcp = TcpConversationWriter(writer, (client_address, port), (server_address, server_port))
        websocket = any(isinstance(e, HandshakeRequest | HandshakeResponse | FrameEvent) for e in conn_events)
        last = max(e.time for e in conn_events) + offset
        compressed = {"c2s": False, "s2c": False}  # inside a permessage-deflate message
        for event in conn_events:
            when = event.time + offset
            if isinstance(event, HandshakeRequest):
                tcp.send(when, 0, mask_credentials(event.raw))
            elif isinstance(event, HandshakeResponse):
                tcp.send(when, 1, event.raw)
            elif isinstance(event, FrameEvent):
                payload = masked.get((event.conn, event.direction, event.index), event.payload)
                if event.opcode in _DATA_OPCODES:
                    compressed[event.direction] = event.rsv1 and not event.fin
                    inflated = event.rsv1
                else:
                    inflated = event.opcode == _OP_CONTINUATION and compressed[event.direction]
                    if event.opcode == _OP_CONTINUATION and event.fin:
                        compressed[event.direction] = False
                tcp.send(when, 0 if event.direction == "c2s" else 1, _frame_bytes(event, payload, inflated))
            elif isinstance(event, PacketEvent) and not websocket:
                tcp.send(when, 0 if event.direction == "c2s" else 1, event.raw)
        tcp.close(last + 1e-6)

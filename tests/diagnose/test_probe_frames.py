"""The probe reads a server's frames as the live client does, over a real socket.

A scripted server (``tests/ws/conformance/scripted.py``) answers the upgrade, waits for
the probe's CONNECT and sends the test's frames; it reads the probe's frames with the
broker's strict reader and records them. The table of broken frames every reader answers
(``tests/ws/conformance/cases.py``) runs here as a server sends it: the probe names the
rule broken, in the rules table's words, and closes with the code the table gives,
after a pong for every ping before the broken frame. Against a compressing websockets
server, a walk that got through ends with the close handshake.
"""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.server import ServerConnection

from explorer.diagnose import ProbeChecks
from explorer.diagnose.model import Diagnosis
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack
from explorer.ws.rules import Violation
from tests.diagnose.servers import mini_broker_handler, run_probe, ws_server
from tests.ws.conformance.cases import SERVER_CASES, Case
from tests.ws.conformance.scripted import ClientLog, ScriptedServer, scripted_server, server_frame
from tests.ws.conformance.wire import close_body

CONNACK = encode(Connack())
TIMEOUT = 10.0


async def _probe(script: list[bytes], **changes: object) -> tuple[Diagnosis, ClientLog]:
    async with scripted_server(script) as server:
        diagnosis = await run_probe(server.url, **changes)
        log = await _client_log(server)
    return diagnosis, log


async def _client_log(server: ScriptedServer) -> ClientLog:
    async with asyncio.timeout(TIMEOUT):
        await server.clients[0].done.wait()
    return server.clients[0]


def _sent(log: ClientLog) -> list[int]:
    """The opcodes of the probe's frames (the server's strict reader found no fault in them)."""
    assert log.violation is None
    return [opcode for opcode, _fin, _payload in log.frames]


# The probe's limit is the client's, the largest MQTT packet: a frame of 100 MiB is read.
TABLE = [case for case in SERVER_CASES if case.name != "above-the-limit"]


@pytest.mark.parametrize("case", TABLE, ids=[case.name for case in TABLE])
async def test_the_table_of_broken_frames_is_named_by_its_rule_and_answered_with_its_code(case: Case) -> None:
    diagnosis, log = await _probe([case.build(mask=False)])
    stripped = case.violation is Violation.RESERVED_BITS
    cause = "ws-compressed-without-negotiation" if stripped else "ws-protocol-violation"
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", cause)
    error = diagnosis.observed["ws_error"]
    assert case.violation.template.split("{")[0] in error  # the rule, in the table's words
    assert "RFC 6455 §" in error
    if not stripped:
        assert error in diagnosis.explanation
    pings = [payload for opcode, payload, *_ in case.frames[:-1] if opcode == 0x9]
    assert log.payloads(0xA) == pings  # a pong for each ping before the broken frame
    assert _sent(log) == [0x2, *[0xA] * len(pings), 0x8]  # CONNECT, pongs, our close
    assert log.close_code == int(case.violation.code)


async def test_a_frame_above_any_mqtt_packet_is_refused_from_its_header_with_1009() -> None:
    header = bytes((0x82, 0x7F)) + (1 << 40).to_bytes(8, "big")
    diagnosis, log = await _probe([header])
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-protocol-violation")
    assert "frame payload of 1099511627776 bytes exceeds the limit" in diagnosis.observed["ws_error"]
    assert "RFC 6455 §7.4.1" in diagnosis.observed["ws_error"]
    assert log.close_code == 1009


async def test_a_fragmented_connack_with_pings_between_is_read_and_every_ping_answered() -> None:
    fragments = [
        server_frame(0x2 if index == 0 else 0x0, CONNACK[index : index + 1], fin=index == len(CONNACK) - 1)
        for index in range(len(CONNACK))
    ]
    pings = [f"ping {index}".encode() for index in range(len(fragments))]
    script = [fragment + server_frame(0x9, ping) for fragment, ping in zip(fragments, pings, strict=True)]
    # The scripted server never answers the PINGREQ of the liveness step that follows.
    diagnosis, log = await _probe(script, handshake_timeout=1.0)
    mqtt = next(step for step in diagnosis.steps if step.layer == "mqtt")
    assert mqtt.ok, diagnosis.explanation
    assert (diagnosis.layer, diagnosis.cause) == ("liveness", "liveness-no-pingresp")
    assert log.payloads(0xA) == pings
    assert log.violation is None


@pytest.mark.parametrize(
    ("body", "code", "reason", "echo"),
    [
        (close_body(4000, b"going away now"), "4000", "going away now", 4000),
        (b"", "1005", "(no reason given)", 1005),  # RFC 6455 §7.1.5: no status code present
    ],
    ids=["code-and-reason", "empty"],
)
async def test_the_servers_close_frame_is_reported_and_its_code_echoed(
    body: bytes, code: str, reason: str, echo: int
) -> None:
    diagnosis, log = await _probe([server_frame(0x8, body)])
    assert diagnosis.layer == "websocket"
    assert (diagnosis.observed["close_code"], diagnosis.observed["close_reason"]) == (code, reason)
    assert _sent(log) == [0x2, 0x8]
    assert log.close_code == echo  # an empty close frame is answered with an empty one


async def test_a_text_frame_is_named_and_answered_with_1003() -> None:
    diagnosis, log = await _probe([server_frame(0x1, CONNACK)])
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-text-frames")
    assert diagnosis.observed["frame_payload_hex"].startswith("20 ")
    assert _sent(log) == [0x2, 0x8]
    assert log.close_code == 1003


async def test_a_walk_that_got_through_ends_with_the_close_handshake() -> None:
    # websockets compresses its answers when offered permessage-deflate: the probe inflates
    # them, sends its own frames uncompressed, and closes with 1000 once the walk is done.
    ended: list[tuple[int | None, bool | None]] = []
    handler = mini_broker_handler(Connack())

    async def recording(ws: ServerConnection) -> None:
        await handler(ws)  # returns once the close handshake is complete
        ended.append((ws.close_code, ws.protocol.close_rcvd_then_sent))

    async with ws_server(recording, subprotocols=["mqtt"]) as port:
        checks = ProbeChecks(compression=True, publish_size=5_000)
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", checks=checks)
    assert diagnosis.ok, diagnosis.explanation
    assert diagnosis.observed["extensions_received"].startswith("permessage-deflate")
    assert ended == [(1000, True)]  # our close frame came first, the server answered it

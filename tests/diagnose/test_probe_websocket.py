"""WebSocket failures: the embedded broker's fault modes, websockets servers set up wrong,
and raw servers writing the exact bytes of a broken handshake or frame."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from explorer.broker.config import BrokerConfig
from explorer.broker.faults import parse_faults
from explorer.broker.server import Broker
from explorer.diagnose import Diagnosis
from explorer.mqtt.codec import encode
from explorer.mqtt.packets import Connack
from explorer.ws.handshake import accept_key, parse_request
from tests.diagnose.servers import mini_broker_handler, raw_server, run_probe, ws_server

CONNACK = encode(Connack())


async def _with_faults(*specs: str, url_path: str = "/mqtt", **changes: Any) -> Diagnosis:
    config = BrokerConfig.ephemeral(sys_interval=0, faults=parse_faults(list(specs)))
    async with Broker(config) as broker:
        return await run_probe(f"ws://127.0.0.1:{broker.ws_port}{url_path}", **changes)


def _upgrade_server(
    response_headers: Callable[[str], str], after: bytes = b""
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A raw server answering 101 with the given headers, then writing ``after`` once
    the client's first frame (its CONNECT) arrives."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = parse_request(head).header("Sec-WebSocket-Key") or ""
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + response_headers(key).encode()
            + b"\r\n"
        )
        await writer.drain()
        await reader.read(1)
        if after:
            writer.write(after)
            await writer.drain()
        await reader.read()

    return handler


async def test_wrong_sec_websocket_accept_is_named() -> None:
    def headers(key: str) -> str:
        return f"Sec-WebSocket-Accept: {accept_key(key + 'x')}\r\nSec-WebSocket-Protocol: mqtt\r\n"

    async with raw_server(_upgrade_server(headers)) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-invalid-accept")
    assert diagnosis.observed["accept_received"] != diagnosis.observed["accept_expected"]


async def test_broker_not_echoing_the_subprotocol_is_named() -> None:
    diagnosis = await _with_faults("no-subprotocol-echo")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-not-echoed")


async def test_websockets_server_without_subprotocols_does_not_echo() -> None:
    async with ws_server(mini_broker_handler(Connack())) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
        unoffered = await run_probe(f"ws://127.0.0.1:{port}/mqtt", subprotocols=())
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-not-echoed")
    assert unoffered.ok, unoffered.explanation


async def test_broker_echoing_an_unoffered_subprotocol_is_named() -> None:
    diagnosis = await _with_faults("echo-unoffered-subprotocol")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-unoffered-echo")


async def test_raw_server_echoing_an_unoffered_subprotocol_is_named() -> None:
    def headers(key: str) -> str:
        return f"Sec-WebSocket-Accept: {accept_key(key)}\r\nSec-WebSocket-Protocol: mqttv5\r\n"

    async with raw_server(_upgrade_server(headers)) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-unoffered-echo")
    assert diagnosis.observed["subprotocol_received"] == "mqttv5"


async def test_broker_accepting_only_mqttv31_is_named() -> None:
    diagnosis = await _with_faults("only-mqttv3.1")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-only-mqttv31")


async def test_websockets_server_accepting_only_mqttv31_is_named() -> None:
    async with ws_server(mini_broker_handler(Connack()), subprotocols=["mqttv3.1"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-only-mqttv31")


async def test_broker_requiring_a_subprotocol_is_named_when_none_is_offered() -> None:
    diagnosis = await _with_faults("require-subprotocol", subprotocols=())
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-required")


async def test_websockets_server_requiring_a_subprotocol_is_named() -> None:
    async with ws_server(mini_broker_handler(Connack()), subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt", subprotocols=())
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "subprotocol-required")
    assert diagnosis.observed["subprotocol_accepted"] == "mqtt"


async def test_compressed_frame_without_permessage_deflate_is_named() -> None:
    def headers(key: str) -> str:
        return f"Sec-WebSocket-Accept: {accept_key(key)}\r\nSec-WebSocket-Protocol: mqtt\r\n"

    # FIN + RSV1 + binary (0xC2): a deflated CONNACK, as a broker sends when a proxy stripped
    # Sec-WebSocket-Extensions from the response but the broker still compresses.
    frame = bytes([0xC2, 0x04]) + bytes.fromhex("2a 62 60 60")
    async with raw_server(_upgrade_server(headers, frame)) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-compressed-without-negotiation")
    assert diagnosis.observed["first_frame_hex"].startswith("c2 04")


async def test_broker_sending_text_frames_is_named() -> None:
    diagnosis = await _with_faults("text-frames")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-text-frames")


async def test_websockets_server_sending_mqtt_as_text_is_named() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send(CONNACK.decode("ascii"))  # a str goes out as a text frame
        await ws.wait_closed()

    async with ws_server(handler, subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-text-frames")


CLOSE_CAUSES = [
    (1002, "ws-closed-protocol-error"),
    (1003, "ws-closed-unsupported-data"),
    (1007, "ws-closed-invalid-payload"),
    (1008, "ws-closed-policy-violation"),
    (1009, "ws-closed-message-too-big"),
    (1011, "ws-closed-internal-error"),
    (4000, "ws-closed"),
]


@pytest.mark.parametrize(("code", "cause"), CLOSE_CAUSES)
async def test_broker_closing_right_after_the_handshake_is_named_by_code(code: int, cause: str) -> None:
    diagnosis = await _with_faults(f"close-after-handshake={code}")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", cause)
    assert diagnosis.observed["close_code"] == str(code)


@pytest.mark.parametrize(("code", "cause"), CLOSE_CAUSES)
async def test_websockets_server_closing_after_connect_is_named_by_code(code: int, cause: str) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.close(code, "upstream broker unreachable")

    async with ws_server(handler, subprotocols=["mqtt"]) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", cause)
    assert diagnosis.observed["close_reason"] == "upstream broker unreachable"


async def test_server_dropping_the_connection_after_the_upgrade_is_named() -> None:
    def headers(key: str) -> str:
        return f"Sec-WebSocket-Accept: {accept_key(key)}\r\nSec-WebSocket-Protocol: mqtt\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = parse_request(head).header("Sec-WebSocket-Key") or ""
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + headers(key).encode()
            + b"\r\n"
        )
        await writer.drain()
        await reader.read(1)  # the CONNECT frame arrives; hang up without a close frame

    async with raw_server(handler) as port:
        diagnosis = await run_probe(f"ws://127.0.0.1:{port}/mqtt")
    assert (diagnosis.layer, diagnosis.cause) == ("websocket", "ws-dropped")
